/**
 * Test helpers: build a MatchRequest from a URL the way Gantry's proxy must (canonicalHost,
 * routingPath), so that tables ported from Traefik read like Traefik's.
 */
import { canonicalHost, routingPath, type MatchRequest } from './request.js';

export interface RequestOverrides {
  method?: string;
  headers?: Record<string, string | string[]>;
  clientIP?: string;
}

/** requestFromURL splits "http://host:port/path?query" into a MatchRequest. */
export function requestFromURL(url: string, o: RequestOverrides = {}): MatchRequest {
  const rest = url.replace(/^[a-z]+:\/\//, '');
  let authEnd = rest.length;
  for (const c of ['/', '?']) {
    const k = rest.indexOf(c);
    if (k >= 0 && k < authEnd) authEnd = k;
  }
  // IPv6 literals in these tables are written without brackets (http://10::10/foo), as in Traefik's.
  const authority = rest.slice(0, authEnd);
  const target = rest.slice(authEnd) || '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const path = routingPath(rawPath || '/');
  if (path === null) throw new Error(`invalid path in ${url}`);
  return {
    host: canonicalHost(authority),
    path,
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    query: q < 0 ? '' : target.slice(q + 1),
    clientIP: o.clientIP ?? '192.0.2.1',
  };
}
