/**
 * IP address and CIDR matching with the semantics of Traefik's pkg/ip/checker.go, which uses Go's
 * net/netip: strict parsing (no leading zeros in IPv4 fields), IPv4-mapped IPv6 addresses unmapped
 * to IPv4 before comparison, IPv6 zones ignored, and a CIDR stored as the range from its first
 * to its last address (each unmapped), compared in netip order (every IPv4 address sorts before
 * every IPv6 address).
 */

/** Addr is an address in netip order: [family, w0..w3] where family 4 uses w0 only. */
export type Addr = readonly [4 | 6, number, number, number, number];

function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

function parseV6(s: string): number[] | null {
  // Returns 8 16-bit words, or null.
  let str = s;
  const words: number[] = [];
  let tailV4: number | null = null;
  const lastColon = str.lastIndexOf(':');
  if (lastColon >= 0 && str.indexOf('.', lastColon) > 0) {
    tailV4 = parseV4(str.slice(lastColon + 1));
    if (tailV4 === null) return null;
    str = str.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = str.indexOf('::');
  if (dbl !== str.lastIndexOf('::')) return null;
  const parseGroup = (g: string): number[] | null => {
    if (g === '') return [];
    const out: number[] = [];
    for (const h of g.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return null;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parseGroup(str.slice(0, dbl));
    const tail = parseGroup(str.slice(dbl + 2));
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    const all = parseGroup(str);
    if (all === null || all.length !== 8) return null;
    words.push(...all);
  }
  if (tailV4 !== null) {
    words[6] = Math.floor(tailV4 / 65536);
    words[7] = tailV4 % 65536;
  }
  return words;
}

function fromWords(w: readonly number[]): Addr {
  return [6, w[0]! * 65536 + w[1]!, w[2]! * 65536 + w[3]!, w[4]! * 65536 + w[5]!, w[6]! * 65536 + w[7]!];
}

/** unmap turns ::ffff:a.b.c.d into a.b.c.d, as netip.Addr.Unmap does. */
function unmap(a: Addr): Addr {
  if (a[0] === 6 && a[1] === 0 && a[2] === 0 && a[3] === 0xffff) return [4, a[4], 0, 0, 0];
  return a;
}

/**
 * parseAddr parses an address as netip.ParseAddr does and returns it canonical (unmapped, zone
 * dropped), or null when Go would fail to parse it.
 */
export function parseAddr(s: string): Addr | null {
  if (s.includes(':')) {
    const pct = s.indexOf('%');
    let base = s;
    if (pct >= 0) {
      if (pct === s.length - 1) return null; // an empty zone is an error in netip
      base = s.slice(0, pct);
    }
    const w = parseV6(base);
    return w === null ? null : unmap(fromWords(w));
  }
  if (s.includes('%')) return null;
  const v = parseV4(s);
  return v === null ? null : [4, v, 0, 0, 0];
}

export function compareAddr(a: Addr, b: Addr): number {
  for (let k = 0; k < 5; k++) {
    if (a[k]! !== b[k]!) return a[k]! < b[k]! ? -1 : 1;
  }
  return 0;
}

function rangeOf(family: 4 | 6, words: number[], bits: number): [Addr, Addr] {
  // words: 1 word of 32 bits for IPv4, 4 words for IPv6.
  const start = words.slice();
  const end = words.slice();
  for (let k = 0; k < words.length; k++) {
    const lo = k * 32;
    const keep = Math.max(0, Math.min(32, bits - lo));
    const mask = keep === 0 ? 0 : keep === 32 ? 0xffffffff : (0xffffffff << (32 - keep)) >>> 0;
    start[k] = (words[k]! & mask) >>> 0;
    end[k] = (start[k]! | (~mask >>> 0)) >>> 0;
  }
  const pad = (w: number[]): Addr => (family === 4 ? [4, w[0]!, 0, 0, 0] : [6, w[0]!, w[1]!, w[2]!, w[3]!]);
  return [unmap(pad(start)), unmap(pad(end))];
}

/** IPChecker answers whether an address is one of a set of IPs and CIDRs. */
export class IPChecker {
  readonly #singles: Addr[] = [];
  readonly #ranges: Array<[Addr, Addr]> = [];

  /** The constructor throws an Error naming the first entry that is neither an IP nor a CIDR. */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const a = parseAddr(e);
      if (a !== null) {
        this.#singles.push(a);
        continue;
      }
      const slash = e.indexOf('/');
      const bitsText = slash < 0 ? '' : e.slice(slash + 1);
      const addrText = slash < 0 ? e : e.slice(0, slash);
      if (slash < 0 || !/^(0|[1-9][0-9]*)$/.test(bitsText) || addrText.includes('%')) throw new Error(`${JSON.stringify(e)} is neither an IP address nor a CIDR`);
      const bits = Number(bitsText);
      let family: 4 | 6;
      let words: number[];
      if (addrText.includes(':')) {
        const w = parseV6(addrText);
        if (w === null) throw new Error(`${JSON.stringify(e)} is neither an IP address nor a CIDR`);
        family = 6;
        words = [w[0]! * 65536 + w[1]!, w[2]! * 65536 + w[3]!, w[4]! * 65536 + w[5]!, w[6]! * 65536 + w[7]!];
      } else {
        const v = parseV4(addrText);
        if (v === null) throw new Error(`${JSON.stringify(e)} is neither an IP address nor a CIDR`);
        family = 4;
        words = [v];
      }
      if (bits > (family === 4 ? 32 : 128)) throw new Error(`${JSON.stringify(e)}: prefix length out of range`);
      const [start, end] = rangeOf(family, words, bits);
      if (compareAddr(start, end) === 0) this.#singles.push(start);
      else this.#ranges.push([start, end]);
    }
  }

  /** contains reports whether the (already parsed) address is in the set. */
  containsAddr(a: Addr): boolean {
    for (const s of this.#singles) if (compareAddr(s, a) === 0) return true;
    for (const [lo, hi] of this.#ranges) if (compareAddr(lo, a) <= 0 && compareAddr(a, hi) <= 0) return true;
    return false;
  }
}

let lastText = '';
let lastAddr: Addr | null = null;

/**
 * parseClientAddr parses a request's client IP, remembering the last answer: every ClientIP matcher
 * of every route sees the same string during one request, so it is parsed once.
 */
export function parseClientAddr(s: string): Addr | null {
  if (s === lastText) return lastAddr;
  lastText = s;
  lastAddr = s === '' ? null : parseAddr(s);
  return lastAddr;
}
