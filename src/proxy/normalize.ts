/**
 * Path normalisation before routing (RFC 3986 §6.2.2): percent-encoded unreserved characters are
 * decoded (so `%2e%2e` becomes `..`), the remaining escapes get upper-case hex, `//` runs collapse
 * and dot segments are removed. The normalised path is both routed and forwarded, so a PathPrefix
 * rule sees exactly what the backend gets (Traefik CVE-2025-32431 and CVE-2025-66490).
 *
 * Encoded `/` (%2F), `\` (%5C) and NUL (%00) are refused by default: a backend that decodes them
 * would see a different path than the one routed. Entrypoints may allow %2F and %5C explicitly.
 */

export interface NormalizeOptions {
  allowEncodedSlash: boolean;
  allowEncodedBackslash: boolean;
}

export const defaultNormalizeOptions: NormalizeOptions = { allowEncodedSlash: false, allowEncodedBackslash: false };

/** NormalizeResult is either the path or a reason for a 400 answer. */
export type NormalizeResult = { ok: true; path: string } | { ok: false; reason: string };

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126
  );
}

/**
 * normalizePath returns the normalised form of an origin-form path (no query). The common case
 * (no '%', no '.', no '//', no '\') returns the input string unchanged without allocating.
 */
export function normalizePath(path: string, opts: NormalizeOptions = defaultNormalizeOptions): NormalizeResult {
  if (path.length === 0 || path.charCodeAt(0) !== 47 /* / */) return { ok: false, reason: 'request path must start with /' };
  let needsWork = false;
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */ || c === 92 /* \ */ || (c === 47 && prev === 47) || (c === 46 /* . */ && prev === 47)) {
      needsWork = true;
      break;
    }
    prev = c;
  }
  if (!needsWork) return { ok: true, path };

  // Pass 1: percent-decoding of unreserved characters and hex case.
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 92) return { ok: false, reason: 'backslash in request path' };
    if (c !== 37) {
      decoded += path[i];
      continue;
    }
    const h = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
    const l = h >= 0 ? hexValue(path.charCodeAt(i + 2)) : -1;
    if (h < 0 || l < 0) return { ok: false, reason: 'invalid percent-encoding in request path' };
    const byte = h * 16 + l;
    if (byte === 0) return { ok: false, reason: 'encoded NUL (%00) in request path' };
    if (byte === 0x2f && !opts.allowEncodedSlash) return { ok: false, reason: 'encoded slash (%2F) in request path' };
    if (byte === 0x5c && !opts.allowEncodedBackslash) return { ok: false, reason: 'encoded backslash (%5C) in request path' };
    if (isUnreserved(byte)) decoded += String.fromCharCode(byte);
    else decoded += '%' + HEX[h] + HEX[l];
    i += 2;
  }
  return { ok: true, path: removeDotSegments(decoded) };
}

/** removeDotSegments applies RFC 3986 §5.2.4 and also collapses empty segments (`//`). */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is '' (path starts with '/').
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else if (s === '.') {
      if (last) out.push('');
    } else if (s === '') {
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  const joined = '/' + out.join('/');
  // "/a/.." → out = [''] → "/" ; keep a single leading slash.
  return joined === '//' ? '/' : joined;
}
