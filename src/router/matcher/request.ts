/**
 * What a request looks like to the matchers, and helpers that build those fields the way Traefik
 * does, so that the same request gets the same verdict.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * MatchRequest is the part of an HTTP request that rules look at.
 * - `host`: lower-case, without port, IPv6 without brackets: use canonicalHost(req.headers.host).
 * - `path`: the routing path: use routingPath(rawPath) (percent-decoded except reserved characters).
 * - `headers`: lower-case keys. Pass `req.headersDistinct` for Go's per-line values; with
 *   `req.headers`, Node has joined repeated lines with ", " and Header() sees the joined value.
 * - `query`: raw query string without the "?".
 */
export interface MatchRequest {
  host: string;
  path: string;
  method: string;
  headers: IncomingHttpHeaders | NodeJS.Dict<string | string[]>;
  query: string;
  clientIP: string;
}

/** MatchTcpRequest is what TCP rules look at; `sni` is lower-case ('' when absent or not TLS). */
export interface MatchTcpRequest {
  sni: string;
  clientIP: string;
  alpn: readonly string[];
}

/**
 * canonicalHost turns a Host header into the host the rules see, as Traefik's request decorator
 * does (parseHost + types.CanonicalDomain): the port is dropped, IPv6 brackets are removed,
 * surrounding spaces trimmed and the result lower-cased.
 */
export function canonicalHost(hostHeader: string | undefined): string {
  if (hostHeader === undefined || hostHeader === '') return '';
  let h = hostHeader;
  if (h.includes(':')) {
    if (h.charCodeAt(0) === 91 /* [ */) {
      const close = h.indexOf(']');
      if (close > 0 && (close === h.length - 1 || h.charCodeAt(close + 1) === 58)) h = h.slice(1, close);
    } else if (h.indexOf(':') === h.lastIndexOf(':')) {
      h = h.slice(0, h.indexOf(':'));
    }
    // Several colons without brackets is not a host:port; Go's SplitHostPort fails and the value is kept.
  }
  return h.trim().toLowerCase();
}

// The percent-encodings Traefik keeps encoded in the routing path (pkg/muxer/http/mux.go
// reservedCharacters): RFC 3986 reserved characters plus "%" itself. Only the upper-case spellings
// are listed there, so "%2f" is decoded to "/" while "%2F" is kept: we do the same.
const RESERVED = new Set(['%3A', '%2F', '%3F', '%23', '%5B', '%5D', '%40', '%21', '%24', '%26', '%27', '%28', '%29', '%2A', '%2B', '%2C', '%3B', '%3D', '%25']);

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

// Characters Go's url.validEncoded accepts in a raw path (besides alphanumerics): when the raw
// path holds any other character, EscapedPath() re-escapes the decoded path instead.
const VALID_PATH_PUNCT = "!$&'()*+,;=:@[]%-_.~/";

function needsReEscape(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) continue;
    if (VALID_PATH_PUNCT.includes(raw[i]!)) continue;
    return true;
  }
  return false;
}

/** Go's url.shouldEscape(c, encodePath) for a byte. */
function shouldEscapePathByte(c: number): boolean {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return false;
  return !'-_.~$&+,/:;=@'.includes(String.fromCharCode(c));
}

/**
 * routingPath computes the path the rules match against from the raw request path (no query),
 * as Traefik's withRoutingPath does on req.URL.EscapedPath(): percent-encodings of reserved
 * characters stay encoded, the others are decoded, so PathPrefix(`/foo bar`) matches
 * "/foo%20bar" but Path(`/a/b`) does not match "/a%2Fb". It returns null for an invalid
 * percent-encoding (Go's server answers 400 before routing).
 */
export function routingPath(rawPath: string): string | null {
  if (!rawPath.includes('%') && !needsReEscape(rawPath)) return rawPath;
  const bytes = Buffer.from(rawPath, 'utf8');
  // Validate every escape first: Go rejects the request URI when any is malformed.
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 37) {
      if (i + 2 >= bytes.length || hexVal(bytes[i + 1]!) < 0 || hexVal(bytes[i + 2]!) < 0) return null;
      i += 2;
    }
  }
  let escaped: Buffer = bytes;
  if (needsReEscape(rawPath)) {
    // EscapedPath() falls back to escape(unescape(raw)): decode everything, then re-escape with Go's rules.
    const decoded: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 37) {
        decoded.push(hexVal(bytes[i + 1]!) * 16 + hexVal(bytes[i + 2]!));
        i += 2;
      } else decoded.push(bytes[i]!);
    }
    let s = '';
    for (const b of decoded) s += shouldEscapePathByte(b) ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
    escaped = Buffer.from(s, 'latin1');
  }
  const out: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const b = escaped[i]!;
    if (b !== 37) {
      out.push(b);
      continue;
    }
    const enc = String.fromCharCode(37, escaped[i + 1]!, escaped[i + 2]!);
    if (RESERVED.has(enc)) out.push(37, escaped[i + 1]!, escaped[i + 2]!);
    else out.push(hexVal(escaped[i + 1]!) * 16 + hexVal(escaped[i + 2]!));
    i += 2;
  }
  return Buffer.from(out).toString('utf8');
}

/**
 * queryUnescape decodes one query key or value as Go's url.QueryUnescape does ("+" is a space),
 * or returns null when it holds an invalid percent-encoding.
 */
export function queryUnescape(s: string): string | null {
  const pct = s.indexOf('%');
  if (pct < 0) return s.includes('+') ? s.replaceAll('+', ' ') : s;
  const bytes = Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 43) out.push(32);
    else if (b === 37) {
      if (i + 2 >= bytes.length) return null;
      const hi = hexVal(bytes[i + 1]!);
      const lo = hexVal(bytes[i + 2]!);
      if (hi < 0 || lo < 0) return null;
      out.push(hi * 16 + lo);
      i += 2;
    } else out.push(b);
  }
  return Buffer.from(out).toString('utf8');
}

/** QueryValueTest is implemented by the query matchers; it avoids a closure per request. */
export interface QueryValueTest {
  testQueryValue(value: string): boolean;
}

/**
 * queryHasValue reports whether the raw query has a parameter `key` with a value accepted by
 * `test`, parsing as Go's url.ParseQuery does: pairs split on "&"; a pair holding ";" is
 * skipped (Go 1.17+); a pair whose key or value has a bad escape is skipped.
 */
export function queryHasValue(raw: string, key: string, test: QueryValueTest): boolean {
  let start = 0;
  const n = raw.length;
  while (start <= n) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = n;
    if (end > start) {
      const eq = raw.indexOf('=', start);
      const keyEnd = eq >= 0 && eq < end ? eq : end;
      const semi = raw.indexOf(';', start);
      if (semi < 0 || semi >= end) {
        const k = queryUnescape(raw.slice(start, keyEnd));
        if (k === key) {
          const v = queryUnescape(keyEnd === end ? '' : raw.slice(keyEnd + 1, end));
          if (v !== null && test.testQueryValue(v)) return true;
        }
      }
    }
    start = end + 1;
  }
  return false;
}

/** headerValues returns the values of a header (lower-case name) as Go would see them in req.Header. */
export function headerValue(headers: MatchRequest['headers'], lowerName: string): string | string[] | undefined {
  return (headers as NodeJS.Dict<string | string[]>)[lowerName];
}
