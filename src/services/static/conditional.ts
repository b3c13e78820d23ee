/**
 * Validators, conditional requests and byte ranges for the static-files service
 * (RFC 9110 §8.8 validators, §13 conditional requests, §14 range requests).
 */

/** weakETag derives a weak entity tag from size and modification time, as nginx and send do. */
export function weakETag(size: number, mtimeMs: number): string {
  return `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

/**
 * etagMatches applies the weak comparison If-None-Match requires (RFC 9110 §13.1.2): `*` matches,
 * otherwise any listed tag whose opaque part equals ours, with or without `W/`.
 */
export function etagMatches(header: string, etag: string): boolean {
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  const parts = header.split(',');
  for (let i = 0; i < parts.length; i++) {
    let t = parts[i]!.trim();
    if (t === '*') return true;
    if (t.startsWith('W/')) t = t.slice(2);
    if (t === opaque) return true;
  }
  return false;
}

/**
 * notModified decides a 304 for GET/HEAD. If-None-Match wins; If-Modified-Since is only looked at
 * when there is none (RFC 9110 §13.2.2). Last-Modified has one-second resolution, so the file's
 * mtime is truncated to the second before comparing.
 */
export function notModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, etag: string, mtimeMs: number): boolean {
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, etag);
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/**
 * ifRangeAllows tells whether a Range may be honoured given If-Range (RFC 9110 §13.1.5). If-Range
 * needs a strong comparison and our entity tags are weak, so an entity tag never matches and the
 * full representation is sent; a date matches when it equals Last-Modified.
 */
export function ifRangeAllows(ifRange: string | undefined, lastModified: string): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && t === Date.parse(lastModified);
}

/** ByteRange is an inclusive range of byte offsets, as Content-Range writes it. */
export interface ByteRange {
  start: number;
  end: number;
}

/** UNSATISFIABLE is parseRange's answer for a valid range that lies outside the file (→ 416). */
export const UNSATISFIABLE = 'unsatisfiable';

const DIGITS = /^[0-9]+$/;

/**
 * parseRange reads a Range header for a file of `size` bytes. It returns the one range to send,
 * UNSATISFIABLE, or null when the header is to be ignored and the whole file sent with 200:
 * another unit, bad syntax, or several ranges (multipart/byteranges is not implemented; RFC 9110
 * §14.2 lets a server ignore Range).
 */
export function parseRange(header: string, size: number): ByteRange | typeof UNSATISFIABLE | null {
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'bytes=') return null;
  const spec = header.slice(6).trim();
  if (spec.indexOf(',') !== -1) return null;
  const dash = spec.indexOf('-');
  if (dash === -1) return null;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first === '') {
    // Suffix range: the last N bytes.
    if (!DIGITS.test(last)) return null;
    const n = Number(last);
    if (n === 0 || size === 0) return UNSATISFIABLE;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  if (!DIGITS.test(first)) return null;
  const start = Number(first);
  let end = size - 1;
  if (last !== '') {
    if (!DIGITS.test(last)) return null;
    const e = Number(last);
    if (e < start) return null; // invalid per §14.1.1, so ignored
    if (e < end) end = e;
  }
  if (start >= size) return UNSATISFIABLE;
  return { start, end };
}
