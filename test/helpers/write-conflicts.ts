/**
 * Spies on the mirror's compare-and-swap writes (fsutil.atomicWrite) for one test: the writes refused
 * because the file no longer held what was expected (WriteConflict), each as "path: expected …".
 */
import type { TestContext } from 'node:test';
import * as fsutil from '../../src/sync/fsutil';
import { WriteConflict } from '../../src/sync/fsutil';

/** The refused writes while `counting()` holds (always, by default); undone after `t`. */
export function recordWriteConflicts(t: TestContext, counting: () => boolean = () => true): string[] {
  const conflicts: string[] = [];
  const atomicWrite = fsutil.atomicWrite;
  (fsutil as { atomicWrite: typeof atomicWrite }).atomicWrite = async (...args) => {
    try {
      return await atomicWrite(...args);
    } catch (err) {
      if (counting() && err instanceof WriteConflict) conflicts.push(`${args[1]}: expected ${JSON.stringify(args[3]?.expect)}`);
      throw err;
    }
  };
  t.after(() => ((fsutil as { atomicWrite: typeof atomicWrite }).atomicWrite = atomicWrite));
  return conflicts;
}
