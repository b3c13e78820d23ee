/**
 * Power of two random choices (Traefik's `p2c` strategy): draw two distinct eligible servers at
 * random and take the one with fewer requests in flight. It is least-connections without the herd
 * effect of always choosing the single least loaded server, which matters with several workers
 * that each see only their own in-flight counts.
 *
 * Ties on in-flight go to the higher weight, then to the first draw (Traefik keeps the first draw;
 * the weight tie-break lets a weight still mean "prefer this one" under light load). Weight 0
 * servers are never picked, as with wrr.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer, WeightedServer } from './types.js';
import type { RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';

/** RandomSource returns a number in [0, 1), like Math.random; tests inject a fixed sequence. */
export type RandomSource = () => number;

export class P2cBalancer implements Balancer {
  readonly servers: readonly WeightedServer[];
  /** Scratch list of eligible indices reused by every pick. */
  readonly #eligible: Int32Array;
  readonly #random: RandomSource;
  readonly #now: () => number;

  constructor(servers: readonly WeightedServer[], random: RandomSource = Math.random, now: () => number = Date.now) {
    this.servers = servers;
    this.#eligible = new Int32Array(servers.length);
    this.#random = random;
    this.#now = now;
  }

  pick(_req: IncomingMessage | null, _res: ServerResponse | null, _ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null {
    const servers = this.servers;
    const eligible = this.#eligible;
    const now = this.#now();
    let n = 0;
    for (let i = 0; i < servers.length; i++) {
      const ws = servers[i]!;
      if (ws.weight > 0 && ws.server.available(now) && (exclude === null || !exclude.has(ws.server))) eligible[n++] = i;
    }
    if (n === 0) return null;
    if (n === 1) return servers[eligible[0]!]!.server;
    // The second draw is over n-1 slots, shifted past the first, so the two are always distinct.
    const n1 = Math.min(n - 1, Math.floor(this.#random() * n));
    let n2 = Math.min(n - 2, Math.floor(this.#random() * (n - 1)));
    if (n2 >= n1) n2++;
    const a = servers[eligible[n1]!]!;
    const b = servers[eligible[n2]!]!;
    if (b.server.inFlight < a.server.inFlight) return b.server;
    if (b.server.inFlight === a.server.inFlight && b.weight > a.weight) return b.server;
    return a.server;
  }
}
