/**
 * StickyCookie holds everything a sticky session needs, precomputed when the snapshot is built:
 * the cookie name, one opaque value per target and the complete Set-Cookie line per target. At
 * request time it only reads one cookie and compares strings.
 *
 * The value of a target is sha256(salt, service name, key) truncated to 16 hex digits, where the
 * key is the server URL (or the child service name for weighted services). It reveals no address,
 * and it is the same in every worker process and every Gantry replica, so a client keeps its
 * server whichever process answers it. The salt is empty unless the caller passes a shared secret;
 * without one, someone who knows the service name could confirm a guessed URL, nothing more.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StickyCookieConfig } from '../config/dynamic/schema.js';

/** defaultCookieName is `_gantry_` and 12 hex digits of sha256(service name), stable across processes. */
export function defaultCookieName(serviceName: string): string {
  return `_gantry_${createHash('sha256').update(serviceName).digest('hex').slice(0, 12)}`;
}

/** stickyValue is the opaque cookie value that designates `key` within `serviceName`. */
export function stickyValue(serviceName: string, key: string, secret = ''): string {
  return createHash('sha256').update(`${secret}\n${serviceName}\n${key}`).digest('hex').slice(0, 16);
}

export class StickyCookie {
  readonly name: string;
  /** Opaque values, index-aligned with the keys given to the constructor. */
  readonly values: readonly string[];
  readonly #setCookie: readonly string[];
  readonly #byValue: Map<string, number>;
  /** `name=` as searched in the Cookie header. */
  readonly #prefix: string;

  constructor(config: StickyCookieConfig, serviceName: string, keys: readonly string[], secret = '') {
    this.name = config.name !== undefined && config.name !== '' ? config.name : defaultCookieName(serviceName);
    this.#prefix = `${this.name}=`;
    const attrs = cookieAttributes(config);
    this.values = keys.map((k) => stickyValue(serviceName, k, secret));
    this.#setCookie = this.values.map((v) => `${this.name}=${v}${attrs}`);
    this.#byValue = new Map();
    this.values.forEach((v, i) => this.#byValue.set(v, i));
  }

  /** indexOf returns the target index named by the request's cookie, or -1 (no cookie, unknown value). */
  indexOf(req: IncomingMessage): number {
    const value = readCookie(req.headers.cookie, this.#prefix);
    if (value === null) return -1;
    return this.#byValue.get(value) ?? -1;
  }

  /**
   * write sets the cookie for target `index` on the response. A cookie this balancer set earlier
   * for the same request (a pick before a retry) is replaced, so the client gets one value only.
   * Nothing is written once the head is sent.
   */
  write(res: ServerResponse, index: number): void {
    if (res.headersSent) return;
    const line = this.#setCookie[index]!;
    const prev = res.getHeader('set-cookie');
    if (prev === undefined) {
      res.appendHeader('set-cookie', line);
      return;
    }
    const list = Array.isArray(prev) ? prev : [String(prev)];
    const kept = list.filter((c) => !c.startsWith(this.#prefix));
    kept.push(line);
    res.setHeader('set-cookie', kept);
  }
}

/** cookieAttributes renders the attributes after the value, with Go's net/http conventions for MaxAge. */
function cookieAttributes(c: StickyCookieConfig): string {
  let s = `; Path=${c.path !== undefined && c.path !== '' ? c.path : '/'}`;
  // Go writes Domain after Path, without a leading dot (RFC 6265 §5.2.3 ignores it anyway).
  if (c.domain !== undefined && c.domain !== '') s += `; Domain=${c.domain.replace(/^\./, '')}`;
  // As in Go's http.Cookie: 0 means no Max-Age (a session cookie), negative means delete now.
  if (c.maxAge !== undefined && c.maxAge > 0) s += `; Max-Age=${c.maxAge}`;
  else if (c.maxAge !== undefined && c.maxAge < 0) s += '; Max-Age=0';
  if (c.httpOnly === true) s += '; HttpOnly';
  if (c.secure === true) s += '; Secure';
  switch ((c.sameSite ?? '').toLowerCase()) {
    case 'none':
      s += '; SameSite=None';
      break;
    case 'lax':
      s += '; SameSite=Lax';
      break;
    case 'strict':
      s += '; SameSite=Strict';
      break;
  }
  return s;
}

/**
 * readCookie returns the value of the first cookie starting with `prefix` (`name=`) in a Cookie
 * header, or null. It scans with indexOf instead of splitting, so no array is allocated.
 */
export function readCookie(header: string | undefined, prefix: string): string | null {
  if (header === undefined || header.length === 0) return null;
  let at = 0;
  while (at < header.length) {
    // Skip the separator's spaces.
    while (at < header.length && (header.charCodeAt(at) === 32 || header.charCodeAt(at) === 9)) at++;
    let end = header.indexOf(';', at);
    if (end === -1) end = header.length;
    if (header.startsWith(prefix, at)) {
      let v = header.slice(at + prefix.length, end).trim();
      if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
      return v;
    }
    at = end + 1;
  }
  return null;
}
