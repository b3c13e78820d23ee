/** Request helpers shared by the native REST API and the Docker Flow Proxy API: bodies, callers, audit lines. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger.js';

export const MAX_BODY = 1 << 20;

export class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.body = { message, ...extra };
    this.headers = headers;
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body larger than ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** who names the caller for the audit log: the basic-auth user when there is one, and the address. */
export function who(req: IncomingMessage): string {
  const addr = req.socket?.remoteAddress ?? 'unknown';
  const auth = req.headers.authorization;
  if (auth !== undefined && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return `${decoded.slice(0, i)}@${addr}`;
  }
  return addr;
}

/** Audit writes one log line per write request: who, what, result. */
export class Audit {
  #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger.child({ component: 'audit' });
  }
  write(req: IncomingMessage, what: string, status: number, detail?: string): void {
    const fields: Record<string, unknown> = { who: who(req), method: req.method, what, result: status };
    if (detail !== undefined) fields['detail'] = detail;
    if (status < 400) this.#logger.info('audit', fields);
    else this.#logger.warn('audit', fields);
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === null ? '' : JSON.stringify(body, null, 2) + '\n';
  const h: Record<string, string | number> = { ...headers };
  if (body !== null) {
    h['content-type'] = 'application/json; charset=utf-8';
    h['content-length'] = Buffer.byteLength(text);
  }
  res.writeHead(status, h);
  res.end(text);
}
