/**
 * Readiness is what /ping reports: not ready (503) until this replica has loaded its first complete
 * configuration from every enabled provider and serves it, so that a load balancer, an
 * orchestrator's health check or a rolling update sends a new replica no traffic it cannot route
 * yet. Once ready it stays ready: a provider that loses its source later keeps its last
 * configuration serving, which is the behaviour to keep, not a reason to leave the rotation.
 *
 * Ready means, in order:
 *  1. every provider's `loaded` is done (its first whole configuration was emitted);
 *  2. the watcher has applied every configuration emitted so far (applied at once, not after the
 *     reload throttle). This process listens by then (with --workers, the primary serves too).
 */
import type { Logger } from '../observability/logger.js';
import type { Loaded } from '../providers/first-load.js';

export interface ReadinessDeps {
  providers: ReadonlyArray<{ readonly name: string; readonly loaded: Loaded }>;
  /** Applies every configuration the providers emitted; returns the snapshot version, or null when the build failed. */
  applyAll: () => number | null;
  /** Called with a callback for every new snapshot (to retry after a failed build). */
  onSnapshot: (fn: () => void) => void;
  logger: Logger;
}

export class Readiness {
  #deps: ReadinessDeps;
  #version: number | null = null;
  #ready = false;

  constructor(deps: ReadinessDeps) {
    this.#deps = deps;
  }

  /** start waits (in the background) for every provider's first load. */
  start(): void {
    void Promise.all(this.#deps.providers.map((p) => p.loaded.promise)).then(() => this.#providersLoaded());
  }

  #providersLoaded(): void {
    const v = this.#deps.applyAll();
    if (v === null) {
      // The build failed and the previous snapshot serves: try again with the next one that builds.
      this.#deps.onSnapshot(() => {
        if (this.#version !== null) return;
        const again = this.#deps.applyAll();
        if (again === null) return;
        this.#version = again;
        this.#check();
      });
      return;
    }
    this.#version = v;
    this.#check();
  }

  #check(): void {
    if (this.#ready || this.#version === null) return;
    this.#ready = true;
    // performance.now() counts from the process's start: how long a new replica took to be routable.
    this.#deps.logger.info('gantry ready', { version: this.#version, sinceStartMs: Math.round(performance.now()) });
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** waiting names what readiness still waits for (empty when ready). */
  waiting(): string[] {
    if (this.#ready) return [];
    const providers = this.#deps.providers.filter((p) => !p.loaded.done).map((p) => `provider ${p.name}`);
    if (providers.length > 0) return providers;
    return ['the first configuration to be applied'];
  }
}
