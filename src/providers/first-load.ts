/**
 * FirstLoad records that a provider has emitted the whole configuration its source held when it
 * started (Provider.loaded). Gantry's readiness waits for every provider's (api/readiness.ts): a
 * replica whose Docker listing, etcd read or REST registrations are not in yet answers /ping with
 * 503, so that a load balancer sends it nothing it cannot route yet. Later failures do not undo it:
 * a provider that loses its source keeps serving its last configuration.
 */
export interface Loaded {
  /** True once the first complete configuration was emitted. */
  readonly done: boolean;
  /** Resolves then; never rejects (a provider that cannot load keeps it pending). */
  readonly promise: Promise<void>;
}

export class FirstLoad implements Loaded {
  #done = false;
  #resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.#resolve = resolve));

  get done(): boolean {
    return this.#done;
  }

  /** mark is called right after the provider emitted a complete configuration; later calls do nothing. */
  mark(): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolve();
  }
}
