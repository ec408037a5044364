import { test } from 'node:test';
import assert from 'node:assert/strict';
import ignore from 'ignore';
import { BoundedIgnore } from '../../src/sync/bounded-ignore';

test('a bounded ignore matcher answers as ignore does, before and after it lets its remembered answers go', () => {
  const rules = ['*.log', 'build/', '!build/keep.txt', 'deep/**/x'];
  const bounded = new BoundedIgnore(rules);
  const plain = ignore().add(rules);
  // Well past the renewal (4,096 questions), twice over, with folders asked before their files.
  for (let i = 0; i < 12_000; i++) {
    for (const p of [`src/f${i}.ts`, `src/f${i}.log`, `build/`, `build/out${i}.js`, `deep/a${i % 7}/x`, `n${i}/`]) {
      assert.equal(bounded.ignores(p), plain.ignores(p), p);
    }
  }
});
