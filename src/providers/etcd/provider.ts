/**
 * EtcdProvider reads the dynamic model from etcd keys under `rootKey`
 * (`gantry/http/routers/demo/rule`, `gantry/http/services/demo/loadbalancer/servers/0/url`), decoded
 * by the same flat-key decoder as Docker labels (Traefik's `pkg/provider/kv`), and watches them:
 * read the prefix, then watch from the revision after that read, so no change is missed. It also
 * reads Registrator's layout (`/services/<name>/<id>` = `host:port`) as an instance registry for
 * Docker Flow Proxy registrations without a port.
 *
 * Losing one member of a cluster is the client's business (deadline + retry on the next endpoint,
 * watches resume after the last delivered revision). A compacted watch re-reads its prefix.
 */
import type { Logger } from '../../observability/logger.js';
import { decodeFlat } from '../../config/labels/decode.js';
import type { Emit, Provider, ProviderError } from '../provider.js';
import type { InstanceRegistry } from '../rest/registry.js';
import { instanceUrl } from '../rest/registry.js';
import type { EtcdClient, Watch, WatchEvent } from './client.js';
import { FirstLoad } from '../first-load.js';

export interface EtcdProviderOptions {
  client: EtcdClient;
  rootKey: string;
  /** Registrator's prefix (its URI path, `etcd://host:2379/services`); null turns the registry off. */
  registratorPrefix: string | null;
}

/** The key below rootKey where the REST provider stores its state; not part of the model. */
export const REST_STATE_SUFFIX = '/_rest/state';

/** PrefixMirror keeps an up-to-date copy of every key under a prefix. */
class PrefixMirror {
  readonly prefix: string;
  readonly kvs = new Map<string, string>();
  /** Done after the first read of the prefix was handed to onChange. */
  readonly loaded = new FirstLoad();
  #client: EtcdClient;
  #watch: Watch | null = null;
  #onChange: () => void;
  #logger: Logger;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(client: EtcdClient, prefix: string, onChange: () => void, logger: Logger) {
    this.#client = client;
    this.prefix = prefix;
    this.#onChange = onChange;
    this.#logger = logger;
  }

  /** start reads the prefix once (retrying in the background if etcd is unreachable) and watches it. */
  async start(attempt = 0): Promise<void> {
    if (this.#stopped) return;
    let range;
    try {
      range = await this.#client.getPrefix(this.prefix);
    } catch (err) {
      this.#logger.error('etcd read failed; retrying', { prefix: this.prefix, error: err as Error });
      this.#timer = setTimeout(() => void this.start(attempt + 1), Math.min(250 * 2 ** attempt, 5000));
      this.#timer.unref();
      return;
    }
    if (this.#stopped) return;
    this.kvs.clear();
    for (const kv of range.kvs) this.kvs.set(kv.key, kv.value);
    this.#onChange();
    this.loaded.mark();
    this.#watch = this.#client.watchPrefix(
      this.prefix,
      range.revision + 1,
      (events) => this.#apply(events),
      (err) => {
        // Compacted past our revision: read everything again and watch from there.
        this.#logger.warn('etcd watch lost its history; reading again', { prefix: this.prefix, error: err });
        void this.start();
      },
    );
  }

  #apply(events: WatchEvent[]): void {
    for (const e of events) {
      if (e.type === 'put') this.kvs.set(e.key, e.value);
      else this.kvs.delete(e.key);
    }
    this.#onChange();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#watch?.stop();
  }
}

export class EtcdProvider implements Provider, InstanceRegistry {
  readonly name = 'etcd';
  readonly registryName: string;
  readonly client: EtcdClient;
  /** Done once the model under rootKey and the Registrator prefix were both read. */
  readonly loaded = new FirstLoad();
  #rootKey: string;
  #config: PrefixMirror | null = null;
  #registrator: PrefixMirror | null = null;
  #registratorPrefix: string | null;
  #instances = new Map<string, string[]>();
  #listeners: Array<() => void> = [];
  #emit: Emit | null = null;
  #lastKey = '';

  constructor(opts: EtcdProviderOptions) {
    this.client = opts.client;
    this.#rootKey = opts.rootKey.replace(/\/+$/, '');
    this.#registratorPrefix = opts.registratorPrefix === null ? null : '/' + opts.registratorPrefix.replace(/^\/+|\/+$/g, '');
    this.registryName = `etcd ${this.#registratorPrefix ?? '(no registrator prefix)'}`;
  }

  get restStateKey(): string {
    return this.#rootKey + REST_STATE_SUFFIX;
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#config = new PrefixMirror(this.client, this.#rootKey + '/', () => this.#publish(), logger);
    const starts = [this.#config.start()];
    if (this.#registratorPrefix !== null) {
      this.#registrator = new PrefixMirror(this.client, this.#registratorPrefix + '/', () => this.#registryChanged(), logger);
      starts.push(this.#registrator.start());
    }
    const mirrors = [this.#config, this.#registrator].filter((m): m is PrefixMirror => m !== null);
    void Promise.all(mirrors.map((m) => m.loaded.promise)).then(() => this.loaded.mark());
    await Promise.all(starts);
  }

  #publish(): void {
    if (this.#emit === null || this.#config === null) return;
    const root = this.#rootKey + '/';
    const entries: Record<string, string> = {};
    const keyOf = new Map<string, string>();
    for (const [key, value] of this.#config.kvs) {
      const rel = key.slice(root.length);
      if (rel.startsWith('_rest/')) continue;
      const flat = 'etcd.' + rel.split('/').filter((s) => s !== '').join('.');
      entries[flat] = value;
      keyOf.set(flat, key);
    }
    const decoded = decodeFlat(entries, 'etcd');
    const errors: ProviderError[] = decoded.errors.map((e) => {
      const key = e.source !== undefined ? keyOf.get(e.source) : undefined;
      if (key === undefined) return e;
      return { ...e, source: `etcd key ${key}`, message: e.message.replace(`label "${e.source}"`, `etcd key "${key}"`) };
    });
    const text = JSON.stringify(decoded);
    if (text === this.#lastKey) return;
    this.#lastKey = text;
    this.#emit({ provider: this.name, config: decoded.config, errors });
  }

  #registryChanged(): void {
    if (this.#registrator === null) return;
    const next = new Map<string, string[]>();
    const base = this.#registratorPrefix! + '/';
    for (const [key, value] of this.#registrator.kvs) {
      // `/services/<name>/<id>`; deeper keys are not Registrator's.
      const [name, id, ...rest] = key.slice(base.length).split('/');
      if (!name || !id || rest.length > 0) continue;
      const url = instanceUrl(value);
      if (url === null) continue;
      const list = next.get(name) ?? [];
      list.push(url);
      next.set(name, list);
    }
    for (const list of next.values()) list.sort();
    if (JSON.stringify([...next]) === JSON.stringify([...this.#instances])) return;
    this.#instances = next;
    for (const fn of this.#listeners) fn();
  }

  instances(service: string): string[] | null {
    const list = this.#instances.get(service);
    return list === undefined ? null : [...list];
  }

  onInstancesChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  async stop(): Promise<void> {
    this.#config?.stop();
    this.#registrator?.stop();
    await this.client.close();
  }
}
