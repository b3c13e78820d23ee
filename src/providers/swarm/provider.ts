/**
 * SwarmProvider routes to Swarm services by their labels. Swarm has no task events (TESTBED.md §3),
 * so it refreshes three ways: by polling every `refreshSeconds` (default 15), on `service` events
 * (create, update, remove), and on container events of task containers (those labelled
 * `com.docker.swarm.service.id`). A task's state reaches `running` a little after its container
 * starts, so an event refresh is repeated 300 ms and 1.5 s later. And while any task is on its way
 * to `running` (pending, assigned, preparing, starting…), the provider polls again with a back-off
 * of 250 ms → 5 s: its container's start event may have come before our event stream opened (a
 * Gantry started together with a stack), and no event will tell us when the task gets there.
 *
 * Like the Docker provider it keeps the last configuration when the daemon is lost, retries with
 * back-off (100 ms → 5 s), and takes a task out at once when its container is being stopped.
 *
 * It is also an InstanceRegistry: each refresh records the running tasks of every service by name
 * (buildSwarmInstances), so that a Docker Flow Proxy registration without a port is served by the
 * tasks of the Swarm service of that name, and follows its scaling without a second poller.
 */
import type { Logger } from '../../observability/logger.js';
import { DockerClient, type DockerTlsOptions } from '../docker/client.js';
import { compileConstraints, type LabelPredicate } from '../docker/constraints.js';
import type { DockerEvent } from '../docker/types.js';
import type { Emit, Provider } from '../provider.js';
import type { InstanceRegistry } from '../rest/registry.js';
import { buildSwarmConfig, buildSwarmInstances } from './build.js';
import { FirstLoad } from '../first-load.js';
import { socketAccessHint } from '../docker/access-hint.js';

export interface SwarmProviderOptions {
  /** `unix:///var/run/docker.sock` (default) or `tcp://manager:2375`; must reach a manager. */
  endpoint?: string;
  tls?: DockerTlsOptions;
  /** Timeout of each API call except the event stream, in ms (`httpClientTimeout`; 0 or absent: 10 s). */
  httpClientTimeoutMs?: number;
  exposedByDefault?: boolean;
  domain?: string;
  network?: string;
  defaultRule?: string;
  constraints?: string;
  /** Poll interval (default 15 s). */
  refreshSeconds?: number;
  /** Follow service and task-container events as well as polling (default true). */
  watch?: boolean;
  /** Route to each task's port published in host mode on its node (build.ts). */
  useBindPortIP?: boolean;
  /** Keep services with no running task, with an empty load balancer (503, not 404). */
  allowEmptyServices?: boolean;
  certResolver?: string;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

const FOLLOW_UPS_MS = [300, 1500];
/** Task states on the way to `running` (a task asked to run that has not got there yet). */
const ON_THE_WAY = new Set(['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting']);
const ON_THE_WAY_MIN_MS = 250;
const ON_THE_WAY_MAX_MS = 5000;

export class SwarmProvider implements Provider, InstanceRegistry {
  readonly name: string = 'swarm';
  readonly registryName = 'swarm tasks';
  /** Done after the first listing of services, tasks and nodes (routes and instances both). */
  readonly loaded = new FirstLoad();
  #opts: SwarmProviderOptions;
  #constraints: LabelPredicate;
  #client: DockerClient;
  #emit: Emit | null = null;
  #logger: Logger | null = null;
  #stopped = false;
  #abort = new AbortController();
  #poll: NodeJS.Timeout | null = null;
  #timers = new Set<NodeJS.Timeout>();
  #refreshing: Promise<void> | null = null;
  #again = false;
  #stopping = new Set<string>();
  #localNodeId: string | undefined;
  #loop: Promise<void> | null = null;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
  /** The poll that follows tasks on their way to `running`, and its next delay. */
  #onTheWay: NodeJS.Timeout | null = null;
  #onTheWayMs = ON_THE_WAY_MIN_MS;
  #lastErrors = '';
  #instances = new Map<string, string[]>();
  #instancesKey = '';
  #listeners: Array<() => void> = [];

  constructor(opts: SwarmProviderOptions = {}) {
    this.#opts = opts;
    this.#constraints = compileConstraints(opts.constraints);
    this.#client = new DockerClient({ endpoint: opts.endpoint, tls: opts.tls, timeoutMs: opts.httpClientTimeoutMs || undefined });
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#logger = logger.child({ provider: this.name });
    let first!: () => void;
    const firstDone = new Promise<void>((resolve) => (first = resolve));
    this.#loop = this.#run(first);
    const every = Math.max(1, this.#opts.refreshSeconds ?? 15) * 1000;
    this.#poll = setInterval(() => this.#refreshSoon(0), every);
    this.#poll.unref?.();
    await firstDone;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    if (this.#poll) clearInterval(this.#poll);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#onTheWay) clearTimeout(this.#onTheWay);
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    await this.#client.destroy().catch(() => {});
    await this.#loop?.catch(() => {});
    await this.#refreshing?.catch(() => {});
  }

  async #run(firstDone: () => void): Promise<void> {
    const min = this.#opts.backoffMinMs ?? 100;
    const max = this.#opts.backoffMaxMs ?? 5000;
    let delay = min;
    while (!this.#stopped) {
      try {
        await this.#client.negotiate();
        const info = await this.#client.info();
        if (info.Swarm?.LocalNodeState !== 'active') throw new Error(`this node is not in a swarm (state ${info.Swarm?.LocalNodeState ?? 'unknown'})`);
        this.#localNodeId = info.Swarm.NodeID;
        if (this.#opts.watch === false) {
          await this.#refresh();
          firstDone();
          return;
        }
        let opened!: () => void;
        const open = new Promise<void>((resolve) => (opened = resolve));
        const stream = this.#client.events({ type: ['service', 'container'] }, (e) => this.#onEvent(e), { signal: this.#abort.signal, onOpen: opened });
        stream.catch(() => {});
        await Promise.race([open, stream]);
        await this.#refresh();
        firstDone();
        delay = min;
        await stream;
        if (this.#stopped) return;
        throw new Error('event stream ended');
      } catch (err) {
        if (this.#stopped) return;
        // Warn once per outage; the retries that follow are debug noise.
        const hint = socketAccessHint(err, this.#client.endpoint);
        const fields = { endpoint: this.#client.endpoint, error: err, retryMs: delay, ...(hint === undefined ? {} : { hint }) };
        if (delay === min) this.#logger?.warn('swarm: daemon unavailable, keeping the last configuration', fields);
        else this.#logger?.debug('swarm: daemon still unavailable', fields);
        firstDone();
        await new Promise<void>((resolve) => {
          this.#sleep = { timer: setTimeout(resolve, delay), resolve };
        });
        this.#sleep = null;
        delay = Math.min(delay * 2, max);
      }
    }
  }

  #onEvent(e: DockerEvent): void {
    const action = (e.Action ?? e.status ?? '').split(':')[0]!.trim();
    if (e.Type === 'container') {
      // Only task containers matter here; plain containers are the Docker provider's.
      if (!e.Actor?.Attributes?.['com.docker.swarm.service.id']) return;
      const id = e.Actor?.ID ?? e.id;
      if (!id) return;
      if (action === 'kill' || action === 'stop') this.#stopping.add(id);
      else if (action === 'start' || action === 'destroy') this.#stopping.delete(id);
      else if (!['die', 'health_status', 'pause', 'unpause', 'restart'].includes(action)) return;
    } else if (e.Type !== 'service') {
      return;
    }
    this.#refreshSoon(10);
    for (const ms of FOLLOW_UPS_MS) this.#refreshSoon(ms);
  }

  #refreshSoon(ms: number): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      void this.#refresh().catch((err) => this.#logger?.debug('swarm: refresh failed', { error: err }));
    }, ms);
    this.#timers.add(t);
  }

  /** followTasksOnTheWay keeps one back-off poll going while some task is on its way to `running`. */
  #followTasksOnTheWay(any: boolean): void {
    if (!any) {
      this.#onTheWayMs = ON_THE_WAY_MIN_MS;
      return;
    }
    if (this.#onTheWay || this.#stopped) return;
    const ms = this.#onTheWayMs;
    this.#onTheWayMs = Math.min(ms * 2, ON_THE_WAY_MAX_MS);
    this.#onTheWay = setTimeout(() => {
      this.#onTheWay = null;
      void this.#refresh().catch((err) => this.#logger?.debug('swarm: refresh failed', { error: err }));
    }, ms);
    this.#onTheWay.unref?.();
  }

  /** instances returns the server URLs of the running tasks of the Swarm service `service`, or null when no such service is known. */
  instances(service: string): string[] | null {
    const urls = this.#instances.get(service);
    return urls === undefined ? null : [...urls];
  }

  onInstancesChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #setInstances(next: Map<string, string[]>): void {
    const key = JSON.stringify([...next].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    if (key === this.#instancesKey) return;
    this.#instances = next;
    this.#instancesKey = key;
    for (const fn of this.#listeners) {
      try {
        fn();
      } catch (err) {
        this.#logger?.error('swarm: instance listener failed', { error: err as Error });
      }
    }
  }

  /** refresh lists services, tasks and nodes and emits; concurrent calls collapse into one more run. */
  async #refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        const [services, tasks, nodes] = await Promise.all([
          this.#client.services(),
          this.#client.tasks({ 'desired-state': ['running'] }),
          this.#client.nodes(),
        ]);
        if (this.#stopped) return;
        const res = buildSwarmConfig(services, tasks, nodes, {
          exposedByDefault: this.#opts.exposedByDefault,
          domain: this.#opts.domain,
          defaultRule: this.#opts.defaultRule,
          network: this.#opts.network,
          certResolver: this.#opts.certResolver,
          constraints: this.#constraints,
          localNodeId: this.#localNodeId,
          stopping: this.#stopping,
          useBindPortIP: this.#opts.useBindPortIP,
          allowEmptyServices: this.#opts.allowEmptyServices,
        });
        // Forget stopping marks of tasks that are gone.
        const live = new Set(tasks.map((t) => t.Status?.ContainerStatus?.ContainerID).filter(Boolean));
        for (const id of this.#stopping) if (!live.has(id)) this.#stopping.delete(id);
        const key = JSON.stringify(res.errors);
        if (key !== this.#lastErrors) {
          for (const e of res.errors) this.#logger?.warn(e.message, { source: e.source, path: e.path });
          this.#lastErrors = key;
        }
        this.#emit?.({ provider: this.name, config: res.config, errors: res.errors });
        this.#setInstances(buildSwarmInstances(services, tasks, nodes, { network: this.#opts.network, localNodeId: this.#localNodeId, stopping: this.#stopping }));
        this.loaded.mark();
        this.#followTasksOnTheWay(tasks.some((t) => ON_THE_WAY.has(t.Status?.State ?? '')));
      } while (this.#again && !this.#stopped);
    })();
    try {
      await this.#refreshing;
    } finally {
      this.#refreshing = null;
    }
  }
}
