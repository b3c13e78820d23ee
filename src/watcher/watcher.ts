/**
 * ConfigWatcher keeps the latest whole configuration of each provider, and turns them into a new
 * Snapshot: merge → qualify → validate → compile → swap (Traefik's configuration watcher). Bursts
 * are throttled (the first change of a quiet period applies at once, later ones coalesce), an
 * unchanged configuration causes no rebuild, and a build that throws leaves the old snapshot serving.
 */
import { createHash } from 'node:crypto';
import type { ConfigMessage } from '../providers/provider.js';
import type { Logger } from '../observability/logger.js';
import { rotateRuleMemos, sweepRuleMemos } from '../router/index.js';
import { compileSnapshot, type CompileDeps } from './compile.js';
import { emptyMerged, MergeMemo, mergeConfigs } from './merge.js';
import type { Snapshot, SnapshotResources } from './snapshot.js';

export interface WatcherOptions {
  /** Minimum time between two rebuilds, in ms. */
  throttleMs: number;
  /** How long a replaced snapshot stays alive for requests that started on it, in ms. */
  retireAfterMs: number;
}

export interface ReloadStats {
  success: number;
  failure: number;
  lastSuccessMs: number;
  lastFailureMs: number;
}

export type SnapshotListener = (snapshot: Snapshot) => void;

export class ConfigWatcher {
  #deps: CompileDeps;
  #opts: WatcherOptions;
  #logger: Logger;
  #latest = new Map<string, ConfigMessage>();
  #current: Snapshot;
  #version = 0;
  #lastKey = '';
  #timer: NodeJS.Timeout | null = null;
  #lastApply = 0;
  #listeners: SnapshotListener[] = [];
  /** What the last merge validated and built, reused for the elements that did not change. */
  readonly #memo = new MergeMemo();
  readonly stats: ReloadStats = { success: 0, failure: 0, lastSuccessMs: 0, lastFailureMs: 0 };

  constructor(deps: CompileDeps, opts: WatcherOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#logger = deps.logger.child({ component: 'watcher' });
    this.#current = compileSnapshot(emptyMerged(), 0, deps);
  }

  /** current is the snapshot requests use; read it once per request. */
  get current(): Snapshot {
    return this.#current;
  }

  onSnapshot(fn: SnapshotListener): void {
    this.#listeners.push(fn);
  }

  /** push is the providers' emit: it records the provider's whole configuration. */
  readonly push = (msg: ConfigMessage): void => {
    this.#latest.set(msg.provider, msg);
    this.#schedule();
  };

  /** messages are the provider configurations the current snapshot was built from (sorted). */
  get messages(): ConfigMessage[] {
    return [...this.#latest.values()].sort((a, b) => (a.provider < b.provider ? -1 : 1));
  }

  /**
   * replaceAll sets every provider's configuration at once and applies it immediately (no
   * throttle): workers use it to apply exactly what the primary applied.
   */
  replaceAll(messages: readonly ConfigMessage[]): Snapshot {
    this.#latest = new Map(messages.map((m) => [m.provider, m]));
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    return this.applyNow();
  }

  /** remove forgets a provider (when it stops). */
  remove(provider: string): void {
    if (this.#latest.delete(provider)) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    const wait = Math.max(0, this.#lastApply + this.#opts.throttleMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.applyNow();
    }, wait);
  }

  /** upToDate: the current snapshot was built from the latest configuration of every provider. */
  get upToDate(): boolean {
    return this.#lastKey === configKey(this.messages);
  }

  /** applyNow builds and swaps a snapshot from the latest configurations (if they changed). */
  applyNow(): Snapshot {
    this.#lastApply = Date.now();
    const messages = this.messages;
    const key = configKey(messages);
    if (key === this.#lastKey) return this.#current;
    const started = performance.now();
    // Rules this apply meets again are reused; the ones only the apply before used are dropped.
    rotateRuleMemos();
    let next: Snapshot;
    try {
      next = compileSnapshot(mergeConfigs(messages, this.#memo), this.#version + 1, this.#deps);
    } catch (err) {
      sweepRuleMemos();
      this.stats.failure++;
      this.stats.lastFailureMs = Date.now();
      this.#logger.error('configuration not applied; the previous one keeps serving', { error: err as Error });
      return this.#current;
    }
    this.#lastKey = key;
    this.#version = next.version;
    const old = this.#current;
    this.#current = next;
    this.stats.success++;
    this.stats.lastSuccessMs = Date.now();
    this.#logReport(next, performance.now() - started);
    // Only the old snapshot's resources wait out the in-flight requests, not its tables.
    const resources = old.detachResources();
    if (resources !== null) setTimeout(releaseResources, this.#opts.retireAfterMs, resources).unref();
    for (const fn of this.#listeners) {
      try {
        fn(next);
      } catch (err) {
        this.#logger.error('snapshot listener failed', { error: err as Error });
      }
    }
    // The listeners (TLS, ACME) have read the rules they need: the rest of the old generation goes.
    sweepRuleMemos();
    return next;
  }

  #logReport(s: Snapshot, ms: number): void {
    const m = s.merged;
    let bad = 0;
    for (const map of [m.http.routers, m.http.services, m.http.middlewares, m.tcp.routers, m.tcp.services]) {
      for (const el of map.values()) {
        if (el.errors.length === 0) continue;
        bad++;
        this.#logger.error('configuration element disabled', { element: el.name, error: el.errors.join('; ') });
      }
    }
    for (const e of m.providerErrors) this.#logger.error('provider error', { provider: e.provider, source: e.source, path: e.path, error: e.message });
    this.#logger.info('configuration applied', {
      version: s.version,
      routers: m.http.routers.size,
      services: m.http.services.size,
      middlewares: m.http.middlewares.size,
      disabled: bad,
      buildMs: Math.round(ms * 10) / 10,
    });
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#current.retire();
  }
}

/**
 * configKey identifies what the messages say: a digest of their JSON, so that the watcher does not
 * keep a second, textual copy of a large configuration (600 KB for 10,000 routers) between applies.
 */
function configKey(messages: readonly ConfigMessage[]): string {
  return createHash('sha256').update(JSON.stringify(messages)).digest('base64');
}

function releaseResources(r: SnapshotResources): void {
  r.release();
}
