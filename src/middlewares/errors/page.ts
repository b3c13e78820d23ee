/**
 * pageRequest makes the request sent to the error service: a body-less GET for the error page
 * path, carrying the original request's headers (as Traefik's errors middleware does), on the
 * same socket for addresses but with its own, already ended, body stream.
 */
import { IncomingMessage } from '../../node-http.js';

const DROP = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'connection']);

export function pageRequest(orig: IncomingMessage, target: string): IncomingMessage {
  const req = new IncomingMessage(orig.socket);
  req.method = 'GET';
  req.url = target;
  req.httpVersion = orig.httpVersion;
  req.httpVersionMajor = orig.httpVersionMajor;
  req.httpVersionMinor = orig.httpVersionMinor;
  const headers: IncomingMessage['headers'] = {};
  const raw: string[] = [];
  for (const name in orig.headers) {
    if (DROP.has(name)) continue;
    const v = orig.headers[name];
    if (v === undefined) continue;
    headers[name] = v as string;
    for (const one of Array.isArray(v) ? v : [v]) raw.push(name, one);
  }
  req.headers = headers;
  req.rawHeaders = raw;
  req.complete = true;
  req.push(null);
  return req;
}

/** queryEscape encodes as Go's url.QueryEscape does (space as '+'), for the {url} placeholder. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
