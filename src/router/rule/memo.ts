/**
 * RuleMemo remembers what each rule text compiled to. One apply of a 10,000-router configuration
 * meets every rule several times: the route table of each entrypoint compiles it, the TLS manager
 * and the ACME resolver read its hosts. The next apply, after a one-router change, meets the same
 * 9,999 rules again. Compiled rules depend on the text alone and hold no state, so one can be
 * shared by every caller and snapshot.
 *
 * Generations bound the memory. The watcher calls `rotateRuleMemos()` when an apply starts: what
 * was remembered becomes the previous generation, and a rule the apply meets again moves back to
 * the current one. `sweepRuleMemos()`, when the apply is done, drops the previous generation: what
 * stays is what the last apply used, which its snapshot holds anyway. A generation that reaches
 * `limit` entries rotates by itself, so callers outside the watcher cannot grow it without end.
 * Errors are not remembered: a bad rule throws again, with its message, each time.
 */
const memos: RuleMemo<unknown>[] = [];

export class RuleMemo<V> {
  #current = new Map<string, V>();
  #previous = new Map<string, V>();
  readonly #make: (rule: string) => V;
  readonly #limit: number;

  constructor(make: (rule: string) => V, limit = 100_000) {
    this.#make = make;
    this.#limit = limit;
    memos.push(this as RuleMemo<unknown>);
  }

  get(rule: string): V {
    let v = this.#current.get(rule);
    if (v !== undefined) return v;
    v = this.#previous.get(rule) ?? this.#make(rule);
    if (this.#current.size >= this.#limit) this.rotate();
    this.#current.set(rule, v);
    return v;
  }

  /** size counts the entries of both generations (for tests). */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  rotate(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  sweep(): void {
    if (this.#previous.size > 0) this.#previous = new Map();
  }
}

/** rotateRuleMemos starts a new generation in every memo: call it when a configuration apply starts. */
export function rotateRuleMemos(): void {
  for (const m of memos) m.rotate();
}

/** sweepRuleMemos drops what the apply that just ended did not use. */
export function sweepRuleMemos(): void {
  for (const m of memos) m.sweep();
}
