/**
 * A small, strict HTTP/1.1 response-head parser: the status line and the header fields, and from
 * them where the body ends (RFC 9112 §6.3). It parses just enough for a proxy: header names are
 * lower-cased, repeated fields become arrays (as undici hands them to a dispatch handler), and
 * anything ambiguous about framing is an error rather than a guess (a response that carries both
 * Content-Length and Transfer-Encoding, differing Content-Lengths, obs-fold, bare CR or LF).
 */

/** How the response body is delimited. */
export const enum Framing {
  /** No body: HEAD, 1xx, 204, 304, or Content-Length: 0. */
  None = 0,
  /** Content-Length bytes. */
  Length = 1,
  /** Transfer-Encoding: chunked. */
  Chunked = 2,
  /** Until the server closes the connection. */
  Close = 3,
}

export type ResponseHeaderValues = Record<string, string | string[]>;

export interface ResponseHead {
  status: number;
  reason: string;
  headers: ResponseHeaderValues;
  framing: Framing;
  /** Content-Length when framing is Length. */
  length: number;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** Server's keep-alive timeout hint in ms (`Keep-Alive: timeout=N`), or 0. */
  keepAliveHintMs: number;
  /**
   * With `forward`: the field lines to pass on to a client as they came (case kept, CRLF after
   * each), without the hop-by-hop fields and those the Connection header lists; else ''.
   */
  fields: string;
  /** The head has a Date field / a Content-Length field. */
  hasDate: boolean;
  hasLength: boolean;
}

/** Hop-by-hop response fields (RFC 9110 §7.6.1), not passed on. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/**
 * isHopByHop is HOP_BY_HOP.has for the hot path: a name sliced from each response is a new string,
 * and a Set lookup first hashes it; comparing with the constants costs less.
 */
function isHopByHop(name: string): boolean {
  switch (name) {
    case 'connection':
    case 'proxy-connection':
    case 'keep-alive':
    case 'proxy-authenticate':
    case 'te':
    case 'trailer':
    case 'transfer-encoding':
    case 'upgrade':
      return true;
    default:
      return false;
  }
}
/**
 * Name lengths worth lower-casing when no header object is built: the hop-by-hop fields, the
 * framing fields and Date. Lower-casing every name (and keying an object by it) is most of the
 * cost of a head.
 */
const NOTABLE_LENGTH = new Uint8Array(32);
for (const n of [...HOP_BY_HOP, 'content-length', 'date']) NOTABLE_LENGTH[n.length] = 1;
const EMPTY_HEADERS: ResponseHeaderValues = Object.freeze({}) as ResponseHeaderValues;

/** ParseError is an upstream response Gantry will not pass on (answered with 502). */
export class ParseError extends Error {
  readonly code: string;
  constructor(message: string, code = 'HPE_INVALID_RESPONSE') {
    super(message);
    this.code = code;
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A CR not followed by LF, an LF not preceded by CR, or NUL. */
const BAD_LINE_BREAK = /\r(?!\n)|(?<!\r)\n|\0/;
/** isDigits: 1 to 15 ASCII digits (a regexp test costs more than this loop for such short values). */
function isDigits(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
/**
 * The whole field block in one native pass: `name:value` lines with token names, values without
 * CR, LF or NUL, joined by CRLF. Per-character loops in JS cost several ns a byte; this is the hot
 * path of every response. Only when it fails does diagnose() look closer, to name the fault.
 */
const FIELD_LINES = /(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\0]*(?:\r\n|$))*$/y;

/** diagnose throws the specific error for a field block FIELD_LINES refused. */
function diagnose(text: string, pos: number): never {
  if (BAD_LINE_BREAK.test(text)) throw new ParseError('invalid line break in response head');
  while (pos < text.length) {
    const eol = text.indexOf('\r\n', pos);
    const end = eol < 0 ? text.length : eol;
    const c = text.charCodeAt(pos);
    if (c === 32 || c === 9) throw new ParseError('obsolete line folding in response head');
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon >= end || colon === pos) throw new ParseError('invalid header line');
    if (!TOKEN.test(text.slice(pos, colon))) throw new ParseError('invalid header name');
    pos = end + 2;
  }
  throw new ParseError('invalid header line');
}

/**
 * parseHead parses `text`, the head without its final blank line (latin1-decoded bytes up to, not
 * including, the CRLFCRLF). `method` is the request method (HEAD responses have no body). With
 * `forward`, no header object is built (`headers` is empty) and `fields` holds the lines to pass on.
 */
export function parseHead(text: string, method: string, forward = false): ResponseHead {
  let eol = text.indexOf('\r\n');
  const statusLine = eol < 0 ? text : text.slice(0, eol);
  if (statusLine.indexOf('\n') >= 0 || statusLine.indexOf('\r') >= 0 || statusLine.indexOf('\0') >= 0) throw new ParseError('invalid line break in response head');
  // HTTP/1.x SSS[ reason]
  if (statusLine.length < 12 || !statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(8) !== 32) throw new ParseError('invalid status line');
  const minor = statusLine.charCodeAt(7) - 48;
  if (minor !== 0 && minor !== 1) throw new ParseError('unsupported HTTP version');
  const c0 = statusLine.charCodeAt(9) - 48;
  const c1 = statusLine.charCodeAt(10) - 48;
  const c2 = statusLine.charCodeAt(11) - 48;
  if (c0 < 1 || c0 > 5 || c1 < 0 || c1 > 9 || c2 < 0 || c2 > 9) throw new ParseError('invalid status code');
  if (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32) throw new ParseError('invalid status line');
  const status = c0 * 100 + c1 * 10 + c2;
  const reason = statusLine.length > 13 ? statusLine.slice(13) : '';

  const headers: ResponseHeaderValues = forward ? EMPTY_HEADERS : {};
  let fields = '';
  let hasDate = false;
  let contentLength = -1;
  let te: string | null = null;
  let connection: string | null = null;
  let keepAliveHint: string | null = null;
  let pos = eol < 0 ? text.length : eol + 2;
  const fieldsStart = pos;
  FIELD_LINES.lastIndex = pos;
  if (!FIELD_LINES.test(text)) diagnose(text, pos);
  while (pos < text.length) {
    eol = text.indexOf('\r\n', pos);
    const end = eol < 0 ? text.length : eol;
    const colon = text.indexOf(':', pos);
    const nameLength = colon - pos;
    if (forward && (nameLength >= 32 || NOTABLE_LENGTH[nameLength] !== 1)) {
      fields += text.slice(pos, end) + '\r\n';
      pos = end + 2;
      continue;
    }
    const name = text.slice(pos, colon).toLowerCase();
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    if (forward) {
      if (!isHopByHop(name)) fields += text.slice(pos, end) + '\r\n';
    } else if (name !== '__proto__') {
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (typeof prev === 'string') headers[name] = [prev, value];
      else prev.push(value);
    }
    pos = end + 2;
    switch (name) {
      case 'date':
        hasDate = true;
        break;
      case 'content-length': {
        if (!isDigits(value)) throw new ParseError('invalid Content-Length');
        const n = Number(value);
        if (contentLength !== -1 && contentLength !== n) throw new ParseError('conflicting Content-Length values');
        contentLength = n;
        break;
      }
      case 'transfer-encoding':
        te = te === null ? value : `${te}, ${value}`;
        break;
      case 'connection':
        connection = connection === null ? value : `${connection}, ${value}`;
        break;
      case 'keep-alive':
        keepAliveHint = value;
        break;
    }
  }

  let keepAlive = minor === 1;
  if (connection !== null) {
    const tokens = connection.toLowerCase();
    // The usual values are answered without a regexp (each test costs ~200 ns here).
    if (tokens === 'keep-alive') keepAlive = true;
    else if (tokens === 'close') keepAlive = false;
    else {
      if (forward) fields = dropListed(text, fieldsStart, fields, tokens);
      if (/(?:^|[\s,])close(?:$|[\s,])/.test(tokens)) keepAlive = false;
      else if (minor === 0 && /(?:^|[\s,])keep-alive(?:$|[\s,])/.test(tokens)) keepAlive = true;
    }
  }
  let keepAliveHintMs = 0;
  if (keepAliveHint !== null) {
    const m = /(?:^|[\s,;])timeout\s*=\s*(\d{1,6})/i.exec(keepAliveHint);
    if (m !== null) keepAliveHintMs = Number(m[1]) * 1000;
  }

  let framing: Framing;
  let length = 0;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    framing = Framing.None;
  } else if (te !== null) {
    if (contentLength !== -1) throw new ParseError('response has both Content-Length and Transfer-Encoding');
    const codings = te.toLowerCase().split(',');
    const last = codings[codings.length - 1]!.trim();
    for (let i = 0; i < codings.length - 1; i++) if (codings[i]!.trim() === 'chunked') throw new ParseError('chunked is not the final transfer coding');
    if (last === 'chunked') framing = Framing.Chunked;
    else {
      framing = Framing.Close;
      keepAlive = false;
    }
  } else if (contentLength !== -1) {
    framing = contentLength === 0 ? Framing.None : Framing.Length;
    length = contentLength;
  } else {
    framing = Framing.Close;
    keepAlive = false;
  }
  return { status, reason, headers, framing, length, keepAlive, keepAliveHintMs, fields, hasDate, hasLength: contentLength !== -1 };
}

/**
 * dropListed removes from the forwarded fields the names a Connection header lists (they are
 * hop-by-hop too). The usual values (keep-alive, close) list none and cost nothing.
 */
function dropListed(text: string, start: number, fields: string, tokens: string): string {
  let listed: Set<string> | null = null;
  for (const part of tokens.split(',')) {
    const t = part.trim();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') (listed ??= new Set()).add(t);
  }
  if (listed === null) return fields;
  let out = '';
  let pos = start;
  while (pos < text.length) {
    const eol = text.indexOf('\r\n', pos);
    const end = eol < 0 ? text.length : eol;
    const name = text.slice(pos, text.indexOf(':', pos)).toLowerCase();
    if (!HOP_BY_HOP.has(name) && !listed.has(name)) out += text.slice(pos, end) + '\r\n';
    pos = end + 2;
  }
  return out;
}
