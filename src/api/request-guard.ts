/**
 * RequestGuard keeps web pages from using the API through the browser of someone on the machine.
 * The API listens on loopback without credentials by default, and Docker Flow Proxy's reconfigure
 * call is a GET: a page could otherwise register a route to its own server by loading an image
 * (cross-site request forgery), or read and change everything by pointing a name it controls at
 * 127.0.0.1 (DNS rebinding). So:
 * - a request whose Host is not one the API is known by is refused. Known are IP addresses,
 *   `localhost` and `*.localhost`, single-label names (Docker service names such as `proxy`, which
 *   no outside domain can make a browser resolve), this machine's hostname, and `--api.allowedHosts`;
 * - a request that changes state (any method but GET, HEAD and OPTIONS, and Docker Flow Proxy's
 *   GET reconfigure and remove) is refused when the browser says it comes from another site
 *   (`Sec-Fetch-Site: cross-site` or `same-site`), or when its `Origin` is not the API's own.
 * Programs (curl, Docker Flow Proxy's listener, `gantry reconfigure`) send neither header and are
 * not affected.
 */
import net from 'node:net';
import os from 'node:os';
import type { IncomingMessage } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** GET endpoints that change the configuration (Docker Flow Proxy's API). */
const STATE_CHANGING_GETS = ['/v1/docker-flow-proxy/reconfigure', '/v1/docker-flow-proxy/remove'];

export class RequestGuard {
  readonly #exact = new Set<string>();
  readonly #suffixes: string[] = [];

  constructor(allowedHosts: readonly string[], hostname = os.hostname()) {
    if (hostname !== '') this.#exact.add(hostname.toLowerCase());
    for (const h of allowedHosts) {
      const name = h.trim().toLowerCase();
      if (name.startsWith('*.')) this.#suffixes.push(name.slice(1));
      else if (name !== '') this.#exact.add(name);
    }
  }

  /** refusal returns why `req` must be refused (403), or null to let it through. */
  refusal(req: IncomingMessage, pathname: string): string | null {
    const host = req.headers.host ?? '';
    if (!this.knownHost(host)) return `Host ${JSON.stringify(host)} is not a name of this API (add it to --api.allowedHosts)`;
    const method = req.method ?? 'GET';
    const changes = !SAFE_METHODS.has(method) || STATE_CHANGING_GETS.some((p) => pathname === p || pathname === p + '/');
    if (!changes) return null;
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return `a request from another site (Sec-Fetch-Site: ${site}) may not change the configuration`;
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, host)) return `a request from ${JSON.stringify(origin)} may not change the configuration`;
    return null;
  }

  /** knownHost tells whether a Host header value (with or without port) names this API. */
  knownHost(hostHeader: string): boolean {
    const name = hostName(hostHeader);
    if (name === null) return false;
    if (net.isIP(name) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    if (!name.includes('.')) return true;
    if (this.#exact.has(name)) return true;
    return this.#suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  }
}

/** hostName is the lower-case host of a Host header, without port or IPv6 brackets (null when malformed). */
function hostName(hostHeader: string): string | null {
  const h = hostHeader.trim().toLowerCase();
  if (h === '') return null;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? null : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  const name = colon < 0 ? h : h.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
