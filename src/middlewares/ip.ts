/**
 * IP parsing, CIDR matching and client-IP selection shared by the middlewares that look at the
 * client address (ipAllowList, rateLimit, inFlightReq). Semantics follow Traefik's `pkg/ip`:
 * IPv4 addresses are matched as IPv4-mapped IPv6 (so `::ffff:10.0.0.1` is inside `10.0.0.0/8`),
 * and `ipStrategy` picks the address from X-Forwarded-For counted from the right (`depth`), or the
 * right-most address not in `excludedIPs`, or else the client IP the entrypoint resolved.
 */
import type { IncomingMessage } from 'node:http';
import * as z from '../config/zod.js';
import type { RequestContext } from '../proxy/context.js';
import { ConfigError } from '../errors.js';

/** ipStrategySchema is the `ipStrategy` option block, in Traefik's spelling. */
export const ipStrategySchema = z.strictObject({
  depth: z.number().int().min(0).optional(),
  excludedIPs: z.array(z.string()).optional(),
  ipv6Subnet: z.number().int().optional(),
});

export type IPStrategyOptions = z.infer<typeof ipStrategySchema>;

/**
 * parseIPInto parses an IPv4 or IPv6 address (an IPv6 zone `%eth0` is accepted and ignored) into
 * four 32-bit words of its IPv6 form; IPv4 becomes `::ffff:a.b.c.d`. It returns false when the text
 * is not an address. Writing into a caller's buffer keeps the per-request path allocation-free.
 */
export function parseIPInto(s: string, out: Uint32Array): boolean {
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s, 0, s.length);
    if (v4 < 0) return false;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = v4;
    return true;
  }
  return parseIPv6(s, out);
}

/** parseIP is parseIPInto returning a new array, or null. */
export function parseIP(s: string): Uint32Array | null {
  const out = new Uint32Array(4);
  return parseIPInto(s, out) ? out : null;
}

/** parseIPv4 returns the address as an unsigned 32-bit number, or -1. Leading zeros are refused, as Go does. */
function parseIPv4(s: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const partStart = i;
    let n = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      if (n > 255) return -1;
      i++;
    }
    const len = i - partStart;
    if (len === 0 || (len > 1 && s.charCodeAt(partStart) === 48)) return -1;
    value = value * 256 + n;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== 46 /* . */) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groupsScratch = new Uint16Array(8);

function parseIPv6(s: string, out: Uint32Array): boolean {
  let end = s.indexOf('%');
  if (end === 0) return false;
  if (end < 0) end = s.length;
  const g = groupsScratch;
  g.fill(0);
  let n = 0; // groups written
  let gap = -1; // index in groups where '::' was
  let i = 0;
  if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  } else if (s.charCodeAt(0) === 58) {
    return false;
  }
  while (i < end) {
    if (n === 8) return false;
    // An embedded IPv4 address ends the text.
    let j = i;
    let v = 0;
    let digits = 0;
    while (j < end) {
      const d = hexDigit(s.charCodeAt(j));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46 /* . */) {
      if (n > 6) return false;
      const v4 = parseIPv4(s, i, end);
      if (v4 < 0) return false;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    g[n++] = v;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single ':'
    }
  }
  if (gap >= 0) {
    if (n === 8) return false;
    const move = n - gap;
    for (let k = 0; k < move; k++) g[7 - k] = g[n - 1 - k]!;
    for (let k = gap; k < 8 - move; k++) g[k] = 0;
  } else if (n !== 8) {
    return false;
  }
  for (let k = 0; k < 4; k++) out[k] = ((g[2 * k]! << 16) | g[2 * k + 1]!) >>> 0;
  return true;
}

/** formatIP prints an address as Go's netip does: dotted IPv4 for IPv4, RFC 5952 for IPv6. */
export function formatIP(words: Uint32Array, wasV4: boolean): string {
  if (wasV4) return formatV4(words[3]!);
  const g: number[] = [];
  for (let k = 0; k < 4; k++) g.push(words[k]! >>> 16, words[k]! & 0xffff);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return `::ffff:${formatV4(words[3]!)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** maskWords zeroes every bit after the first `bits` (0–128) of an IPv6-form address, in place. */
function maskWords(words: Uint32Array, bits: number): void {
  for (let k = 0; k < 4; k++) {
    const keep = Math.max(0, Math.min(32, bits - 32 * k));
    words[k] = keep === 0 ? 0 : keep === 32 ? words[k]! : (words[k]! & (0xffffffff << (32 - keep))) >>> 0;
  }
}

/**
 * splitHost removes a port from `1.2.3.4:80` or `[::1]:80` (and the brackets from `[::1]`), as
 * Go's net.SplitHostPort does before Traefik's checker parses an address.
 */
export function splitHost(addr: string): string {
  if (addr.charCodeAt(0) === 91 /* [ */) {
    const close = addr.indexOf(']');
    return close > 0 ? addr.slice(1, close) : addr;
  }
  const colon = addr.indexOf(':');
  if (colon >= 0 && addr.indexOf(':', colon + 1) < 0) return addr.slice(0, colon);
  return addr;
}

/**
 * IPMatcher holds a list of IPs and CIDRs (v4 and v6) and tells whether an address is in one of
 * them. Host bits of a CIDR are ignored (`10.0.0.1/8` is `10.0.0.0/8`), as Go's ParseCIDR does.
 */
export class IPMatcher {
  readonly #nets: Uint32Array;
  readonly #masks: Uint32Array;
  readonly #count: number;
  readonly #scratch = new Uint32Array(4);

  /** The constructor throws a ConfigError naming `path[i]` for an entry that is neither IP nor CIDR. */
  constructor(entries: readonly string[], path = 'sourceRange') {
    this.#count = entries.length;
    this.#nets = new Uint32Array(entries.length * 4);
    this.#masks = new Uint32Array(entries.length * 4);
    const words = new Uint32Array(4);
    entries.forEach((raw, i) => {
      const entry = raw.trim();
      const slash = entry.indexOf('/');
      const addr = slash < 0 ? entry : entry.slice(0, slash);
      if (addr.indexOf('%') >= 0 || !parseIPInto(addr, words)) {
        throw new ConfigError(`${path}[${i}]`, `"${raw}" is not an IP address or CIDR`);
      }
      const isV4 = addr.indexOf(':') < 0;
      let bits = 128;
      if (slash >= 0) {
        const text = entry.slice(slash + 1);
        const max = isV4 ? 32 : 128;
        if (!/^(0|[1-9][0-9]{0,2})$/.test(text) || Number(text) > max) {
          throw new ConfigError(`${path}[${i}]`, `"${raw}" has an invalid prefix length (0-${max})`);
        }
        bits = isV4 ? 96 + Number(text) : Number(text);
      }
      const mask = new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
      maskWords(mask, bits);
      maskWords(words, bits);
      this.#nets.set(words, i * 4);
      this.#masks.set(mask, i * 4);
    });
  }

  get size(): number {
    return this.#count;
  }

  /** contains tells whether `ip` (an address without port) is in the list; unparseable text is not. */
  contains(ip: string): boolean {
    const w = this.#scratch;
    if (ip === '' || !parseIPInto(ip, w)) return false;
    return this.containsWords(w);
  }

  /** containsWords is contains for an address already parsed with parseIPInto. */
  containsWords(w: Uint32Array): boolean {
    const nets = this.#nets;
    const masks = this.#masks;
    const w0 = w[0]!;
    const w1 = w[1]!;
    const w2 = w[2]!;
    const w3 = w[3]!;
    for (let i = 0, o = 0; i < this.#count; i++, o += 4) {
      if (
        ((w0 & masks[o]!) >>> 0) === nets[o] &&
        ((w1 & masks[o + 1]!) >>> 0) === nets[o + 1] &&
        ((w2 & masks[o + 2]!) >>> 0) === nets[o + 2] &&
        ((w3 & masks[o + 3]!) >>> 0) === nets[o + 3]
      ) {
        return true;
      }
    }
    return false;
  }
}

const MODE_RESOLVED = 0;
const MODE_DEPTH = 1;
const MODE_EXCLUDED = 2;

/**
 * IPStrategy selects the client address a middleware acts on (Traefik's `ipStrategy`):
 * - `depth` > 0: the depth-th address of X-Forwarded-For counted from the right (1 = right-most),
 *   or '' when the header has fewer entries; `depth` wins over `excludedIPs`.
 * - `excludedIPs`: the right-most X-Forwarded-For address not in that list, or ''.
 * - neither: the client IP resolved by the entrypoint (ctx.clientIP).
 * `ipv6Subnet` (1–128) replaces an IPv6 address by the first address of its subnet, so one client
 * owning a /64 counts as one; it applies to `depth` and to the default mode, as in Traefik.
 */
export class IPStrategy {
  readonly #mode: number;
  readonly #depth: number;
  readonly #excluded: IPMatcher | null;
  readonly #ipv6Subnet: number;
  readonly #scratch = new Uint32Array(4);

  constructor(opts: IPStrategyOptions | undefined, path = 'ipStrategy') {
    const depth = opts?.depth ?? 0;
    const excluded = opts?.excludedIPs ?? [];
    const subnet = opts?.ipv6Subnet;
    if (depth < 0 || !Number.isInteger(depth)) throw new ConfigError(`${path}.depth`, 'must be a whole number >= 0');
    this.#depth = depth;
    this.#excluded = null;
    this.#ipv6Subnet = 0;
    if (depth > 0) {
      this.#mode = MODE_DEPTH;
    } else if (excluded.length > 0) {
      this.#mode = MODE_EXCLUDED;
      this.#excluded = new IPMatcher(excluded, `${path}.excludedIPs`);
      return; // Traefik's pool strategy ignores ipv6Subnet.
    } else {
      this.#mode = MODE_RESOLVED;
    }
    if (subnet !== undefined) {
      if (!Number.isInteger(subnet) || subnet <= 0 || subnet > 128) {
        throw new ConfigError(`${path}.ipv6Subnet`, `invalid IPv6 subnet ${subnet}: must be between 1 and 128`);
      }
      this.#ipv6Subnet = subnet;
    }
  }

  /** clientIP returns the selected address, or '' when the strategy finds none (it reads only the headers). */
  clientIP(req: Pick<IncomingMessage, 'headers'>, ctx: RequestContext): string {
    if (this.#mode === MODE_RESOLVED) return this.#subnet(ctx.clientIP);
    const xff = req.headers['x-forwarded-for'];
    const text = xff === undefined ? '' : Array.isArray(xff) ? xff.join(',') : xff;
    if (this.#mode === MODE_DEPTH) return this.#subnet(nthFromRight(text, this.#depth));
    // Excluded mode: scan from the right for the first address outside the pool.
    let end = text.length;
    for (;;) {
      const comma = end === 0 ? -1 : text.lastIndexOf(',', end - 1);
      const item = text.slice(comma + 1, end).trim();
      if (item !== '' && !this.#excluded!.contains(item)) return item;
      if (comma < 0) break;
      end = comma;
    }
    return '';
  }

  #subnet(ip: string): string {
    if (this.#ipv6Subnet === 0 || ip.indexOf(':') < 0) return ip;
    const w = this.#scratch;
    if (!parseIPInto(ip, w)) return ip;
    maskWords(w, this.#ipv6Subnet);
    return formatIP(w, false);
  }
}

/** nthFromRight returns the n-th (1-based) comma-separated item from the right, trimmed, or ''. */
function nthFromRight(text: string, n: number): string {
  let end = text.length;
  for (let k = 1; ; k++) {
    const comma = end === 0 ? -1 : text.lastIndexOf(',', end - 1);
    if (k === n) return text.slice(comma + 1, end).trim();
    if (comma < 0) return '';
    end = comma;
  }
}
