/**
 * runPrimary runs the primary of `--workers=N`: it is one of the N processes that serve the ports,
 * and providers, the configuration watcher, ACME and the API live here only. It forks N-1 workers
 * and sends each the static configuration it resolved, then its listening sockets (node:cluster's
 * handle passing, not its port sharing): every process accepts on the same sockets, so a new
 * connection goes to whichever is free, and what a worker that dies had not accepted stays queued
 * for the others. After every applied snapshot the primary sends the exact provider configurations
 * it was built from to every worker, which compiles and swaps its own snapshot at once. A worker
 * that dies is replaced. Serving in the primary saves a whole Node process: on 2 cores, 2
 * processes rather than 3.
 *
 * ACME runs here only: the primary is the one process that talks to the CA. It sends every
 * certificate its resolvers hold to the workers (`gantry:certs`, the whole set on each change and
 * to each new worker), and each challenge answer (`gantry:challenge`) before it asks the CA to
 * validate, waiting until every worker has acknowledged it — so the CA may reach any worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { StaticConfig } from '../config/static/index.js';
import { Gantry, shutdownBudgetMs, type LocalStats } from '../gantry.js';
import { isMessage, type CertsUpdate, type ChallengeAck, type ChallengeUpdate, type ConfigUpdate, type ListenSocket, type MetricsRequest, type StaticConfigUpdate, type StatsReply, type ToWorker, type WorkerApplied, type WorkerStartFailed } from './messages.js';
import { RestartPolicy } from './restart.js';

/** How long the primary waits for a worker to acknowledge a challenge answer before going on. */
const CHALLENGE_ACK_TIMEOUT_MS = 5000;

export async function runPrimary(config: StaticConfig, cwd: string): Promise<void> {
  // Workers never ask node:cluster for a listening socket (they get the primary's), so its
  // round-robin never applies; SCHED_NONE says so.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // A worker runs worker-main.js, not the CLI: it serves the static configuration sent to it.
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [] });
  const workers = new Set<Worker>();
  const pending = new Map<number, (r: StatsReply) => void>();
  let nextId = 1;
  /** askStats collects this process's counters and every live worker's; a worker that does not answer in 1 s is left out. */
  const askStats = async (): Promise<LocalStats[]> => {
    const replies = [...workers].filter((w) => w.isConnected()).map(
      (w) =>
        new Promise<LocalStats | null>((resolve) => {
          const id = nextId++;
          const timer = setTimeout(() => {
            pending.delete(id);
            resolve(null);
          }, 1000);
          pending.set(id, (r) => {
            clearTimeout(timer);
            resolve({ stats: r.stats, openConnections: r.openConnections });
          });
          w.send({ type: 'gantry:stats?', id });
        }),
    );
    const [own, ...others] = await Promise.all([gantry.localStats(), ...replies]);
    return [own!, ...others.filter((r): r is LocalStats => r !== null)];
  };
  const gantry: Gantry = new Gantry({ config, cwd, role: 'primary', workerStats: askStats });
  const log = gantry.logger.child({ component: 'cluster' });
  let stopping = false;

  /** By entrypoint, the port this process listens on (`:0` got one at start) and how many sockets it sends each worker. */
  let listeners: ConfigUpdate['listeners'] = {};
  const update = (): ConfigUpdate => ({ type: 'gantry:config', version: gantry.snapshot.version, messages: gantry.watcher.messages, listeners });
  const send = (w: Worker, msg: ToWorker) => {
    if (w.isConnected()) w.send(msg);
  };

  /** Workers that said hello: their message handler is in place, so they get ACME updates. */
  const ready = new Set<Worker>();
  const acks = new Map<number, Map<Worker, () => void>>();
  const certs = (): CertsUpdate => ({ type: 'gantry:certs', acme: gantry.tls.acmeCertificates() });
  let certsKey = '';
  gantry.tls.onCertificatesChange(() => {
    const msg = certs();
    const key = JSON.stringify(Object.entries(msg.acme).map(([r, l]) => [r, l.map((p) => p.certPem)]));
    if (key === certsKey) return;
    certsKey = key;
    for (const w of ready) send(w, msg);
  });
  gantry.tls.publishChallenge = async (kind, key, value) => {
    const id = nextId++;
    const waiting = new Map<Worker, () => void>();
    acks.set(id, waiting);
    const msg: ChallengeUpdate = { type: 'gantry:challenge', id, kind, key, value };
    const all = [...ready].filter((w) => w.isConnected()).map(
      (w) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            w.off('exit', done);
            resolve(false);
          }, CHALLENGE_ACK_TIMEOUT_MS);
          const done = () => {
            clearTimeout(timer);
            w.off('exit', done);
            resolve(true);
          };
          waiting.set(w, done);
          // A worker that dies meanwhile is replaced, and its successor gets the pending answers at hello.
          w.once('exit', done);
          send(w, msg);
        }),
    );
    const ok = await Promise.all(all);
    acks.delete(id);
    if (ok.includes(false)) log.warn('acme: a worker did not acknowledge a challenge answer in time', { kind, key, timeoutMs: CHALLENGE_ACK_TIMEOUT_MS });
  };

  const restarts = new RestartPolicy();
  let lastCause = '';
  const fork = (): void => {
    const w = cluster.fork();
    workers.add(w);
    const first: StaticConfigUpdate = { type: 'gantry:static', config, cwd };
    w.send(first);
    const forkedAt = Date.now();
    let listening = false;
    w.on('message', (m: unknown) => {
      if (isMessage(m, 'gantry:hello')) {
        // The listening sockets, certificates and pending challenges first: the worker starts
        // accepting once its configuration and every socket are in.
        for (const ep of gantry.entrypoints) {
          for (const server of ep.listeningServers()) if (w.isConnected()) w.send({ type: 'gantry:socket', entrypoint: ep.name } satisfies ListenSocket, server);
        }
        ready.add(w);
        send(w, certs());
        for (const c of gantry.tls.pendingChallenges()) send(w, { type: 'gantry:challenge', id: 0, kind: c.kind, key: c.key, value: c.value });
        send(w, update());
      } else if (isMessage<ChallengeAck>(m, 'gantry:challenge-ack')) acks.get(m.id)?.get(w)?.();
      else if (isMessage(m, 'gantry:listening')) listening = true;
      else if (isMessage<WorkerStartFailed>(m, 'gantry:start-failed')) lastCause = m.error;
      else if (isMessage<StatsReply>(m, 'gantry:stats')) {
        const done = pending.get(m.id);
        pending.delete(m.id);
        done?.(m);
      }
      else if (isMessage<WorkerApplied>(m, 'gantry:applied')) {
        log.debug('worker applied configuration', { worker: w.id, version: m.version });
      } else if (isMessage<MetricsRequest>(m, 'gantry:metrics?')) {
        const id = m.id;
        gantry.metricsText().then(
          (text) => send(w, { type: 'gantry:metrics', id, text }),
          (err: unknown) => send(w, { type: 'gantry:metrics', id, text: null, error: (err as Error).message ?? String(err) }),
        );
      }
    });
    w.on('exit', (code, signal) => {
      workers.delete(w);
      ready.delete(w);
      if (stopping) return;
      const delay = restarts.failed(listening, Date.now() - forkedAt);
      if (delay === null) {
        log.error('workers keep failing to start; giving up', { tries: restarts.consecutive, cause: lastCause || `exit code ${code ?? signal}` });
        stopping = true;
        for (const other of workers) other.process.kill('SIGKILL');
        void gantry.stop().finally(() => process.exit(1));
        return;
      }
      log.error('worker exited; starting another', { worker: w.id, code, signal, inMs: delay, cause: lastCause || undefined });
      setTimeout(() => {
        if (!stopping) fork();
      }, delay).unref();
    });
  };

  gantry.watcher.onSnapshot(() => {
    const msg = update();
    for (const w of workers) send(w, msg);
  });

  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('signal received; draining', { signal });
    if (gantry.api !== null) gantry.api.terminating = true;
    const grace = shutdownBudgetMs(config);
    const exited = [...workers].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers) {
      // A worker that has not said hello is still loading: it has accepted nothing and would not
      // hear the message yet, so it is stopped at once.
      if (!ready.has(w)) w.process.kill('SIGKILL');
      else if (w.isConnected()) w.send({ type: 'gantry:shutdown' });
    }
    const timer = setTimeout(() => {
      for (const w of workers) w.process.kill('SIGKILL');
    }, grace + 5000);
    // The primary drains its own connections while the workers drain theirs.
    await Promise.all([...exited, gantry.stop()]);
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    await gantry.start();
  } catch (err) {
    // The primary serves too: a port it cannot bind stops it before any worker is forked.
    log.error('start failed', { error: err as Error });
    await gantry.stop().catch(() => {});
    process.exit(1);
  }
  listeners = Object.fromEntries(gantry.entrypoints.map((e) => [e.name, { port: e.port, sockets: e.listeningServers().length }]));
  for (let i = 1; i < config.workers; i++) fork();
  log.info('workers started', { workers: config.workers - 1, processes: config.workers });
}
