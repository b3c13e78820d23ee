/**
 * DockerProvider routes to containers that announce themselves by labels (Traefik's
 * `pkg/provider/docker/pdocker.go`): it lists the running containers, inspects each, emits the
 * whole configuration, then follows `/events` and emits it again after every change.
 *
 * Speed: an event only re-inspects the containers it names (the others are cached), and events
 * arriving within `coalesceMs` (10 ms) are handled as one batch, so one `docker compose up --scale`
 * makes one emit, a few milliseconds after its last event.
 *
 * Zero-downtime stops: `kill` (with a terminating signal) and `stop` take a container out of the
 * configuration at once, before it dies, so no new request is sent to a process that is shutting
 * down; requests already in flight are the proxy's to finish.
 *
 * Losing the daemon keeps the last configuration (nothing is emitted), retries with exponential
 * back-off from 100 ms to 5 s, and re-lists everything when the daemon answers again.
 */
import type { Logger } from '../../observability/logger.js';
import type { Emit, Provider } from '../provider.js';
import { buildDockerConfig } from './build.js';
import { DockerClient, type DockerTlsOptions } from './client.js';
import { compileConstraints, type LabelPredicate } from './constraints.js';
import type { ContainerInspect, DockerEvent } from './types.js';
import { FirstLoad } from '../first-load.js';
import { socketAccessHint } from './access-hint.js';

export interface DockerProviderOptions {
  /** `unix:///var/run/docker.sock` (default) or `tcp://host:port`. */
  endpoint?: string;
  tls?: DockerTlsOptions;
  /** Timeout of each API call except the event stream, in ms (`httpClientTimeout`; 0 or absent: 10 s). */
  httpClientTimeoutMs?: number;
  /** Route containers without `gantry.enable=true` (default true). */
  exposedByDefault?: boolean;
  /** Domain of the default rule (`{{ .Domain }}`). */
  domain?: string;
  /** Network whose IP to use for containers on several networks. */
  network?: string;
  /** Default rule template (default ``Host(`{{ normalize .Name }}.{{ .Domain }}`)``, used only with domain or this). */
  defaultRule?: string;
  /** Label expression selecting containers, e.g. ``Label(`env`,`prod`) && !Label(`x`,`y`)``. */
  constraints?: string;
  /** Follow events after the first listing (default true). */
  watch?: boolean;
  /** certResolver for nginx-proxy's LETSENCRYPT_HOST (default "letsencrypt"). */
  certResolver?: string;
  /** Route to published host ports instead of container IPs (default false). */
  useBindPortIP?: boolean;
  /** Keep services of unhealthy/stopping containers with no servers, so routers answer 503 (default false). */
  allowEmptyServices?: boolean;
  /** Events closer together than this are handled as one batch (default 10 ms). */
  coalesceMs?: number;
  /** Back-off bounds for reconnecting (default 100 ms → 5 s). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** Actions that change what a container contributes; others (exec_*, attach, top …) are ignored. */
const ACTIONS = new Set(['start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'health_status', 'rename', 'destroy', 'update', 'oom']);
/** Signals of `docker stop` / `docker kill` that end a container; `kill -s HUP` does not stop it. */
const TERMINATING = new Set(['9', '15', '2', '3', 'SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'KILL', 'TERM', 'INT', 'QUIT']);

export class DockerProvider implements Provider {
  readonly name: string = 'docker';
  /** Done after the first complete listing: a daemon unreachable at start keeps Gantry not ready. */
  readonly loaded = new FirstLoad();
  #opts: DockerProviderOptions;
  #constraints: LabelPredicate;
  #client: DockerClient;
  #emit: Emit | null = null;
  #logger: Logger | null = null;
  #containers = new Map<string, ContainerInspect>();
  #stopping = new Set<string>();
  #dirty = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #syncing = false;
  #flushing: Promise<void> | null = null;
  #stopped = false;
  #abort = new AbortController();
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
  #loop: Promise<void> | null = null;
  #lastErrors = '';
  /** Time of the first event of the batch being coalesced (for the debug log of event → emit delay). */
  #batchStart = 0;

  constructor(opts: DockerProviderOptions = {}) {
    this.#opts = opts;
    // Compile now: a bad expression is a start-up error, not a silent match-nothing.
    this.#constraints = compileConstraints(opts.constraints);
    this.#client = new DockerClient({ endpoint: opts.endpoint, tls: opts.tls, timeoutMs: opts.httpClientTimeoutMs || undefined });
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#logger = logger.child({ provider: this.name });
    let first!: () => void;
    const firstDone = new Promise<void>((resolve) => (first = resolve));
    this.#loop = this.#run(first);
    // Resolve after the first attempt, successful or not: the loop keeps retrying by itself.
    await firstDone;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    await this.#client.destroy().catch(() => {});
    await this.#loop?.catch(() => {});
  }

  async #run(firstDone: () => void): Promise<void> {
    const min = this.#opts.backoffMinMs ?? 100;
    const max = this.#opts.backoffMaxMs ?? 5000;
    let delay = min;
    let lost = false;
    while (!this.#stopped) {
      try {
        const version = await this.#client.negotiate();
        if (this.#opts.watch === false) {
          await this.#fullSync();
          firstDone();
          return;
        }
        // Subscribe before listing, so that no change between the list and the stream is missed.
        let opened!: () => void;
        const open = new Promise<void>((resolve) => (opened = resolve));
        const stream = this.#client.events({ type: ['container'] }, (e) => this.#onEvent(e), {
          signal: this.#abort.signal,
          onOpen: opened,
          onBadLine: (line) => this.#logger?.warn('docker: event is not JSON', { line: line.slice(0, 200) }),
        });
        stream.catch(() => {});
        await Promise.race([open, stream]);
        await this.#fullSync();
        if (lost) this.#logger?.info('docker: reconnected, configuration re-listed', { endpoint: this.#client.endpoint });
        else this.#logger?.debug('docker: connected', { endpoint: this.#client.endpoint, apiVersion: version });
        firstDone();
        delay = min;
        lost = false;
        await stream;
        if (this.#stopped) return;
        throw new Error('event stream ended');
      } catch (err) {
        if (this.#stopped) return;
        // Keep serving the last configuration: emit nothing, retry.
        // Warn once per outage; the retries that follow are debug noise.
        const hint = socketAccessHint(err, this.#client.endpoint);
        const fields = { endpoint: this.#client.endpoint, error: err, retryMs: delay, ...(hint === undefined ? {} : { hint }) };
        if (delay === min) this.#logger?.warn('docker: daemon unavailable, keeping the last configuration', fields);
        else this.#logger?.debug('docker: daemon still unavailable', fields);
        lost = true;
        firstDone();
        await this.#wait(delay);
        delay = Math.min(delay * 2, max);
      }
    }
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#sleep = {
        timer: setTimeout(() => {
          this.#sleep = null;
          resolve();
        }, ms),
        resolve,
      };
    });
  }

  async #fullSync(): Promise<void> {
    this.#syncing = true;
    // Events seen before the listing are reflected by it; later ones stay dirty and are re-inspected.
    this.#dirty.clear();
    try {
      const list = await this.#client.listContainers();
      const inspected = await mapLimit(list, 8, (c) => this.#client.inspectContainer(c.Id));
      const next = new Map<string, ContainerInspect>();
      for (const c of inspected) if (c !== null) next.set(c.Id, c);
      this.#containers = next;
      for (const id of this.#stopping) if (!next.has(id)) this.#stopping.delete(id);
      this.#emitNow();
      this.loaded.mark();
    } finally {
      this.#syncing = false;
    }
    if (this.#dirty.size > 0) this.#schedule();
  }

  #onEvent(e: DockerEvent): void {
    if ((e.Type ?? 'container') !== 'container') return;
    const id = e.Actor?.ID ?? e.id;
    const action = (e.Action ?? e.status ?? '').split(':')[0]!.trim();
    if (!id || !ACTIONS.has(action)) return;
    switch (action) {
      case 'kill': {
        const sig = e.Actor?.Attributes?.['signal'];
        if (sig === undefined || TERMINATING.has(sig.toUpperCase())) this.#stopping.add(id);
        break;
      }
      case 'stop':
        this.#stopping.add(id);
        break;
      case 'die':
      case 'destroy':
        // A dead container takes no traffic: drop it without asking the daemon.
        // Still re-inspected: a listing running right now may have seen it alive.
        this.#containers.delete(id);
        if (action === 'destroy') this.#stopping.delete(id);
        break;
      case 'start':
      case 'restart':
      case 'unpause':
        this.#stopping.delete(id);
        break;
    }
    // Every event re-inspects its container (kill/stop too: cheap, and it keeps a batch that
    // arrives during a full listing from being lost).
    this.#dirty.add(id);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== null || this.#stopped) return;
    if (this.#batchStart === 0) this.#batchStart = performance.now();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#flush();
    }, this.#opts.coalesceMs ?? 10);
  }

  async #flush(): Promise<void> {
    if (this.#syncing || this.#flushing) {
      // The running sync or flush reschedules when it ends.
      await (this.#flushing ?? Promise.resolve());
      if (!this.#syncing) this.#schedule();
      return;
    }
    const ids = [...this.#dirty];
    this.#dirty.clear();
    this.#flushing = (async () => {
      try {
        const inspected = await Promise.all(ids.map((id) => this.#client.inspectContainer(id).then((c) => [id, c] as const)));
        for (const [id, c] of inspected) {
          if (c === null) this.#containers.delete(id);
          else this.#containers.set(id, c);
        }
      } catch (err) {
        // The daemon went away mid-batch: the reconnect does a full listing.
        for (const id of ids) this.#dirty.add(id);
        this.#logger?.debug('docker: inspect failed', { error: err });
      }
      if (!this.#stopped) this.#emitNow();
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
    if (this.#dirty.size > 0 && !this.#syncing) this.#schedule();
  }

  #emitNow(): void {
    const res = buildDockerConfig(this.#containers.values(), {
      exposedByDefault: this.#opts.exposedByDefault,
      domain: this.#opts.domain,
      defaultRule: this.#opts.defaultRule,
      network: this.#opts.network,
      certResolver: this.#opts.certResolver,
      constraints: this.#constraints,
      useBindPortIP: this.#opts.useBindPortIP,
      allowEmptyServices: this.#opts.allowEmptyServices,
      stopping: this.#stopping,
    });
    const errorsKey = JSON.stringify(res.errors);
    if (errorsKey !== this.#lastErrors) {
      for (const e of res.errors) this.#logger?.warn(e.message, { source: e.source, path: e.path });
      this.#lastErrors = errorsKey;
    }
    if (this.#batchStart !== 0) {
      this.#logger?.debug('docker: configuration rebuilt', { afterEventMs: Math.round(performance.now() - this.#batchStart), containers: this.#containers.size });
      this.#batchStart = 0;
    }
    this.#emit?.({ provider: this.name, config: res.config, errors: res.errors });
  }
}

/** mapLimit maps with at most `limit` calls in flight (inspecting 200 containers at once would queue on one socket anyway). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
