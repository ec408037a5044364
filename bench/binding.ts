/**
 * The buffer binding's own cost per keystroke, by file size: a keystroke typed here (into the shared
 * text) and one arriving from a peer (until the buffer has it), with an editor that applies edits at
 * once, so only the binding and Yjs are measured. The cost should not grow with the file.
 */
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { BufferBinding, type EditorBuffer } from '../src/sync/buffer-binding';
import { silentLogger } from '../src/session/log';
import type { TextEdit } from '../src/sync/textdiff';

export interface BindingCost {
  bytes: number;
  localMs: number;
  remoteMs: number;
}

/** An editor that applies edits at once and reports them back; it keeps no text (not measured). */
class InstantBuffer implements EditorBuffer {
  ver = 1;
  binding?: BufferBinding;
  constructor(private readonly initial: string) {}
  getText(): string {
    return this.initial;
  }
  version(): number {
    return this.ver;
  }
  async applyEdits(edits: TextEdit[], baseVersion: number): Promise<boolean> {
    if (baseVersion !== this.ver) return false;
    this.ver++;
    this.binding?.onBufferChange(edits, this.ver);
    return true;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function bindingKeystrokeCost(bytes: number, keystrokes = 400): Promise<BindingCost> {
  const line = 'the quick brown fox jumps over the lazy dog, again and again and again.\n';
  const text = line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
  const here = new Y.Doc();
  const peer = new Y.Doc();
  here.getText('content').insert(0, text);
  Y.applyUpdate(peer, Y.encodeStateAsUpdate(here));
  here.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && Y.applyUpdate(peer, u, 'net'));
  peer.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && Y.applyUpdate(here, u, 'net'));
  const buffer = new InstantBuffer(text);
  const binding = new BufferBinding(here.getText('content'), buffer, { logger: silentLogger });
  buffer.binding = binding;
  const local: number[] = [];
  const remote: number[] = [];
  let at = Math.floor(bytes / 2);
  for (let i = 0; i < keystrokes; i++) {
    buffer.ver++;
    let t = performance.now();
    binding.onBufferChange([{ offset: at++, deleteCount: 0, insert: 'a' }], buffer.ver);
    local.push(performance.now() - t);
    t = performance.now();
    peer.getText('content').insert(Math.floor(bytes / 3) + i, 'b');
    await binding.whenSettled();
    remote.push(performance.now() - t);
    at++;
  }
  binding.dispose();
  return { bytes, localMs: median(local), remoteMs: median(remote) };
}
