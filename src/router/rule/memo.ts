/**
 * RuleMemo remembers what each rule text parsed or compiled to. One apply of a 10,000-router
 * configuration meets every rule several times: validation parses it, the route table of each
 * entrypoint compiles it, the TLS manager and the ACME resolver read its hosts. The next apply,
 * after a one-router change, meets the same 9,999 rules again. Parsed trees and compiled rules are
 * immutable and depend on the text alone, so they can be shared by every caller and snapshot.
 *
 * Two generations bound the memory: `rotateRuleMemos()` (the watcher calls it at each apply) makes
 * the current generation the previous one; a rule the next apply meets again moves back to the
 * current one, and the rest is dropped at the rotation after. What is kept is what the last two
 * applies used, which their snapshots hold anyway. A generation that reaches `limit` entries
 * rotates by itself, so callers outside the watcher cannot grow it without end.
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
}

/** rotateRuleMemos starts a new generation in every memo: call it once per configuration apply. */
export function rotateRuleMemos(): void {
  for (const m of memos) m.rotate();
}
