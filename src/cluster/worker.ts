/**
 * runWorker serves the entrypoints in one worker process of `--workers=N`, with the static
 * configuration the primary sent (worker-main.ts). It asks the primary for the current
 * configuration and the primary's listening sockets, and starts accepting on them only once that
 * configuration is live, so a worker never answers 404 for routes the others serve. Signals are
 * the primary's business: workers drain when the primary says so, or when the primary is gone.
 * ACME certificates and challenge answers come from the primary too (the only process that talks
 * to the CA).
 */
import type { StaticConfig } from '../config/static/index.js';
import { Gantry, stopAndExit } from '../gantry.js';
import net from 'node:net';
import { isMessage, type CertsUpdate, type ChallengeUpdate, type ConfigUpdate, type ListenSocket, type MetricsReply, type StatsRequest, type WorkerStartFailed } from './messages.js';

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

  const fail = (err: Error): void => {
    gantry.logger.error('worker start failed', { error: err });
    // The primary decides whether to try again; it needs the cause to say why it gives up.
    const failed: WorkerStartFailed = { type: 'gantry:start-failed', error: err.message ?? String(err) };
    if (process.send === undefined) process.exit(1);
    process.send(failed, () => process.exit(1));
  };
  /** The primary's listening sockets received so far, by entrypoint, and what the first configuration said to expect. */
  const sockets = new Map<string, net.Server[]>();
  let listeners: ConfigUpdate['listeners'] | null = null;
  /** startOnceComplete starts serving when the first configuration and every listening socket it announced are in. */
  const startOnceComplete = (): void => {
    if (listening || listeners === null) return;
    const adopted = new Map<string, { port: number; servers: net.Server[] }>();
    for (const ep of gantry.entrypoints) {
      const l = listeners[ep.name];
      // Both sides built their entrypoints from the same static configuration (worker-main.ts).
      if (l === undefined) {
        listening = true;
        return fail(new Error(`entrypoint ${ep.name}: the primary does not listen for it`));
      }
      const got = sockets.get(ep.name) ?? [];
      if (got.length < l.sockets) return;
      adopted.set(ep.name, { port: l.port, servers: got });
    }
    listening = true;
    gantry.start(adopted).then(() => process.send?.({ type: 'gantry:listening' })).catch((err: unknown) => fail(err as Error));
  };

  process.on('message', (m: unknown, handle: unknown) => {
    if (isMessage<ListenSocket>(m, 'gantry:socket')) {
      if (handle instanceof net.Server) {
        const list = sockets.get(m.entrypoint) ?? [];
        list.push(handle);
        sockets.set(m.entrypoint, list);
        startOnceComplete();
      }
    } else if (isMessage<ConfigUpdate>(m, 'gantry:config')) {
      gantry.watcher.replaceAll(m.messages);
      process.send?.({ type: 'gantry:applied', version: m.version });
      listeners ??= m.listeners;
      startOnceComplete();
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
