/**
 * RestProvider is the provider behind the write APIs (native `/api/providers/rest` and Docker Flow
 * Proxy's `/v1/docker-flow-proxy/*`). Like Traefik's `pkg/provider/rest`, it only describes the
 * world: it keeps the stored state, and emits the native configuration plus what the Docker Flow
 * Proxy registrations stand for, again whenever the storage (another replica) or a registry changes.
 */
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Emit, Provider, ProviderError } from '../provider.js';
import { buildDfpConfig } from './dfp.js';
import type { InstanceRegistry } from './registry.js';
import { emptyState, type RestState } from './state.js';
import type { Mutation, RestStorage } from './storage.js';
import { FirstLoad } from '../first-load.js';

export interface RestProviderOptions {
  storage: RestStorage;
  registries: InstanceRegistry[];
}

type Obj = Record<string, Record<string, Record<string, unknown>>>;

export class RestProvider implements Provider {
  readonly name = 'rest';
  /**
   * Done once the stored registrations were read and emitted. Those without a port are served by a
   * registry's instances (Swarm, etcd, Consul): those providers' own `loaded` covers them.
   */
  readonly loaded = new FirstLoad();
  readonly storage: RestStorage;
  readonly registries: readonly InstanceRegistry[];
  #state: RestState = emptyState();
  #emit: Emit | null = null;
  #logger: Logger | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(opts: RestProviderOptions) {
    this.storage = opts.storage;
    this.registries = opts.registries;
  }

  get state(): RestState {
    return this.#state;
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#logger = logger;
    for (const r of this.registries) r.onInstancesChange(() => this.#publish());
    await this.#load(0);
  }

  /** #load reads the stored registrations; when the store is unreachable it serves none and retries. */
  async #load(attempt: number): Promise<void> {
    try {
      this.#state = await this.storage.load();
    } catch (err) {
      this.#logger?.error('REST registrations could not be read; retrying', { storage: this.storage.description, error: err as Error });
      this.#retry = setTimeout(() => void this.#load(attempt + 1), Math.min(250 * 2 ** attempt, 5000));
      this.#retry.unref();
      this.#publish();
      return;
    }
    this.#logger?.info('REST registrations loaded', { storage: this.storage.description, dfp: Object.keys(this.#state.dfp).length });
    this.storage.watch((s) => {
      this.#state = s;
      this.#publish();
    });
    this.#publish();
    this.loaded.mark();
  }

  /** update stores a change made through the API and applies it at once. */
  async update(mutate: Mutation): Promise<RestState> {
    const next = await this.storage.update(mutate);
    this.#state = next;
    this.#publish();
    return next;
  }

  /** config is what this provider emits: the native configuration, then the registrations' (native names win). */
  config(): { config: DynamicConfig; errors: ProviderError[] } {
    const native = structuredClone(this.#state.config) as DynamicConfig;
    const dfp = buildDfpConfig(this.#state.dfp, this.registries) as Obj;
    const errors: ProviderError[] = [];
    const out = native as unknown as Obj;
    for (const [section, kinds] of Object.entries(dfp)) {
      for (const [kind, elements] of Object.entries(kinds)) {
        for (const [name, el] of Object.entries(elements)) {
          out[section] ??= {};
          out[section]![kind] ??= {};
          const target = out[section]![kind]!;
          if (name in target) {
            errors.push({ path: `${section}.${kind}.${name}`, source: 'docker-flow-proxy', message: `registration "${name}" is hidden by the native REST element of the same name` });
            continue;
          }
          target[name] = el;
        }
      }
    }
    return { config: native, errors };
  }

  #publish(): void {
    if (this.#emit === null || this.#stopped) return;
    const { config, errors } = this.config();
    this.#emit({ provider: this.name, config, errors });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    await this.storage.close();
  }
}
