/**
 * HTTP Digest access authentication as Traefik does it (abbot/go-http-auth, RFC 7616 with MD5
 * and qop "auth" only): parsing of the Authorization header's parameters, the response hash, and
 * nonces.
 *
 * Nonces carry their own proof: an expiry and random bytes, signed with an HMAC key of this
 * process, so no table of issued nonces can be filled by unauthenticated clients. A nonce past
 * its expiry, or one this process did not sign, is answered "stale" (the client retries with a
 * fresh one without asking its user again). Replays are refused by the nonce count, which must
 * grow for each nonce; the last counts are kept for NC_TABLE_MAX nonces.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a nonce may be used before the client is asked to take a fresh one. */
export const NONCE_LIFETIME_MS = 30 * 60_000;
/** Nonces whose last count is remembered (oldest forgotten first). */
export const NC_TABLE_MAX = 4096;

export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/**
 * parseDigestParams reads `Digest k=v, k2="v 2"` into a map; null when the scheme is not Digest
 * or the parameters are malformed. Quoted values may contain escaped characters (RFC 9110 §5.6.4).
 */
export function parseDigestParams(header: string | undefined): Map<string, string> | null {
  if (header === undefined) return null;
  const sp = header.indexOf(' ');
  if (sp < 0 || header.slice(0, sp) !== 'Digest') return null;
  const out = new Map<string, string>();
  const s = header.slice(sp + 1);
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === ',' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) return null;
    const key = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (s[i] === '"') {
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
      }
      if (s[i] !== '"') return null;
      i++;
    } else {
      const end = s.indexOf(',', i);
      value = (end < 0 ? s.slice(i) : s.slice(i, end)).trim();
      i = end < 0 ? s.length : end;
    }
    if (key === '') return null;
    out.set(key, value);
  }
  return out;
}

/** Nonces issues and checks signed nonces and the per-nonce counts. */
export class Nonces {
  readonly #key = randomBytes(32);
  readonly #counts = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  issue(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(this.#now() + NONCE_LIFETIME_MS), 0);
    randomBytes(8).copy(body, 8);
    return Buffer.concat([body, this.#sign(body)]).toString('base64url');
  }

  #sign(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
  }

  /** valid tells whether this process signed the nonce and it has not expired. */
  valid(nonce: string): boolean {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32 || raw.toString('base64url') !== nonce) return false;
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.#sign(body))) return false;
    return Number(body.readBigUInt64BE(0)) > this.#now();
  }

  /** count records nonce count `nc` for a valid nonce; false when it does not grow (a replay). */
  count(nonce: string, nc: number): boolean {
    const last = this.#counts.get(nonce);
    if (last !== undefined && nc <= last) return false;
    this.#counts.delete(nonce);
    if (this.#counts.size >= NC_TABLE_MAX) this.#counts.delete(this.#counts.keys().next().value!);
    this.#counts.set(nonce, nc);
    return true;
  }
}

/** response is the expected `response` parameter for qop=auth (RFC 7616 §3.4.1, MD5). */
export function expectedResponse(ha1: string, method: string, uri: string, p: ReadonlyMap<string, string>): string {
  const ha2 = md5(`${method}:${uri}`);
  return md5([ha1, p.get('nonce') ?? '', p.get('nc') ?? '', p.get('cnonce') ?? '', p.get('qop') ?? '', ha2].join(':'));
}
