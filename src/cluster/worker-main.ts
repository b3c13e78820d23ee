/**
 * The program of a worker process of `--workers=N` (the primary's `cluster.setupPrimary` exec).
 * It waits for the primary's resolved static configuration and serves it: no command line, no
 * configuration file or environment is read here, so the CLI and the configuration parsers are
 * never loaded in a worker, and a file edited after the start cannot make workers disagree with
 * the primary (a replacement worker serves what the others serve).
 */
import { ConfigError } from '../errors.js';
import { isMessage, type StaticConfigUpdate, type WorkerStartFailed } from './messages.js';

/** failStart reports why this worker cannot serve, to stderr and to the primary, and exits 1. */
function failStart(err: unknown): void {
  const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : ((err as Error)?.message ?? String(err));
  process.stderr.write(`gantry: worker: ${err instanceof ConfigError ? message : ((err as Error)?.stack ?? message)}\n`);
  // The primary's restart policy names the cause when it gives up.
  const failed: WorkerStartFailed = { type: 'gantry:start-failed', error: message };
  if (process.send === undefined || !process.connected) process.exit(1);
  process.send(failed, () => process.exit(1));
  // The exit waits for the message to be written; if the channel is gone, exit anyway.
  setTimeout(() => process.exit(1), 1000).unref();
}

if (process.send === undefined) {
  process.stderr.write('gantry: worker-main runs only as a worker of `gantry run --workers=N`\n');
  process.exit(1);
}
// A primary gone while this worker loads leaves nothing to serve for.
const orphaned = (): never => process.exit(0);
process.once('disconnect', orphaned);
process.once('message', (m: unknown) => {
  if (!isMessage<StaticConfigUpdate>(m, 'gantry:static')) return failStart(new Error(`the primary's first message is not the static configuration (${JSON.stringify(m)?.slice(0, 80)})`));
  import('./worker.js')
    .then((w) => {
      process.off('disconnect', orphaned);
      if (!process.connected) return orphaned();
      return w.runWorker(m.config, m.cwd);
    })
    .catch(failStart);
});
