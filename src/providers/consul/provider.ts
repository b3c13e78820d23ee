/**
 * ConsulCatalogProvider builds routes from the Consul catalog, like Traefik's consulCatalog
 * provider: `/v1/catalog/services` lists the services (watched by a blocking query), and for each
 * one `/v1/health/service/<name>?passing` lists its healthy instances (one blocking query each).
 * Tags `gantry.*` (or `<prefix>.*`) are labels for the flat-key decoder; with no router tag a
 * service gets the default rule ``Host(`<normalized name>`)``. It is also an instance registry for
 * Docker Flow Proxy registrations without a port.
 *
 * With `watch: false` it polls instead: every `refreshInterval` it reads the catalog and every
 * service's passing instances, with plain (non-blocking) queries, as Traefik does by default.
 * `constraints` (``Tag(`x`)``, ``TagRegex(`x.+`)``) select the services routed by their tags.
 */
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import { buildContainerConfig } from '../../config/labels/container.js';
import { resolveServers } from '../../config/labels/servers.js';
import type { Logger } from '../../observability/logger.js';
import type { Emit, Provider, ProviderError } from '../provider.js';
import type { InstanceRegistry } from '../rest/registry.js';
import { compileTagConstraints, type TagPredicate } from '../docker/constraints.js';
import { mapLimit } from '../docker/provider.js';
import type { TlsContents } from '../tls-files.js';
import { ConsulClient, type CatalogServices, type HealthEntry } from './client.js';
import { FirstLoad } from '../first-load.js';

export interface ConsulCatalogOptions {
  address: string;
  scheme?: string;
  datacenter?: string;
  token?: string;
  /** Tag prefix (default `gantry`). */
  prefix?: string;
  exposedByDefault?: boolean;
  defaultRule?: string;
  /** Wait of each blocking query (the refresh interval), ms; without watch, the poll interval. */
  waitMs?: number;
  /** TLS to Consul (endpoint.tls). */
  tls?: TlsContents;
  /** Tag expression selecting the services to route (Traefik's consulCatalog constraints). */
  constraints?: string;
  /** Blocking queries (default true); false polls every waitMs. */
  watch?: boolean;
}

type Obj = Record<string, Record<string, Record<string, unknown>>>;

/** tagsToLabels turns `gantry.x.y=value` tags into labels; `<prefix>.` is rewritten to `gantry.`. */
export function tagsToLabels(tags: readonly string[], prefix: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf('=');
    let key = i < 0 ? t : t.slice(0, i);
    const value = i < 0 ? '' : t.slice(i + 1);
    if (prefix !== 'gantry' && key.toLowerCase().startsWith(prefix.toLowerCase() + '.')) key = 'gantry.' + key.slice(prefix.length + 1);
    labels[key] = value;
  }
  return labels;
}

/** buildConsulConfig turns services and their passing instances into one configuration. */
export function buildConsulConfig(
  services: ReadonlyMap<string, HealthEntry[]>,
  opts: { prefix: string; exposedByDefault: boolean; defaultRule: string; constraints?: TagPredicate },
): { config: DynamicConfig; errors: ProviderError[] } {
  const out: Obj = {};
  const errors: ProviderError[] = [];
  for (const name of [...services.keys()].sort()) {
    const entries = services.get(name)!;
    if (entries.length === 0) continue;
    const source = `consul service ${name}`;
    const tags = entries[0]!.Service?.Tags ?? [];
    if (opts.constraints !== undefined && !opts.constraints(tags)) continue;
    const labels = tagsToLabels(tags, opts.prefix);
    const built = buildContainerConfig({ source, name, serviceName: name, labels }, { exposedByDefault: opts.exposedByDefault, defaultRule: opts.defaultRule });
    if (!built.enabled) continue;
    errors.push(...built.errors);
    let merged: Obj | null = null;
    for (const e of entries) {
      const host = e.Service?.Address || e.Node?.Address;
      if (!host) continue;
      const copy = structuredClone(built.config) as Obj;
      const errs = resolveServers(copy as DynamicConfig, { host, port: e.Service?.Port }, `${source} instance ${e.Service?.ID ?? host}`);
      if (merged === null) {
        merged = copy;
        errors.push(...errs);
        continue;
      }
      for (const [section, kinds] of Object.entries(copy)) {
        for (const [svc, el] of Object.entries(kinds['services'] ?? {})) {
          const servers = (el as { loadBalancer?: { servers?: unknown[] } }).loadBalancer?.servers;
          const into = (merged[section]?.['services']?.[svc] as { loadBalancer?: { servers?: unknown[] } } | undefined)?.loadBalancer;
          if (servers && into?.servers) into.servers.push(...servers);
        }
      }
    }
    if (merged === null) continue;
    for (const [section, kinds] of Object.entries(merged)) {
      for (const [kind, elements] of Object.entries(kinds)) {
        for (const [el, value] of Object.entries(elements)) {
          out[section] ??= {};
          out[section]![kind] ??= {};
          if (el in out[section]![kind]!) {
            errors.push({ path: `${section}.${kind}.${el}`, source, message: `${source}: ${section}.${kind}.${el} is already defined by another Consul service; ignored` });
            continue;
          }
          out[section]![kind]![el] = value;
        }
      }
    }
  }
  return { config: out as DynamicConfig, errors };
}

export class ConsulCatalogProvider implements Provider, InstanceRegistry {
  readonly name = 'consulcatalog';
  readonly registryName = 'consul catalog';
  /** Done after the catalog and every listed service's first health answer were emitted. */
  readonly loaded = new FirstLoad();
  #client: ConsulClient;
  #opts: Required<Pick<ConsulCatalogOptions, 'prefix' | 'exposedByDefault' | 'defaultRule'>> & { constraints: TagPredicate };
  #watch: boolean;
  #waitMs: number;
  #abort = new AbortController();
  #emit: Emit | null = null;
  #logger: Logger | null = null;
  #catalog: CatalogServices = {};
  #health = new Map<string, HealthEntry[]>();
  #watchers = new Map<string, AbortController>();
  #listeners: Array<() => void> = [];
  #ready = false;

  constructor(opts: ConsulCatalogOptions) {
    this.#waitMs = opts.waitMs ?? 15_000;
    this.#watch = opts.watch ?? true;
    this.#client = new ConsulClient({ address: opts.address, scheme: opts.scheme ?? 'http', datacenter: opts.datacenter, token: opts.token, tls: opts.tls, waitMs: this.#waitMs });
    this.#opts = {
      prefix: opts.prefix ?? 'gantry',
      exposedByDefault: opts.exposedByDefault ?? true,
      defaultRule: opts.defaultRule ?? 'Host(`{{ normalize .Name }}`)',
      // Compiled now: a bad expression is a start-up error (the static configuration checks it first).
      constraints: compileTagConstraints(opts.constraints),
    };
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#logger = logger;
    // The first answers (index 0 returns at once) are awaited, bounded, so routes exist when Gantry starts.
    let first!: () => void;
    const firstDone = new Promise<void>((r) => (first = r));
    void (this.#watch ? this.#catalogLoop(first) : this.#pollLoop(first));
    await Promise.race([firstDone, new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  /** #pollLoop reads the catalog and every service's passing instances every waitMs (watch: false). */
  async #pollLoop(first: () => void): Promise<void> {
    let failures = 0;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const catalog = (await this.#client.get<CatalogServices>('/v1/catalog/services', 0, signal)).value ?? {};
        const names = Object.keys(catalog).filter((n) => n !== 'consul');
        // A few at a time: a catalog of hundreds of services must not open hundreds of connections.
        const entries = await mapLimit(names, 8, async (name) => {
          const res = await this.#client.get<HealthEntry[]>(`/v1/health/service/${encodeURIComponent(name)}`, 0, signal, { passing: '' });
          return [name, Array.isArray(res.value) ? res.value : []] as const;
        });
        this.#catalog = catalog;
        this.#health = new Map(entries);
        this.#ready = true;
        failures = 0;
        this.#publish();
        first();
        await pause(this.#waitMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        this.#logger?.warn('consul catalog poll failed; retrying', { error: err as Error, attempt: failures });
        first();
        await backoff(failures, signal);
      }
    }
  }

  async #catalogLoop(first: () => void): Promise<void> {
    let index = 0;
    let failures = 0;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const res = await this.#client.get<CatalogServices>('/v1/catalog/services', index, signal);
        failures = 0;
        index = res.index;
        this.#catalog = res.value ?? {};
        await this.#syncWatchers();
        this.#ready = true;
        this.#publish();
        this.loaded.mark();
        first();
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        index = 0;
        this.#logger?.warn('consul catalog query failed; retrying', { error: err as Error, attempt: failures });
        first();
        await backoff(failures, signal);
      }
    }
  }

  /** #syncWatchers starts a health watch per new service (awaiting its first answer) and stops the gone ones. */
  async #syncWatchers(): Promise<void> {
    const names = new Set(Object.keys(this.#catalog).filter((n) => n !== 'consul'));
    for (const [name, ctl] of this.#watchers) {
      if (names.has(name)) continue;
      ctl.abort();
      this.#watchers.delete(name);
      this.#health.delete(name);
    }
    const firsts: Promise<void>[] = [];
    for (const name of names) {
      if (this.#watchers.has(name)) continue;
      const ctl = new AbortController();
      this.#watchers.set(name, ctl);
      firsts.push(new Promise<void>((resolve) => void this.#healthLoop(name, ctl.signal, resolve)));
    }
    await Promise.all(firsts);
  }

  async #healthLoop(name: string, own: AbortSignal, first: () => void): Promise<void> {
    let index = 0;
    let failures = 0;
    const signal = AbortSignal.any([own, this.#abort.signal]);
    while (!signal.aborted) {
      try {
        const res = await this.#client.get<HealthEntry[]>(`/v1/health/service/${encodeURIComponent(name)}`, index, signal, { passing: '' });
        failures = 0;
        index = res.index;
        this.#health.set(name, Array.isArray(res.value) ? res.value : []);
        first();
        if (this.#ready) this.#publish();
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        index = 0;
        this.#logger?.warn('consul health query failed; retrying', { service: name, error: err as Error, attempt: failures });
        first();
        await backoff(failures, signal);
      }
    }
  }

  #publish(): void {
    const { config, errors } = buildConsulConfig(this.#health, this.#opts);
    this.#emit?.({ provider: this.name, config, errors });
    for (const fn of this.#listeners) fn();
  }

  instances(service: string): string[] | null {
    if (!(service in this.#catalog)) return null;
    const out: string[] = [];
    for (const e of this.#health.get(service) ?? []) {
      const host = e.Service?.Address || e.Node?.Address;
      if (host && e.Service?.Port) out.push(`http://${host.includes(':') ? `[${host}]` : host}:${e.Service.Port}`);
    }
    return out.sort();
  }

  onInstancesChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#client.close();
  }
}

function backoff(failures: number, signal: AbortSignal): Promise<void> {
  return pause(Math.min(100 * 2 ** failures, 5000), signal);
}

/** pause waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    // The listener goes with the timer: a poll loop must not pile one up per round.
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
