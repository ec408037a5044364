/**
 * A notebook as a Yjs document: cells in a map by stable id, each with its kind, source (a Y.Text, so
 * typing in a cell merges like any text), metadata, outputs and execution count; the order is each
 * cell's fractional position (positions.ts). So:
 * - two people inserting cells at one spot both keep theirs (distinct positions, ties broken by id);
 * - a move is one write of one key: two people moving one cell at once end with it in one place;
 * - a delete is a tombstone that keeps the cell's source and the source as the deleter saw it. When a
 *   deleted cell's source differs from that (someone typed in it while it was being deleted), every
 *   peer brings the cell back — the same decision everywhere, so the copies converge — and says so.
 *   Nobody's typing disappears with a cell they did not see deleted.
 *
 * Metadata, outputs and the execution count are plain values, last writer wins: whoever ran a cell
 * last has their outputs shown everywhere, and the count does not fight.
 */
import { TypedEmitter } from '../../session/events';
import { randomBytes } from 'node:crypto';
import * as Y from 'yjs';
import type { CellKind, Json, JsonObject, Notebook, NotebookCell } from './ipynb';
import { between, spread } from './positions';

/** Outputs larger than this (as JSON) are not shared whole: a summary takes their place. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

/** The origin of transactions the model makes to bring back a deleted cell someone typed in. */
export const RESURRECT_ORIGIN = 'notebook-resurrect';

export interface CellView extends NotebookCell {
  position: string;
}

export interface NotebookModelEvents {
  /** A cell deleted by someone while someone else typed in it was brought back. */
  restored: [id: string];
}

type CellMap = Y.Map<unknown>;

export class NotebookModel extends TypedEmitter<NotebookModelEvents> {
  private readonly root: Y.Map<unknown>;
  private readonly cellMaps: Y.Map<CellMap>;
  private readonly onAfterTransaction = (tr: Y.Transaction): void => {
    // Told on every peer, whichever brought the cell back first: the change arrives as `deleted`
    // turning false with the mark that says why.
    for (const [type, keys] of tr.changed) {
      if (keys.has('deleted') && type instanceof Y.Map && type.parent === this.cellMaps && type.get('deleted') === false && type.get('restoredBecause') === 'edited') {
        const id = [...this.cellMaps.entries()].find(([, m]) => m === type)?.[0];
        if (id) this.emit('restored', id);
      }
    }
    if (tr.origin !== RESURRECT_ORIGIN) this.restoreEditedTombstones();
  };

  constructor(
    readonly doc: Y.Doc,
    private readonly random: () => number = Math.random,
  ) {
    super();
    this.root = doc.getMap('notebook');
    this.cellMaps = doc.getMap('cells');
    doc.on('afterTransaction', this.onAfterTransaction);
  }

  dispose(): void {
    this.doc.off('afterTransaction', this.onAfterTransaction);
  }

  /**
   * The state of a notebook read from a file, the same bytes on every peer that reads the same file
   * (fixed client id, positions and ids derived from the file): peers that load one file at once
   * produce identical updates, which Yjs merges as one.
   */
  static initialState(nb: Notebook): Uint8Array {
    const doc = new Y.Doc();
    doc.clientID = 0;
    const root = doc.getMap('notebook');
    const cells = doc.getMap<CellMap>('cells');
    const positions = spread(nb.cells.length);
    doc.transact(() => {
      root.set('nbformat', nb.nbformat);
      root.set('nbformatMinor', nb.nbformatMinor);
      root.set('metadata', nb.metadata);
      nb.cells.forEach((c, i) => cells.set(c.id, newCellMap(c, positions[i])));
    });
    const update = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    return update;
  }

  get isEmpty(): boolean {
    return !this.root.has('nbformat');
  }

  load(nb: Notebook): void {
    Y.applyUpdate(this.doc, NotebookModel.initialState(nb));
  }

  /** The live cells, in order. */
  cells(): CellView[] {
    const out: CellView[] = [];
    this.cellMaps.forEach((m, id) => {
      if (m.get('deleted') !== true) out.push(readCell(id, m));
    });
    return out.sort(byPosition);
  }

  /** Cells deleted (and not brought back), with their text: what Restore offers. */
  deletedCells(): CellView[] {
    const out: CellView[] = [];
    this.cellMaps.forEach((m, id) => {
      if (m.get('deleted') === true) out.push(readCell(id, m));
    });
    return out.sort(byPosition);
  }

  source(id: string): Y.Text | undefined {
    const s = this.cellMaps.get(id)?.get('source');
    return s instanceof Y.Text ? s : undefined;
  }

  toNotebook(): Notebook {
    return {
      // Only nbformat 4 is ever shared (ipynb.ts); a peer's other value is not written into a file.
      nbformat: 4,
      nbformatMinor: minorOf(this.root.get('nbformatMinor')),
      metadata: asObject(this.root.get('metadata')) ?? {},
      cells: this.cells().map(({ position: _position, ...cell }) => cell),
    };
  }

  /** Inserts a cell before the live cell now at `index` (or at the end). Returns its id. */
  insertCell(index: number, cell: Partial<NotebookCell> & { kind: CellKind }, origin?: unknown): string {
    const live = this.cells();
    const id = cell.id && !this.cellMaps.has(cell.id) ? cell.id : randomBytes(8).toString('hex');
    const pos = this.slot(live, index);
    const full: NotebookCell = { id, source: '', metadata: {}, outputs: [], executionCount: null, ...cell };
    this.doc.transact(() => this.cellMaps.set(id, newCellMap(full, pos)), origin);
    return id;
  }

  deleteCell(id: string, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (!m || m.get('deleted') === true) return;
    this.doc.transact(() => {
      m.set('deletedSource', String(m.get('source')));
      m.set('deleted', true);
      m.delete('restoredBecause');
    }, origin);
  }

  /** Brings a deleted cell back where it was. */
  restoreCell(id: string, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (m?.get('deleted') !== true) return;
    this.doc.transact(() => {
      m.set('deleted', false);
      m.delete('deletedSource');
    }, origin);
  }

  /** Moves a live cell so that it ends at `toIndex` among the live cells. */
  moveCell(id: string, toIndex: number, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (!m || m.get('deleted') === true) return;
    const others = this.cells().filter((c) => c.id !== id);
    const pos = this.slot(others, toIndex);
    this.doc.transact(() => m.set('pos', pos), origin);
  }

  setOutputs(id: string, outputs: JsonObject[], executionCount: number | null, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (!m) return;
    this.doc.transact(() => {
      m.set('outputs', boundedOutputs(outputs));
      m.set('executionCount', executionCount);
    }, origin);
  }

  setCellMetadata(id: string, metadata: JsonObject, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (m && JSON.stringify(m.get('metadata')) !== JSON.stringify(metadata)) this.doc.transact(() => m.set('metadata', metadata), origin);
  }

  setKind(id: string, kind: CellKind, origin?: unknown): void {
    const m = this.cellMaps.get(id);
    if (m && m.get('kind') !== kind) this.doc.transact(() => m.set('kind', kind), origin);
  }

  setNotebookMetadata(metadata: JsonObject, origin?: unknown): void {
    if (JSON.stringify(this.root.get('metadata')) !== JSON.stringify(metadata)) this.doc.transact(() => this.root.set('metadata', metadata), origin);
  }

  /**
   * A position before `list[index]` and after `list[index - 1]`. Two cells can share a position (two
   * peers chose the same key at once; their ids order them): a slot inside such a tie is not
   * expressible, so the new position goes after the tied cells.
   */
  private slot(list: CellView[], index: number): string {
    const lo = list[index - 1]?.position ?? '';
    const hi = list.slice(index).find((c) => lo === '' || c.position > lo)?.position ?? '';
    return between(lo, hi, this.random);
  }

  private restoreEditedTombstones(): void {
    const edited: string[] = [];
    this.cellMaps.forEach((m, id) => {
      if (m.get('deleted') === true && String(m.get('source')) !== m.get('deletedSource')) edited.push(id);
    });
    if (!edited.length) return;
    this.doc.transact(() => {
      for (const id of edited) {
        const m = this.cellMaps.get(id);
        m?.set('deleted', false);
        m?.set('restoredBecause', 'edited');
        m?.delete('deletedSource');
      }
    }, RESURRECT_ORIGIN);
  }
}

function newCellMap(c: NotebookCell, pos: string): CellMap {
  const m = new Y.Map<unknown>();
  m.set('kind', c.kind);
  m.set('source', new Y.Text(c.source));
  m.set('metadata', c.metadata);
  m.set('outputs', boundedOutputs(c.outputs));
  m.set('executionCount', c.executionCount);
  if (c.attachments) m.set('attachments', c.attachments);
  m.set('pos', pos);
  return m;
}

/**
 * A cell as the document holds it. The document comes from peers (untrusted): a value of the wrong
 * shape is read as the default, so the file written from it is always a well-formed notebook.
 */
function readCell(id: string, m: CellMap): CellView {
  const kind = m.get('kind');
  const outputs = m.get('outputs');
  const count = m.get('executionCount');
  const cell: CellView = {
    id,
    kind: kind === 'markdown' || kind === 'raw' ? kind : 'code',
    source: String(m.get('source') ?? ''),
    metadata: asObject(m.get('metadata')) ?? {},
    outputs: Array.isArray(outputs) ? outputs.filter((o): o is JsonObject => asObject(o) !== undefined) : [],
    executionCount: typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : null,
    position: String(m.get('pos')),
  };
  const attachments = asObject(m.get('attachments'));
  if (attachments) cell.attachments = attachments;
  return cell;
}

function minorOf(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 1000 ? v : 5;
}

function asObject(v: unknown): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Y.AbstractType) ? (v as JsonObject) : undefined;
}

function byPosition(a: CellView, b: CellView): number {
  return a.position < b.position ? -1 : a.position > b.position ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Outputs as shared: whole when small, otherwise one line that says what was left out and why. */
export function boundedOutputs(outputs: JsonObject[]): JsonObject[] {
  const size = Buffer.byteLength(JSON.stringify(outputs));
  if (size <= MAX_OUTPUT_BYTES) return outputs;
  const summary: Json = `[${outputs.length} output(s), ${Math.round(size / 1024)} KiB: larger than ${MAX_OUTPUT_BYTES / 1024} KiB, not shared; run the cell to see them]\n`;
  return [{ output_type: 'stream', name: 'stdout', text: summary }];
}
