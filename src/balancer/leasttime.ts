/**
 * Least time (Traefik's `leasttime` strategy): the server with the lowest
 * `average time to first byte × (1 + requests in flight) / weight` wins; ties go to smooth
 * weighted round-robin among the tied servers. The average is over the server's last 100
 * answers (UpstreamServer.recordResponseTime, fed by the forwarder for services with this
 * strategy); a server not measured yet scores 0, so new servers are tried at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer, WeightedServer } from './types.js';
import type { RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';
import { SmoothWeighted } from './wrr.js';

export class LeastTimeBalancer implements Balancer {
  readonly servers: readonly WeightedServer[];
  readonly #wrr: SmoothWeighted;
  /** Scratch mask of the tied servers, reused by every pick. */
  readonly #tied: Uint8Array;
  readonly #now: () => number;

  constructor(servers: readonly WeightedServer[], now: () => number = Date.now) {
    this.servers = servers;
    this.#wrr = new SmoothWeighted(servers.map((s) => s.weight));
    this.#tied = new Uint8Array(servers.length);
    this.#now = now;
  }

  pick(_req: IncomingMessage | null, _res: ServerResponse | null, _ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null {
    const servers = this.servers;
    const tied = this.#tied;
    const now = this.#now();
    let best = Infinity;
    let count = 0;
    let only = -1;
    for (let i = 0; i < servers.length; i++) {
      const ws = servers[i]!;
      tied[i] = 0;
      if (ws.weight <= 0 || !ws.server.available(now) || (exclude !== null && exclude.has(ws.server))) continue;
      const s = (ws.server.averageResponseTime() * (1 + ws.server.inFlight)) / ws.weight;
      if (s < best) {
        best = s;
        for (let j = 0; j < i; j++) tied[j] = 0;
        count = 0;
      }
      if (s === best) {
        tied[i] = 1;
        count++;
        only = i;
      }
    }
    if (count === 0) return null;
    if (count === 1) return servers[only]!.server;
    const i = this.#wrr.next(tied);
    return i === -1 ? null : servers[i]!.server;
  }
}
