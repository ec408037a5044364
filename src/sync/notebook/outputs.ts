/**
 * Cell outputs between nbformat (what the model and the file hold) and an editor's output items
 * (mime type and bytes, VS Code's NotebookCellOutput), editor-agnostic. The mapping is the one VS
 * Code's built-in ipynb support makes, for the output types nbformat has: streams as the editor's
 * stdout/stderr items, errors as its error item, rich data as one item per mime type, with the
 * nbformat type kept in the output's metadata (`outputType`) so that it comes back the same.
 */
import type { Json, JsonObject } from './ipynb';

export interface EditorOutputItem {
  mime: string;
  data: Uint8Array;
}

export interface EditorOutput {
  items: EditorOutputItem[];
  metadata?: Record<string, unknown>;
}

export const STDOUT = 'application/vnd.code.notebook.stdout';
export const STDERR = 'application/vnd.code.notebook.stderr';
export const ERROR = 'application/vnd.code.notebook.error';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function joined(v: Json | undefined): string {
  return Array.isArray(v) ? v.filter((l): l is string => typeof l === 'string').join('') : typeof v === 'string' ? v : '';
}

/** Whether a mime type's nbformat value is text (kept as a string) rather than base64 or JSON. */
function textual(mime: string): boolean {
  return mime.startsWith('text/') || mime === 'image/svg+xml' || mime === 'application/javascript';
}

export function toEditorOutput(o: JsonObject): EditorOutput {
  const type = o.output_type;
  if (type === 'stream') {
    return { items: [{ mime: o.name === 'stderr' ? STDERR : STDOUT, data: utf8.encode(joined(o.text)) }], metadata: { outputType: 'stream' } };
  }
  if (type === 'error') {
    const traceback = Array.isArray(o.traceback) ? o.traceback.filter((l): l is string => typeof l === 'string') : [];
    const error = { name: String(o.ename ?? ''), message: String(o.evalue ?? ''), stack: traceback.join('\n') };
    return { items: [{ mime: ERROR, data: utf8.encode(JSON.stringify(error)) }], metadata: { outputType: 'error', originalError: o } };
  }
  const items: EditorOutputItem[] = [];
  const data = typeof o.data === 'object' && o.data !== null && !Array.isArray(o.data) ? o.data : {};
  for (const [mime, v] of Object.entries(data)) {
    if (textual(mime)) items.push({ mime, data: utf8.encode(joined(v)) });
    else if (typeof v === 'string') items.push({ mime, data: Buffer.from(v, 'base64') });
    else items.push({ mime, data: utf8.encode(JSON.stringify(v)) });
  }
  const metadata: Record<string, unknown> = { outputType: type === 'execute_result' ? 'execute_result' : 'display_data' };
  if (typeof o.metadata === 'object' && o.metadata !== null) metadata.metadata = o.metadata;
  if (type === 'execute_result') metadata.executionCount = o.execution_count ?? null;
  return { items, metadata };
}

export function fromEditorOutput(out: EditorOutput): JsonObject {
  const meta = out.metadata ?? {};
  const stream = out.items.find((i) => i.mime === STDOUT || i.mime === STDERR);
  if (stream) return { output_type: 'stream', name: stream.mime === STDERR ? 'stderr' : 'stdout', text: fromUtf8.decode(stream.data) };
  const error = out.items.find((i) => i.mime === ERROR);
  if (error) {
    let e: { name?: unknown; message?: unknown; stack?: unknown } = {};
    try {
      e = JSON.parse(fromUtf8.decode(error.data)) as typeof e;
    } catch {
      // an unreadable error item: shared as an error without details
    }
    return { output_type: 'error', ename: String(e.name ?? ''), evalue: String(e.message ?? ''), traceback: String(e.stack ?? '').split('\n') };
  }
  const data: JsonObject = {};
  for (const item of out.items) {
    if (textual(item.mime)) data[item.mime] = fromUtf8.decode(item.data);
    else if (item.mime.includes('json')) {
      try {
        data[item.mime] = JSON.parse(fromUtf8.decode(item.data)) as Json;
      } catch {
        data[item.mime] = fromUtf8.decode(item.data);
      }
    } else data[item.mime] = Buffer.from(item.data).toString('base64');
  }
  const metadata = typeof meta.metadata === 'object' && meta.metadata !== null ? (meta.metadata as JsonObject) : {};
  if (meta.outputType === 'execute_result') {
    const count = meta.executionCount;
    return { output_type: 'execute_result', data, metadata, execution_count: typeof count === 'number' ? count : null };
  }
  return { output_type: 'display_data', data, metadata };
}
