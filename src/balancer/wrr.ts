/**
 * Smooth weighted round-robin, nginx's algorithm (ngx_http_upstream_get_peer): every eligible
 * entry adds its weight to its `current`, the largest `current` wins and gives back the sum of the
 * eligible weights. It spreads a heavy server's turns evenly (weights 5/1/1 give a a b a c a a, not
 * a a a a a b c) and is exact over a period: weights 1/1/2 over 1,000 picks give 250/250/500.
 *
 * Entries that are not eligible for one pick (unavailable, excluded by a retry, weight 0) neither
 * gain nor pay for that pick, as in nginx, so the others keep their smooth sequence.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer, WeightedServer } from './types.js';
import type { RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';

/** SmoothWeighted is the algorithm's state over a fixed list of weights, shared by balancers and weighted services. */
export class SmoothWeighted {
  readonly #weights: Float64Array;
  readonly #current: Float64Array;

  constructor(weights: readonly number[]) {
    this.#weights = Float64Array.from(weights, (w) => (Number.isFinite(w) && w > 0 ? w : 0));
    this.#current = new Float64Array(weights.length);
  }

  /**
   * next returns the index of the chosen entry among those with `eligible[i] === 1` and a
   * positive weight, or -1 when there is none. Ties go to the lowest index (deterministic).
   */
  next(eligible: Uint8Array): number {
    const weights = this.#weights;
    const current = this.#current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (w === 0 || eligible[i] !== 1) continue;
      current[i]! += w;
      total += w;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    if (best !== -1) current[best]! -= total;
    return best;
  }
}

/** WrrBalancer is the default strategy: smooth weighted round-robin over available servers. */
export class WrrBalancer implements Balancer {
  readonly servers: readonly WeightedServer[];
  readonly #wrr: SmoothWeighted;
  /** Scratch mask reused by every pick; JavaScript runs one pick at a time. */
  readonly #eligible: Uint8Array;
  readonly #now: () => number;

  constructor(servers: readonly WeightedServer[], now: () => number = Date.now) {
    this.servers = servers;
    this.#wrr = new SmoothWeighted(servers.map((s) => s.weight));
    this.#eligible = new Uint8Array(servers.length);
    this.#now = now;
  }

  pick(_req: IncomingMessage | null, _res: ServerResponse | null, _ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null {
    const servers = this.servers;
    const eligible = this.#eligible;
    const now = this.#now();
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!.server;
      eligible[i] = s.available(now) && (exclude === null || !exclude.has(s)) ? 1 : 0;
    }
    const i = this.#wrr.next(eligible);
    return i === -1 ? null : servers[i]!.server;
  }
}
