/**
 * Reading and writing Jupyter notebooks (nbformat 4) in the core, so that every peer — the headless
 * one, and editors that do not have the notebook open — writes the file exactly as Jupyter does:
 * keys sorted, one space of indentation, multi-line strings as lists of lines, a final newline
 * (nbformat's `writes`: `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)`). Git diffs of a
 * notebook written here and one written by Jupyter are then the change, not the formatting.
 */
import { createHash } from 'node:crypto';
import { isWellFormed, wellFormed } from '../code-unit-diff';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type CellKind = 'code' | 'markdown' | 'raw';

/** A cell as the model holds it: `source` is one string, outputs are nbformat's output objects. */
export interface NotebookCell {
  id: string;
  kind: CellKind;
  source: string;
  metadata: JsonObject;
  /** Code cells only. */
  outputs: JsonObject[];
  executionCount: number | null;
  /** Raw and markdown cells' attachments, kept as they are. */
  attachments?: JsonObject;
}

export interface Notebook {
  nbformat: number;
  nbformatMinor: number;
  metadata: JsonObject;
  cells: NotebookCell[];
}

export class NotebookFormatError extends Error {
  override name = 'NotebookFormatError';
}

const CELL_ID = /^[a-zA-Z0-9-_]{1,64}$/;

/** A cell id as nbformat 4.5 allows it (1–64 of `A-Za-z0-9-_`), the only form a model's cells have. */
export function isCellId(v: unknown): v is string {
  return typeof v === 'string' && CELL_ID.test(v);
}

/** A JSON escape of a surrogate (`\ud800`, allowed alone by JSON; a pair is two such escapes). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * JSON.parse's reviver: a lone surrogate (a `\ud800` escape, which JSON allows) becomes U+FFFD, in
 * keys and values, as for any text (docs/PROTOCOL.md §6.1). Kept, a cell's shared text held it here
 * and U+FFFD on every other peer (Yjs writes strings as UTF-8), at the same state, unseen.
 */
function wellFormedJson(_key: string, v: unknown): unknown {
  if (typeof v === 'string') return wellFormed(v);
  if (isObject(v) && Object.keys(v).some((k) => wellFormed(k) !== k)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), x]));
  return v;
}

/**
 * Parses an `.ipynb` text. Throws NotebookFormatError (with what is wrong) for anything but nbformat 4.
 * Lone surrogates in its strings come out as U+FFFD (wellFormedJson).
 */
export function parseIpynb(text: string): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text, SURROGATE_ESCAPE.test(text) || !isWellFormed(text) ? wellFormedJson : undefined);
  } catch (err) {
    throw new NotebookFormatError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new NotebookFormatError('not a notebook: the top level is not an object');
  if (raw.nbformat !== 4) throw new NotebookFormatError(`nbformat ${JSON.stringify(raw.nbformat)} is not supported (only 4)`);
  const minor = typeof raw.nbformat_minor === 'number' ? raw.nbformat_minor : 0;
  if (!Array.isArray(raw.cells)) throw new NotebookFormatError('not a notebook: "cells" is not a list');
  const seen = new Set<string>();
  const cells = raw.cells.map((c, i) => {
    const cell = parseCell(c, i);
    // Notebooks before 4.5 have no ids; duplicates are invalid. Either way every peer must derive the
    // same id from the same file, so the id is a hash of the cell's place and content.
    if (!CELL_ID.test(cell.id) || seen.has(cell.id)) cell.id = derivedId(i, cell.source, seen);
    seen.add(cell.id);
    return cell;
  });
  return { nbformat: 4, nbformatMinor: minor, metadata: isObject(raw.metadata) ? (raw.metadata as JsonObject) : {}, cells };
}

function parseCell(c: unknown, i: number): NotebookCell {
  if (!isObject(c)) throw new NotebookFormatError(`cell ${i} is not an object`);
  const kind = c.cell_type;
  if (kind !== 'code' && kind !== 'markdown' && kind !== 'raw') throw new NotebookFormatError(`cell ${i} has an unknown cell_type ${JSON.stringify(kind)}`);
  const cell: NotebookCell = {
    id: typeof c.id === 'string' ? c.id : '',
    kind,
    source: joinLines(c.source, `cell ${i}'s source`),
    metadata: isObject(c.metadata) ? (c.metadata as JsonObject) : {},
    outputs: kind === 'code' && Array.isArray(c.outputs) ? (c.outputs.filter(isObject) as JsonObject[]) : [],
    executionCount: kind === 'code' && typeof c.execution_count === 'number' ? c.execution_count : null,
  };
  if (kind !== 'code' && isObject(c.attachments)) cell.attachments = c.attachments as JsonObject;
  return cell;
}

function derivedId(index: number, source: string, taken: Set<string>): string {
  for (let salt = 0; ; salt++) {
    const id = createHash('sha256').update(`${index}\0${salt}\0${source}`).digest('hex').slice(0, 16);
    if (!taken.has(id)) return id;
  }
}

/** The file Jupyter would write for this notebook. */
export function writeIpynb(nb: Notebook): string {
  const withIds = nb.nbformat > 4 || nb.nbformatMinor >= 5;
  const cells = nb.cells.map((c) => {
    const out: JsonObject = { cell_type: c.kind, metadata: c.metadata, source: splitLines(c.source) };
    if (withIds) out.id = c.id;
    if (c.kind === 'code') {
      out.execution_count = c.executionCount;
      out.outputs = c.outputs.map(normaliseOutput);
    } else if (c.attachments) out.attachments = c.attachments;
    return out;
  });
  const doc: JsonObject = { cells, metadata: nb.metadata, nbformat: nb.nbformat, nbformat_minor: nb.nbformatMinor };
  return JSON.stringify(sortKeys(doc), null, 1) + '\n';
}

/** nbformat keeps multi-line strings of outputs (stream text, text/* data) as lists of lines too. */
function normaliseOutput(o: JsonObject): JsonObject {
  const out: JsonObject = { ...o };
  if (typeof out.text === 'string' || Array.isArray(out.text)) out.text = splitLines(joinLines(out.text, 'output text'));
  if (isObject(out.data)) {
    const data: JsonObject = {};
    for (const [mime, v] of Object.entries(out.data as JsonObject)) {
      data[mime] = mime.startsWith('text/') || mime === 'image/svg+xml' ? splitLines(joinLines(v, `output ${mime}`)) : v;
    }
    out.data = data;
  }
  return out;
}

/** nbformat's split_lines: "a\nb" → ["a\n", "b"]; "" → []. */
export function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') {
      lines.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

function joinLines(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((l) => typeof l === 'string')) return v.join('');
  if (v === undefined) return '';
  throw new NotebookFormatError(`${what} is neither a string nor a list of strings`);
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
