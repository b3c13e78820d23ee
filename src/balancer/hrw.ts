/**
 * Highest random weight (rendezvous hashing), Traefik's `hrw` strategy and `highestRandomWeight`
 * service: each candidate gets a score from a hash of the client IP and the candidate's name, and
 * the highest score wins. The same client keeps going to the same server (or child service) with
 * no cookie, and when a candidate goes away only its own clients move, evenly over the others.
 *
 * Weights follow weighted rendezvous hashing (score = weight / -ln(u), u the hash in (0, 1)), as
 * Traefik's does, so a weight-2 candidate gets about twice the clients of a weight-1 one. The key
 * is the client IP as the entrypoint sees it (ctx.clientIP: the TCP peer, or the source a trusted
 * PROXY protocol header gives), as Traefik's RemoteAddrStrategy. The hash is FNV-1a (32 bits),
 * finished with a mixing step so that names differing in their last characters score apart; any
 * two Gantry processes give the same answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer, WeightedServer } from './types.js';
import type { Handler, RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';
import { sendError } from '../proxy/respond.js';
import { ConfigError } from '../errors.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** fnvString continues an FNV-1a hash over the UTF-16 code units of s. */
function fnvString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** mix is murmur3's finaliser: FNV-1a alone barely moves the high bits for a change in the last bytes. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** keyHash is the hash state after the client key, shared by every candidate's score. */
export function keyHash(key: string): number {
  return fnvString(FNV_OFFSET, key);
}

/** score is the rendezvous score of the candidate `name` with `weight` for a key hash. */
export function score(keyState: number, name: string, weight: number): number {
  const h = mix(fnvString(keyState, name));
  // u in (0, 1): never 0 or 1, so the logarithm is finite and negative.
  const u = (h + 0.5) / 4294967296;
  return weight / -Math.log(u);
}

/** HrwBalancer picks among a load balancer's servers by the client IP (strategy `hrw`). */
export class HrwBalancer implements Balancer {
  readonly servers: readonly WeightedServer[];
  readonly #now: () => number;

  constructor(servers: readonly WeightedServer[], now: () => number = Date.now) {
    this.servers = servers;
    this.#now = now;
  }

  pick(_req: IncomingMessage | null, _res: ServerResponse | null, ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null {
    const servers = this.servers;
    const now = this.#now();
    const key = keyHash(ctx.clientIP);
    let best: UpstreamServer | null = null;
    let bestScore = -1;
    for (let i = 0; i < servers.length; i++) {
      const ws = servers[i]!;
      if (ws.weight <= 0 || !ws.server.available(now) || (exclude !== null && exclude.has(ws.server))) continue;
      const s = score(key, ws.server.url, ws.weight);
      if (s > bestScore) {
        bestScore = s;
        best = ws.server;
      }
    }
    return best;
  }
}

export interface HrwChild {
  /** Qualified name of the child service; it is what is hashed. */
  readonly name: string;
  readonly handler: Handler;
  readonly weight: number;
  /** Whether the child is up (its health, when it reports one); null: always. */
  readonly available: (() => boolean) | null;
}

class HrwService {
  readonly #children: readonly HrwChild[];
  readonly #name: string;

  constructor(children: readonly HrwChild[], name: string) {
    this.#children = children;
    this.#name = name;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const key = keyHash(ctx.clientIP);
    let best: HrwChild | null = null;
    let bestScore = -1;
    for (const c of this.#children) {
      if (c.weight <= 0 || (c.available !== null && !c.available())) continue;
      const s = score(key, c.name, c.weight);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (best === null) return sendError(res, ctx, 'noServer', `service ${this.#name} has no available service`);
    best.handler(req, res, ctx);
  }

  /** up tells whether some child could answer (for this service's own parents). */
  up(): boolean {
    return this.#children.some((c) => c.weight > 0 && (c.available === null || c.available()));
  }
}

/** createHrwHandler returns the handler of a `highestRandomWeight` service and its health. */
export function createHrwHandler(children: readonly HrwChild[], serviceName: string): { handler: Handler; up: () => boolean } {
  if (children.length === 0) throw new ConfigError(`http.services.${serviceName}.highestRandomWeight.services`, 'no services');
  const svc = new HrwService(children, serviceName);
  return { handler: svc.handle.bind(svc), up: svc.up.bind(svc) };
}
