/**
 * Content types of the static-files service, by file extension. A small fixed table (as nginx's
 * mime.types, trimmed to what web sites serve) instead of a dependency: the lookup is one Map get.
 * Text types carry `charset=utf-8`, so browsers do not guess the encoding of a page or script.
 */

/** DEFAULT_CONTENT_TYPE is sent for unknown extensions and names without one (RFC 9110 §8.3). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const UTF8 = '; charset=utf-8';

const TYPES = new Map<string, string>([
  ['html', 'text/html' + UTF8],
  ['htm', 'text/html' + UTF8],
  ['css', 'text/css' + UTF8],
  // RFC 9239 makes text/javascript the one JavaScript type, for classic scripts and modules alike.
  ['js', 'text/javascript' + UTF8],
  ['mjs', 'text/javascript' + UTF8],
  ['cjs', 'text/javascript' + UTF8],
  ['json', 'application/json' + UTF8],
  ['map', 'application/json' + UTF8],
  ['webmanifest', 'application/manifest+json' + UTF8],
  ['txt', 'text/plain' + UTF8],
  ['md', 'text/markdown' + UTF8],
  ['csv', 'text/csv' + UTF8],
  ['xml', 'application/xml' + UTF8],
  ['svg', 'image/svg+xml'],
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'],
  ['webp', 'image/webp'],
  ['avif', 'image/avif'],
  ['ico', 'image/x-icon'],
  ['bmp', 'image/bmp'],
  ['wasm', 'application/wasm'],
  ['woff', 'font/woff'],
  ['woff2', 'font/woff2'],
  ['ttf', 'font/ttf'],
  ['otf', 'font/otf'],
  ['pdf', 'application/pdf'],
  ['zip', 'application/zip'],
  ['gz', 'application/gzip'],
  ['mp4', 'video/mp4'],
  ['webm', 'video/webm'],
  ['ogv', 'video/ogg'],
  ['mp3', 'audio/mpeg'],
  ['ogg', 'audio/ogg'],
  ['wav', 'audio/wav'],
]);

/** contentTypeFor returns the Content-Type for a file name (the last path segment), by its extension. */
export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return DEFAULT_CONTENT_TYPE;
  return TYPES.get(name.slice(dot + 1).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
