/**
 * How a change is told to the workspace's listeners: who made it (a Yjs transaction's origin as a
 * ChangeOrigin), and for the file view (§6.4), in an order a disk can follow — files leave, then
 * move, then arrive, then change — so that a mirror writing them one by one never meets a path still
 * taken by the file that is leaving it.
 */
import * as Y from 'yjs';
import type { ChangeOrigin, WorkspaceEvents } from './api';
import type { ViewChange } from './file-view';

export type Emit = <K extends keyof WorkspaceEvents & string>(event: K, ...args: WorkspaceEvents[K]) => boolean;

export function announceChanges(changes: readonly ViewChange[], origin: ChangeOrigin, emit: Emit): void {
  for (const { old, now } of changes) if (old && !now) emit('file-removed', old, origin);
  for (const { old, now } of changes) if (old && now && old.path !== now.path) emit('file-renamed', now, old.path, origin);
  for (const { old, now } of changes) if (!old && now) emit('file-added', now, origin);
  for (const { old, now } of changes) {
    if (old && now && now.kind === 'binary' && old.hash !== now.hash) emit('binary-changed', now, origin);
  }
}

export function originOf(origin: unknown): ChangeOrigin {
  if (origin === 'disk' || origin === 'editor') return origin;
  if (origin instanceof Y.UndoManager) return 'editor';
  return 'remote';
}
