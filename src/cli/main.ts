/** `hyperpair`: the headless peer. Process wiring only; behaviour lives in run.ts. */
import { SessionCodeError } from '../session/session';
import { escapeUntrusted } from '../session/untrusted';
import { FolderError } from '../app/peer';
import { FolderTakenError } from '../sync/folder-claim';
import { USAGE, UsageError, parseCli } from './args';
import { runRestore } from './restore';
import { createOutput, runPeer, runRelay } from './run';

/** How long Ctrl+C or SIGTERM waits for writes and goodbyes before the process goes anyway. */
const STOP_GRACE_MS = 4000;

async function main(argv: string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    process.stderr.write(`hyperpair: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (cmd.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const out = createOutput(cmd.json);
  if (cmd.command === 'restore') {
    try {
      await runRestore(cmd, out);
      return 0;
    } catch (err) {
      process.stderr.write(`hyperpair: ${(err as Error).message}\n`);
      return err instanceof UsageError ? 2 : 1;
    }
  }
  const abort = new AbortController();
  // Starting can take long (a joiner waits for someone to answer): a signal cancels it, and stopping
  // waits for it to unwind so that everything it opened is closed before the process exits.
  let starting: Promise<{ close(): Promise<void> }> | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      out.line(`Stopping (${signal})…`, { event: 'stopping', signal });
      abort.abort();
      const closed = (async () => {
        const peer = await starting?.catch(() => undefined);
        await peer?.close();
      })().catch((err: Error) => void process.stderr.write(`hyperpair: while stopping: ${err.message}\n`));
      // Stopping must never hang on a peer that does not answer: after the grace period, go anyway.
      let grace: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (grace = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
      const how = await Promise.race([closed, late]);
      clearTimeout(grace);
      if (how === 'late') {
        out.line(`Stopped without finishing cleanly (still closing after ${STOP_GRACE_MS / 1000} s).`, { event: 'stopped', clean: false });
        process.exit(1); // what is still closing holds the event loop open
      }
      out.line('Stopped.', { event: 'stopped' });
      return 0;
    })();
    return stopping;
  };
  let end: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    end = resolve;
    process.once('SIGINT', () => void stop('SIGINT').then(resolve));
    process.once('SIGTERM', () => void stop('SIGTERM').then(resolve));
  });
  // Another Hyperpair took the folder over: this one has left its session, and exits.
  const taken = () => void stop('another Hyperpair took the folder over').then(() => end(1));
  // Whoever read the output went away (`hyperpair share … | head`): leave the session as on Ctrl+C,
  // rather than die of the write's error. Later writes to the closed output fail here too, quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') void stop('its output was closed').then(end);
  });
  // Only now, with the handlers in place: a signal right after the first line must not kill us.
  starting = cmd.command === 'relay' ? runRelay(cmd, out) : runPeer(cmd, out, abort.signal, process.stdin, taken);
  try {
    await starting;
  } catch (err) {
    if (abort.signal.aborted) return exited;
    const known = err instanceof UsageError || err instanceof SessionCodeError || err instanceof FolderError || err instanceof FolderTakenError;
    process.stderr.write(`hyperpair: ${escapeUntrusted((err as Error).message)}\n`);
    return known ? 2 : 1;
  }
  return exited;
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Every handle is closed by now; if one was not, make that visible rather than hang forever.
  setTimeout(() => {
    process.stderr.write('hyperpair: a handle was still open after stopping; exiting anyway\n');
    process.exit(code);
  }, 5000).unref();
});
