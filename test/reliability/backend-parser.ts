/**
 * A deliberately strict HTTP/1.1 request parser for the oracle's recording backend. It only reads
 * what the proxies under test forward, so it accepts exactly RFC 9112's grammar (CRLF line ends,
 * token names, no obs-fold, one framing) and names every deviation: a proxy that forwards something
 * this parser refuses has sent its upstream a request the upstream may read differently.
 */

export interface ForwardedRequest {
  method: string;
  target: string;
  version: string;
  /** Header lines as received (raw-case name, trimmed value). */
  headers: Array<[string, string]>;
  /** Values of every Host line. */
  hosts: string[];
  contentLength: string | null;
  transferEncoding: string | null;
  /** The body after chunked decoding. */
  body: Buffer;
  /** Allowed but notable: both CL and TE, repeated identical CL, chunk extensions, trailers. */
  flags: string[];
  /** The connection ends after this request (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
}

export type ParseStep =
  /** Not all there yet; once the head is complete, `head` is it (with an empty body). */
  | { kind: 'more'; headComplete: boolean; expectContinue: boolean; head: ForwardedRequest | null }
  | { kind: 'request'; request: ForwardedRequest; consumed: number }
  | { kind: 'error'; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP\/1\.([01])$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_HEAD = 64 * 1024;

/** parseRequest reads one request from the start of `buf` (latin1 bytes). */
export function parseRequest(buf: Buffer): ParseStep {
  const headEnd = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (headEnd < 0) {
    const bad = lineError(buf.toString('latin1'), false);
    if (bad !== null) return { kind: 'error', reason: bad };
    if (buf.length > MAX_HEAD) return { kind: 'error', reason: 'request head larger than 64 KiB' };
    return { kind: 'more', headComplete: false, expectContinue: false, head: null };
  }
  const text = buf.toString('latin1', 0, headEnd);
  const bad = lineError(text, true);
  if (bad !== null) return { kind: 'error', reason: bad };
  const lines = text.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) return { kind: 'error', reason: `invalid request line ${JSON.stringify(lines[0])}` };
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) return { kind: 'error', reason: `invalid header line ${JSON.stringify(line)}` };
    const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
    if (!FIELD_VALUE.test(value)) return { kind: 'error', reason: `invalid header value in ${JSON.stringify(line)}` };
    headers.push([name, value]);
  }
  const all = (n: string): string[] => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  const flags: string[] = [];
  const cls = all('content-length');
  const tes = all('transfer-encoding');
  const version = `1.${m[3]}`;
  const conn = all('connection').join(',').toLowerCase().split(',').map((t) => t.trim());
  const close = conn.includes('close') || (version === '1.0' && !conn.includes('keep-alive'));
  const base = { method: m[1]!, target: m[2]!, version, headers, hosts: all('host'), close, flags };
  const bodyStart = headEnd + 4;
  const expectContinue = all('expect').some((v) => v.toLowerCase() === '100-continue');

  if (tes.length > 0) {
    const codings = tes.join(',').split(',').map((c) => c.trim().toLowerCase());
    if (codings.at(-1) !== 'chunked') return { kind: 'error', reason: `Transfer-Encoding without final chunked: ${JSON.stringify(tes.join(', '))}` };
    if (codings.indexOf('chunked') !== codings.length - 1) return { kind: 'error', reason: 'chunked applied twice' };
    if (cls.length > 0) flags.push('CL+TE');
    const chunks = parseChunked(buf, bodyStart, flags);
    if (chunks.kind === 'error') return chunks;
    const framing = { contentLength: cls.length > 0 ? cls.join(', ') : null, transferEncoding: tes.join(', ') };
    if (chunks.kind === 'more') return { kind: 'more', headComplete: true, expectContinue, head: { ...base, ...framing, body: Buffer.alloc(0) } };
    const request = { ...base, ...framing, body: chunks.body };
    return { kind: 'request', request, consumed: chunks.end };
  }
  let length = 0;
  if (cls.length > 0) {
    if (cls.some((v) => !/^\d{1,15}$/.test(v))) return { kind: 'error', reason: `invalid Content-Length ${JSON.stringify(cls.join(', '))}` };
    if (new Set(cls.map(Number)).size > 1) return { kind: 'error', reason: `conflicting Content-Length ${JSON.stringify(cls.join(', '))}` };
    if (cls.length > 1) flags.push('repeated CL');
    length = Number(cls[0]);
  }
  const framing = { contentLength: cls.length > 0 ? cls.join(', ') : null, transferEncoding: null };
  if (buf.length < bodyStart + length) return { kind: 'more', headComplete: true, expectContinue, head: { ...base, ...framing, body: buf.subarray(bodyStart) } };
  const body = buf.subarray(bodyStart, bodyStart + length);
  return { kind: 'request', request: { ...base, ...framing, body }, consumed: bodyStart + length };
}

/** lineError finds a CR or LF that is not part of a CRLF (in a complete head, or what arrived of one). */
function lineError(text: string, complete: boolean): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 && (i === 0 || text.charCodeAt(i - 1) !== 13)) return `bare LF at byte ${i}`;
    if (c === 13 && text.charCodeAt(i + 1) !== 10 && (complete || i + 1 < text.length)) return `bare CR at byte ${i}`;
    if (c === 0) return `NUL at byte ${i}`;
  }
  return null;
}

type ChunkStep = { kind: 'more' } | { kind: 'error'; reason: string } | { kind: 'done'; body: Buffer; end: number };

/** parseChunked decodes a chunked body from `start`: size [; ext] CRLF data CRLF … 0 CRLF trailers CRLF. */
function parseChunked(buf: Buffer, start: number, flags: string[]): ChunkStep {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) return buf.length - pos > 1024 ? { kind: 'error', reason: 'chunk size line too long' } : { kind: 'more' };
    const line = buf.toString('latin1', pos, eol);
    const m = /^([0-9a-fA-F]{1,8})((?:;[\x20-\x7e\t]*)?)$/.exec(line);
    if (m === null) return { kind: 'error', reason: `invalid chunk size line ${JSON.stringify(line)}` };
    if (m[2] !== '' && !flags.includes('chunk extension')) flags.push('chunk extension');
    const size = parseInt(m[1]!, 16);
    pos = eol + 2;
    if (size === 0) break;
    if (buf.length < pos + size + 2) return { kind: 'more' };
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return { kind: 'error', reason: 'chunk data not followed by CRLF' };
    pos += size + 2;
  }
  // Trailer section: field lines up to an empty line.
  for (;;) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) return { kind: 'more' };
    const line = buf.toString('latin1', pos, eol);
    pos = eol + 2;
    if (line === '') return { kind: 'done', body: Buffer.concat(parts), end: pos };
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(line)) return { kind: 'error', reason: `invalid trailer line ${JSON.stringify(line)}` };
    if (!flags.includes('trailers')) flags.push('trailers');
  }
}
