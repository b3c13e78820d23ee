/**
 * createBalancer builds the balancer of a `loadBalancer` service from its configuration. The
 * strategies are a registry (config key → factory), so adding one is one line (STYLE habit 9).
 */
import type { Balancer, WeightedServer } from './types.js';
import { WrrBalancer } from './wrr.js';
import { P2cBalancer, type RandomSource } from './p2c.js';
import { StickyBalancer } from './sticky.js';
import { HrwBalancer } from './hrw.js';
import { LeastTimeBalancer } from './leasttime.js';
import type { LoadBalancerConfig } from '../config/dynamic/schema.js';
import { ConfigError } from '../errors.js';

export { SmoothWeighted, WrrBalancer } from './wrr.js';
export { P2cBalancer, type RandomSource } from './p2c.js';
export { StickyBalancer } from './sticky.js';
export { HrwBalancer, createHrwHandler, type HrwChild } from './hrw.js';
export { LeastTimeBalancer } from './leasttime.js';
export { createFailoverHandler, type FailoverOptions } from './failover.js';
export { StickyCookie, defaultCookieName, stickyValue } from './cookie.js';
export { createWeightedHandler, type WeightedChild } from './weighted.js';
export { createMirroringHandler, type MirrorTarget, type MirroringOptions } from './mirroring.js';
export type { Balancer, WeightedServer } from './types.js';

export interface BalancerOptions {
  /** Random source for p2c (tests); Math.random by default. */
  readonly random?: RandomSource;
  /** Clock for availability checks (tests); Date.now by default. */
  readonly now?: () => number;
  /** Secret mixed into sticky cookie values; must be the same in every worker and replica. */
  readonly stickySecret?: string;
}

type StrategyFactory = (servers: readonly WeightedServer[], opts: BalancerOptions) => Balancer;

const STRATEGIES: Record<string, StrategyFactory> = {
  wrr: (servers, opts) => new WrrBalancer(servers, opts.now),
  p2c: (servers, opts) => new P2cBalancer(servers, opts.random, opts.now),
  hrw: (servers, opts) => new HrwBalancer(servers, opts.now),
  leasttime: (servers, opts) => new LeastTimeBalancer(servers, opts.now),
};

/**
 * createBalancer returns the balancer for `config.strategy` (wrr by default), wrapped in a sticky
 * cookie balancer when `config.sticky.cookie` is present (even empty: `sticky: { cookie: {} }`).
 * `servers` carry the shared UpstreamServer objects and their weights (default weight 1 is the
 * caller's job, as the config leaves it optional). It throws a ConfigError on an unknown
 * strategy, which the schema already rules out.
 */
export function createBalancer(config: LoadBalancerConfig, servers: readonly WeightedServer[], serviceName: string, opts: BalancerOptions = {}): Balancer {
  const strategy = config.strategy ?? 'wrr';
  const factory = STRATEGIES[strategy];
  if (factory === undefined) throw new ConfigError(`http.services.${serviceName}.loadBalancer.strategy`, `unknown strategy "${strategy}" (use ${Object.keys(STRATEGIES).join(', ')})`);
  const balancer = factory(servers, opts);
  const cookie = config.sticky?.cookie;
  if (cookie === undefined) return balancer;
  return new StickyBalancer(balancer, cookie, serviceName, opts.stickySecret ?? '', opts.now);
}

/** hasAvailableServer tells whether a balancer could pick a server now (for 503s and weighted services). */
export function hasAvailableServer(balancer: Balancer, now: number = Date.now()): boolean {
  for (const ws of balancer.servers) if (ws.weight > 0 && ws.server.available(now)) return true;
  return false;
}
