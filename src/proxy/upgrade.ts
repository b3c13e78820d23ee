/**
 * Upgrade requests (WebSocket and other `Upgrade` protocols) are forwarded on a dedicated
 * connection: the request head is written by hand, then bytes are piped both ways until either side
 * closes. The routing, middlewares and header hygiene are the same as for ordinary requests.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from './context.js';
import type { UpstreamServer } from '../upstreams/server.js';
import type { LoadBalancerService } from './forward.js';
import { upstreamRequestHeaders } from './headers.js';
import { sendError } from './respond.js';
import { classifyUpstreamError } from './upstream-errors.js';

export function forwardUpgrade(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  server: UpstreamServer,
  svc: LoadBalancerService,
  tried: Set<UpstreamServer> | null,
  attempt: number,
): void {
  const client = ctx.upgradeSocket!;
  const url = new URL(server.origin);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const transport = svc.registry.transport;
  const upstream = secure
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !transport.insecureSkipVerify })
    : net.connect({ host, port });
  ctx.server = server.url;
  server.inFlight++;
  let connected = false;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    server.inFlight--;
  };
  const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), transport.dialTimeoutMs);
  timer.unref();

  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    clearTimeout(timer);
    connected = true;
    const headers = upstreamRequestHeaders(req, ctx, {
      host: svc.hostFor(req, server),
      upgrade: String(req.headers.upgrade ?? ''),
      serverName: svc.opts.serverName,
    });
    const path = server.basePath === '' ? ctx.target() : server.basePath + ctx.target();
    let head = `${req.method} ${path} HTTP/1.1\r\n`;
    for (const name in headers) {
      const v = headers[name]!;
      if (Array.isArray(v)) for (const item of v) head += `${name}: ${item}\r\n`;
      else head += `${name}: ${v}\r\n`;
    }
    head += '\r\n';
    upstream.write(head);
    if (ctx.upgradeHead !== null && ctx.upgradeHead.length > 0) upstream.write(ctx.upgradeHead);
    // From now on the client socket carries raw bytes: the ServerResponse must not touch it.
    res.detachSocket(client as net.Socket);
    upstream.once('data', (chunk: Buffer) => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
      ctx.status = m ? Number(m[1]) : 502;
      svc.opts.health.success(server);
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });

  upstream.on('error', (err) => {
    clearTimeout(timer);
    release();
    if (connected) {
      client.destroy();
      return;
    }
    svc.opts.health.failure(server);
    const failure = classifyUpstreamError(err, false);
    // Nothing was sent yet: the connect-failure retry applies as for ordinary requests.
    if (attempt < 1 + ctx.retryAttempts) {
      const next = tried ?? new Set<UpstreamServer>();
      next.add(server);
      ctx.retries++;
      svc.forward(req, res, ctx, next, attempt + 1, failure);
      return;
    }
    sendError(res, ctx, failure.kind, failure.detail);
  });
  upstream.on('close', () => {
    release();
    client.destroy();
    // The response was detached from the socket: tell the entrypoint the exchange is over.
    if (connected) res.emit('close');
  });
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
}
