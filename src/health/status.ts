/**
 * serverStatus is the health of a server as the API shows it (Traefik's `serverStatus` map): UP
 * when the balancer may pick it — healthy by the active check, not ejected by passive checks and
 * not draining — DOWN otherwise.
 */
import type { UpstreamServer } from '../upstreams/server.js';

export type ServerStatus = 'UP' | 'DOWN';

export function serverStatus(server: UpstreamServer, now: number = Date.now()): ServerStatus {
  return server.available(now) ? 'UP' : 'DOWN';
}

/** serverStatusMap returns `{ url: status }` for a list of servers, for the API's service view. */
export function serverStatusMap(servers: Iterable<UpstreamServer>, now: number = Date.now()): Record<string, ServerStatus> {
  const out: Record<string, ServerStatus> = {};
  for (const s of servers) out[s.url] = serverStatus(s, now);
  return out;
}
