/**
 * The fast lane's request-head parser. It accepts only the plainest HTTP/1.1 requests — a GET or
 * HEAD in origin-form, with one Host, no body, no Upgrade or Expect, no repeated header, nothing
 * Node's strict parser would refuse — and returns null for everything else, which the entrypoint
 * then hands to node:http untouched. So it never has to answer a malformed request itself: being
 * strict here only costs speed, never correctness.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { FORWARDED_HEADERS as FORWARDED } from '../../proxy/headers.js';
import type { RequestContext } from '../../proxy/context.js';
import type { FastExchange } from '../../proxy/fast-forward.js';

/**
 * The whole head in one native pass: GET, HEAD, POST, PUT, PATCH or DELETE, an origin-form target of visible ASCII,
 * HTTP/1.1, then `name:value` lines with token names and values of HTAB, SP, visible ASCII or
 * obs-text (no CR, LF, NUL or other controls), joined by CRLF. A JS loop over the bytes costs
 * several ns a byte; this costs about as much as two short searches.
 */
const PLAIN_HEAD = /^(?:GET|HEAD|POST|PUT|PATCH|DELETE) \/[\x21-\x7e]* HTTP\/1\.1(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*)*$/;


/**
 * FastRequest is a parsed request head. It offers the fields of IncomingMessage that routing rules
 * and the request observers read (method, url, httpVersion, headers, rawHeaders, headersDistinct);
 * the header objects are built only when something asks for them.
 */
export class FastRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '1.1';
  /**
   * Lower-case header names and their values, in arrival order. No name repeats as parsed; a fast
   * step may add a second line (appendHeader: stripPrefix's X-Forwarded-Prefix behind a proxy).
   */
  readonly names: string[];
  readonly values: string[];
  /** Raw-case names, for rawHeaders. */
  readonly rawNames: string[];
  /** The Host header's value. */
  readonly host: string;
  /** The client sent `Connection: close`. */
  readonly close: boolean;
  /** Some header is an X-Forwarded-* or X-Real-IP (rare: checked before stripping, and when a step sets one). */
  forwarded: boolean;
  /** The Content-Length of a POST, PUT, PATCH or DELETE (0 without one: RFC 9112 §6.3, no body). */
  readonly contentLength: number;
  /** The body, when there is one: it arrived in the same read as the head (connection.ts). */
  body: Buffer | null = null;
  // What the fast lane attaches while it serves the request. Kept here, not on the connection, so
  // that an idle keep-alive connection does not carry four empty fields (connection.ts).
  /** Its context, from when the fast lane took it. */
  context: RequestContext | null = null;
  /** The exchange serving it (the current attempt), for the socket's drain and close events. */
  exchange: FastExchange | null = null;
  /** The entrypoint's writeTimeout timer, or null. */
  writeDeadline: NodeJS.Timeout | null = null;
  /** Bytes that arrived while it was served (pipelining, or garbage): handed off afterwards. */
  pending: Buffer | null = null;
  #headers: IncomingHttpHeaders | null = null;

  constructor(method: string, url: string, names: string[], values: string[], rawNames: string[], host: string, close: boolean, forwarded: boolean, contentLength = 0) {
    this.method = method;
    this.url = url;
    this.names = names;
    this.values = values;
    this.rawNames = rawNames;
    this.host = host;
    this.close = close;
    this.forwarded = forwarded;
    this.contentLength = contentLength;
  }

  /** stripForwarded removes the forwarding headers of an untrusted peer. */
  stripForwarded(): void {
    const { names, values, rawNames } = this;
    for (let i = names.length - 1; i >= 0; i--) {
      if (FORWARDED.has(names[i]!)) {
        names.splice(i, 1);
        values.splice(i, 1);
        rawNames.splice(i, 1);
      }
    }
    this.#headers = null;
  }

  /** setHeader replaces every line of a lower-case header name with one (a fast step's change). */
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.appendHeader(name, value);
  }

  /** appendHeader adds a line, as Go's Header.Add does. */
  appendHeader(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
    this.rawNames.push(name);
    if (FORWARDED.has(name)) this.forwarded = true;
    this.#headers = null;
  }

  /** removeHeader removes every line of a lower-case header name. */
  removeHeader(name: string): void {
    const { names, values, rawNames } = this;
    for (let i = names.length - 1; i >= 0; i--) {
      if (names[i] === name) {
        names.splice(i, 1);
        values.splice(i, 1);
        rawNames.splice(i, 1);
      }
    }
    this.#headers = null;
  }

  /** header returns the value of a lower-case header name, or undefined. */
  header(name: string): string | undefined {
    const i = this.names.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  get headers(): IncomingHttpHeaders {
    if (this.#headers === null) {
      const h: IncomingHttpHeaders = {};
      for (let i = 0; i < this.names.length; i++) {
        const name = this.names[i]!;
        const prev = h[name];
        // A line a step appended joins the first, as node:http keeps repeated fields (an array).
        h[name] = prev === undefined ? this.values[i]! : ([] as string[]).concat(prev, this.values[i]!);
      }
      this.#headers = h;
    }
    return this.#headers;
  }

  get headersDistinct(): NodeJS.Dict<string[]> {
    const h: NodeJS.Dict<string[]> = {};
    for (let i = 0; i < this.names.length; i++) (h[this.names[i]!] ??= []).push(this.values[i]!);
    return h;
  }

  get rawHeaders(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) out.push(this.rawNames[i]!, this.values[i]!);
    return out;
  }
}

/**
 * parseFastHead parses `text`, a request head without its final CRLFCRLF (latin1-decoded). It
 * returns null when the request is not one the fast lane serves.
 */
export function parseFastHead(text: string): FastRequest | null {
  if (!PLAIN_HEAD.test(text)) return null;
  const method = methodOf(text);
  const bodyless = method === 'GET' || method === 'HEAD';
  let contentLength = 0;
  const sp = text.indexOf(' ', method.length + 1);
  const url = text.slice(method.length + 1, sp);
  let pos = sp + 11;
  const names: string[] = [];
  const values: string[] = [];
  const rawNames: string[] = [];
  let host: string | null = null;
  let close = false;
  let forwarded = false;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = len;
    const colon = text.indexOf(':', pos);
    const rawName = text.slice(pos, colon);
    let i = colon + 1;
    let end = eol;
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
    while (end > i && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
    const value = text.slice(i, end);
    const name = rawName.toLowerCase();
    pos = eol + 2;
    switch (name) {
      case 'host':
        if (host !== null) return null;
        host = value;
        break;
      case 'connection': {
        const v = value.toLowerCase();
        if (v === 'close') close = true;
        else if (v !== 'keep-alive') return null;
        break;
      }
      case 'content-length':
        // A body on GET or HEAD, or a length not in its plain form (leading zeros, a list, over
        // 10 digits): node:http's job, with its checks.
        if (bodyless || !CONTENT_LENGTH.test(value)) return null;
        contentLength = Number(value);
        break;
      // A chunked body, a protocol switch or an expectation: node:http's job.
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
      case 'http2-settings':
      case '__proto__':
        return null;
      default:
        if (name.charCodeAt(0) === 120 /* x */ && FORWARDED.has(name)) forwarded = true;
    }
    names.push(name);
    values.push(value);
    rawNames.push(rawName);
  }
  if (host === null || hasRepeat(names)) return null;
  return new FastRequest(method, url, names, values, rawNames, host, close, forwarded, contentLength);
}

const CONTENT_LENGTH = /^(?:0|[1-9][0-9]{0,9})$/;

/** methodOf names the method of a head PLAIN_HEAD accepted, by its first letters. */
function methodOf(text: string): string {
  switch (text.charCodeAt(0)) {
    case 71 /* G */:
      return 'GET';
    case 72 /* H */:
      return 'HEAD';
    case 68 /* D */:
      return 'DELETE';
    default:
      return text.charCodeAt(1) === 79 /* O */ ? 'POST' : text.charCodeAt(1) === 85 /* U */ ? 'PUT' : 'PATCH';
  }
}

/** hasRepeat tells whether a header name occurs twice (Node would merge or drop one: left to it). */
function hasRepeat(names: string[]): boolean {
  const n = names.length;
  if (n > 24) return new Set(names).size !== n;
  for (let i = 1; i < n; i++) {
    const a = names[i]!;
    for (let j = 0; j < i; j++) if (names[j] === a) return true;
  }
  return false;
}
