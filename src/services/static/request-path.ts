/**
 * Turning a request path into a path relative to the static root, or refusing it. This is the
 * first of two walls against escaping the root (the second is the realpath check in index.ts).
 *
 * The request path is usually already normalised by the entrypoint (dot segments removed,
 * unreserved escapes decoded), but not every caller normalises, so everything is checked again
 * here on the decoded segments. Outcomes, kept consistent across the service:
 * - 400: malformed percent-encoding or escapes that are not UTF-8;
 * - 403: anything that tries to leave the root or smuggle a separator: a `..` segment (literal or
 *   encoded), an encoded `/` or `\`, a literal `\` (a separator on Windows), a NUL byte;
 * - 404: dotfiles and dot-directories (`.env`, `.git/config`), which exist but are never served;
 *   `.well-known` is the exception, since sites publish `security.txt` and app links there.
 * 403 is only ever decided from the path text; refusals that need the disk (a symlink out of the
 * root) are 404, see index.ts.
 */

/** PATH_MALFORMED, PATH_FORBIDDEN and PATH_HIDDEN are the statuses resolveRequestPath returns instead of a path. */
export const PATH_MALFORMED = 400;
export const PATH_FORBIDDEN = 403;
export const PATH_HIDDEN = 404;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** decodeSegment percent-decodes one segment, or returns the status refusing it. */
function decodeSegment(raw: string): string | number {
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', i + 3)) {
    const h = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
    const l = h >= 0 ? hexValue(raw.charCodeAt(i + 2)) : -1;
    if (h < 0 || l < 0) return PATH_MALFORMED;
    const byte = h * 16 + l;
    // An encoded separator would split one URL segment into two file-system segments.
    if (byte === 0 || byte === 0x2f || byte === 0x5c) return PATH_FORBIDDEN;
  }
  try {
    return decodeURIComponent(raw);
  } catch {
    return PATH_MALFORMED; // well-formed escapes that are not UTF-8
  }
}

/**
 * resolveRequestPath returns the decoded path relative to the root, starting with `/` and keeping
 * a trailing `/` when the request had one (`/docs/`), or a status (400, 403, 404) refusing it.
 * Empty and `.` segments are dropped, as normalisation would have done.
 */
export function resolveRequestPath(path: string): string | number {
  if (path.charCodeAt(0) !== 47 /* / */) return PATH_MALFORMED;
  const parts = path.split('/');
  let rel = '';
  for (let i = 1; i < parts.length; i++) {
    const raw = parts[i]!;
    if (raw === '' || raw === '.') continue;
    const seg = raw.indexOf('%') === -1 ? raw : decodeSegment(raw);
    if (typeof seg === 'number') return seg;
    if (seg === '.') continue;
    if (seg === '..') return PATH_FORBIDDEN;
    if (seg.indexOf('\\') !== -1 || seg.indexOf('\0') !== -1) return PATH_FORBIDDEN;
    if (seg.charCodeAt(0) === 46 /* . */ && seg !== '.well-known') return PATH_HIDDEN;
    rel += '/' + seg;
  }
  const last = parts[parts.length - 1]!;
  if (rel === '') return '/';
  return last === '' || last === '.' ? rel + '/' : rel;
}

/** lastSegment returns the part of a relative path after its last `/` ('' for a directory path). */
export function lastSegment(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/**
 * looksLikeFile tells a request for an asset (`/app.js`, `/logo.png`) from an application route
 * (`/users/42`): the last segment has an extension. In SPA mode only the latter fall back to
 * index.html, so a missing asset stays a 404 rather than HTML served as JavaScript.
 */
export function looksLikeFile(rel: string): boolean {
  const name = lastSegment(rel);
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1;
}
