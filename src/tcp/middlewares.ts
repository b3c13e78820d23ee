/**
 * TCP middlewares (Traefik's tcp `middlewares`): `ipAllowList` (and its v2 name `ipWhiteList`)
 * closes connections whose client IP is not in `sourceRange`; `inFlightConn` closes a connection
 * when its client IP already has `amount` open through the router. The client IP is the TCP
 * peer, or the source a trusted PROXY protocol header gives (as for TCP rules' ClientIP).
 * A router applies its middlewares in order before the connection reaches its service.
 */
import type { Duplex } from 'node:stream';
import * as z from '../config/zod.js';
import { IPMatcher } from '../middlewares/ip.js';
import type { Logger } from '../observability/logger.js';
import type { ProxyAddresses } from './proxy-protocol.js';
import type { TcpTarget } from './service.js';

const sourceRange = z.strictObject({ sourceRange: z.array(z.string()).min(1, 'sourceRange is empty') });

export const tcpMiddlewareSchemas = {
  ipAllowList: sourceRange,
  ipWhiteList: sourceRange,
  inFlightConn: z.strictObject({ amount: z.number().int().min(1, 'amount must be at least 1') }),
} as const;

export type TcpMiddlewareType = keyof typeof tcpMiddlewareSchemas;

/** A guard admits a connection (returning what to do when it closes, or nothing) or refuses it (false). */
interface Guard {
  admit(ip: string): (() => void) | null | false;
}

class AllowList implements Guard {
  readonly #m: IPMatcher;
  constructor(ranges: readonly string[], path: string) {
    this.#m = new IPMatcher(ranges, path);
  }
  admit(ip: string): null | false {
    return this.#m.contains(ip) ? null : false;
  }
}

class InFlight implements Guard {
  readonly #amount: number;
  readonly #open = new Map<string, number>();
  constructor(amount: number) {
    this.#amount = amount;
  }
  admit(ip: string): (() => void) | false {
    const n = this.#open.get(ip) ?? 0;
    if (n >= this.#amount) return false;
    this.#open.set(ip, n + 1);
    return () => {
      const left = (this.#open.get(ip) ?? 1) - 1;
      if (left <= 0) this.#open.delete(ip);
      else this.#open.set(ip, left);
    };
  }
}

/** buildGuard makes the guard of one validated TCP middleware; `path` names it in errors. */
export function buildGuard(config: Record<string, unknown>, path: string): Guard {
  const [type, options] = Object.entries(config)[0]!;
  if (type === 'inFlightConn') return new InFlight((options as { amount: number }).amount);
  return new AllowList((options as { sourceRange: string[] }).sourceRange, `${path}.${type}.sourceRange`);
}

/** GuardedTarget applies a router's TCP middlewares before its service. */
export class GuardedTarget implements TcpTarget {
  readonly name: string;
  readonly #inner: TcpTarget;
  readonly #guards: readonly { name: string; guard: Guard }[];
  readonly #logger: Logger;

  constructor(inner: TcpTarget, guards: readonly { name: string; guard: Guard }[], logger: Logger) {
    this.name = inner.name;
    this.#inner = inner;
    this.#guards = guards;
    this.#logger = logger;
  }

  up(): boolean {
    return this.#inner.up();
  }

  serve(client: Duplex, head: Buffer | null, addrs: ProxyAddresses, router: string): void {
    const ip = addrs.srcAddr;
    const releases: Array<() => void> = [];
    for (const { name, guard } of this.#guards) {
      const r = guard.admit(ip);
      if (r === false) {
        for (const f of releases) f();
        this.#logger.debug('tcp connection refused by middleware', { router, middleware: name, client: ip });
        client.destroy();
        return;
      }
      if (r !== null) releases.push(r);
    }
    if (releases.length > 0) client.once('close', () => releases.forEach((f) => f()));
    this.#inner.serve(client, head, addrs, router);
  }
}
