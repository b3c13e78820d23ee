/**
 * runWorker serves the entrypoints in one worker process of `--workers=N`. It asks the primary for
 * the current configuration and starts listening only once that configuration is live, so a
 * worker never answers 404 for routes the others serve. Signals are the primary's business:
 * workers drain when the primary says so, or when the primary is gone. ACME certificates and
 * challenge answers come from the primary too (the only process that talks to the CA).
 */
import type { StaticConfig } from '../config/static/index.js';
import { Gantry, stopAndExit } from '../gantry.js';
import { isMessage, type CertsUpdate, type ChallengeUpdate, type ConfigUpdate, type MetricsReply, type StatsRequest, type WorkerStartFailed } from './messages.js';

/** How long a worker waits for the primary's /metrics text before answering 503. */
const METRICS_TIMEOUT_MS = 5000;

export async function runWorker(config: StaticConfig, cwd: string): Promise<void> {
  // /metrics on an entrypoint speaks for every worker: the primary renders it.
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  const metricsText = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the primary did not answer within ${METRICS_TIMEOUT_MS} ms`));
      }, METRICS_TIMEOUT_MS);
      waiting.set(id, { resolve, reject, timer });
      process.send?.({ type: 'gantry:metrics?', id });
    });
  const gantry = new Gantry({ config, cwd, role: 'serve', metricsText });
  let listening = false;
  let stopping = false;

  const stop = () => {
    if (stopping) return;
    stopping = true;
    stopAndExit(gantry);
  };
  // Ctrl-C reaches the whole process group; the primary coordinates the shutdown.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('disconnect', stop);

  process.on('message', (m: unknown) => {
    if (isMessage<ConfigUpdate>(m, 'gantry:config')) {
      gantry.watcher.replaceAll(m.messages);
      process.send?.({ type: 'gantry:applied', version: m.version });
      if (!listening) {
        listening = true;
        gantry.start(m.ports).then(() => process.send?.({ type: 'gantry:listening' })).catch((err) => {
          gantry.logger.error('worker start failed', { error: err as Error });
          // The primary decides whether to try again; it needs the cause to say why it gives up.
          const failed: WorkerStartFailed = { type: 'gantry:start-failed', error: (err as Error).message ?? String(err) };
          if (process.send === undefined) process.exit(1);
          process.send(failed, () => process.exit(1));
        });
      }
    } else if (isMessage<CertsUpdate>(m, 'gantry:certs')) {
      gantry.tls.applyAcmeCertificates(m.acme);
    } else if (isMessage<ChallengeUpdate>(m, 'gantry:challenge')) {
      gantry.tls.applyChallenge(m.kind, m.key, m.value);
      process.send?.({ type: 'gantry:challenge-ack', id: m.id });
    } else if (isMessage<StatsRequest>(m, 'gantry:stats?')) {
      const id = m.id;
      void gantry.localStats().then((local) => process.send?.({ type: 'gantry:stats', id, ...local }));
    } else if (isMessage<MetricsReply>(m, 'gantry:metrics')) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (w !== undefined) {
        clearTimeout(w.timer);
        if (m.text !== null) w.resolve(m.text);
        else w.reject(new Error(m.error ?? 'no metrics'));
      }
    } else if (isMessage(m, 'gantry:shutdown')) {
      stop();
    }
  });
  process.send?.({ type: 'gantry:hello' });
}
