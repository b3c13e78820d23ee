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
}

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
const DIGITS = /^\d{1,15}$/;

/**
 * parseHead parses `text`, the head without its final blank line (latin1-decoded bytes up to, not
 * including, the CRLFCRLF). `method` is the request method (HEAD responses have no body).
 */
export function parseHead(text: string, method: string): ResponseHead {
  if (BAD_LINE_BREAK.test(text)) throw new ParseError('invalid line break in response head');
  let eol = text.indexOf('\r\n');
  const statusLine = eol < 0 ? text : text.slice(0, eol);
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

  const headers: ResponseHeaderValues = {};
  let contentLength = -1;
  let te: string | null = null;
  let connection: string | null = null;
  let keepAliveHint: string | null = null;
  let pos = eol < 0 ? text.length : eol + 2;
  while (pos < text.length) {
    eol = text.indexOf('\r\n', pos);
    const end = eol < 0 ? text.length : eol;
    const c = text.charCodeAt(pos);
    if (c === 32 || c === 9) throw new ParseError('obsolete line folding in response head');
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon >= end || colon === pos) throw new ParseError('invalid header line');
    const rawName = text.slice(pos, colon);
    if (!TOKEN.test(rawName)) throw new ParseError('invalid header name');
    const name = rawName.toLowerCase();
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    pos = end + 2;
    if (name === '__proto__') continue;
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (typeof prev === 'string') headers[name] = [prev, value];
    else prev.push(value);
    switch (name) {
      case 'content-length': {
        if (!DIGITS.test(value)) throw new ParseError('invalid Content-Length');
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
    if (/(?:^|[\s,])close(?:$|[\s,])/.test(tokens)) keepAlive = false;
    else if (minor === 0 && /(?:^|[\s,])keep-alive(?:$|[\s,])/.test(tokens)) keepAlive = true;
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
  return { status, reason, headers, framing, length, keepAlive, keepAliveHintMs };
}
