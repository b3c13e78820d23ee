/**
 * grpcProber checks a server with the gRPC Health Checking Protocol (grpc.health.v1.Health/Check,
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md), as Traefik's `mode: grpc`
 * does: one unary call on a fresh HTTP/2 connection (h2c for http:// servers, TLS through the
 * service's servers transport for https://), healthy when the answer is SERVING. The messages are
 * tiny and fixed, so they are encoded by hand: the request is an empty HealthCheckRequest (all
 * services), the response's field 1 is the status enum.
 */
import type * as http2 from 'node:http2';
import type { NormalizedCheck } from './active.js';
import { tlsConnectOptions, type TransportOptions } from '../upstreams/transport.js';

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
/** Length-prefixed message framing: not compressed, length 0 (an empty HealthCheckRequest). */
const EMPTY_REQUEST = Buffer.alloc(5);
/** A health answer is a few bytes; anything longer than this is not one. */
const MAX_RESPONSE = 1024;

/** grpcTarget is where the check connects: the server URL with the check's scheme and port. */
export function grpcTarget(serverUrl: string, check: NormalizedCheck): { authority: string; tls: boolean; host: string } {
  const u = new URL(serverUrl);
  const scheme = check.scheme !== '' ? check.scheme.toLowerCase() : u.protocol.slice(0, -1);
  const tls = !(scheme === 'http' || scheme === 'h2c');
  const port = check.port !== 0 ? String(check.port) : u.port || (u.protocol === 'https:' ? '443' : '80');
  return { authority: `${tls ? 'https' : 'http'}://${u.hostname}:${port}`, tls, host: u.hostname };
}

/** grpcProber resolves to null when the server answers SERVING, else to the reason. It never rejects. */
export function grpcProber(url: string, check: NormalizedCheck, transport: TransportOptions | null): Promise<string | null> {
  const target = grpcTarget(url, check);
  return new Promise((resolve) => {
    let settled = false;
    let session: http2.ClientHttp2Session | null = null;
    const done = (reason: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session?.destroy();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`gRPC health check timeout after ${check.timeoutMs}ms`), check.timeoutMs);
    try {
      const opts = target.tls && transport !== null ? tlsConnectOptions(transport, target.host) : {};
      session = process.getBuiltinModule('node:http2').connect(target.authority, opts as http2.SecureClientSessionOptions);
    } catch (err) {
      done(`fail to connect to ${target.authority}: ${(err as Error).message}`);
      return;
    }
    session.on('error', (err: NodeJS.ErrnoException) => done(`fail to connect to ${target.authority}: ${err.code ?? err.message}`));
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let body = Buffer.alloc(0);
    let headerStatus: string | undefined;
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) return done(`gRPC health check failed: HTTP status ${String(headers[':status'])}`);
      // A call that fails at once answers with trailers only: grpc-status is in the headers.
      headerStatus = headers['grpc-status'] as string | undefined;
    });
    stream.on('data', (chunk: Buffer) => {
      body = Buffer.concat([body, chunk]);
      if (body.length > MAX_RESPONSE) done('gRPC health check failed: the answer is too long');
    });
    stream.on('trailers', (trailers) => {
      headerStatus = (trailers['grpc-status'] as string | undefined) ?? headerStatus;
    });
    stream.on('end', () => done(verdict(headerStatus, body)));
    stream.on('error', (err: NodeJS.ErrnoException) => done(`gRPC health check failed: ${err.code ?? err.message}`));
    stream.end(EMPTY_REQUEST);
  });
}

/** verdict reads the call's outcome: grpc-status, then the status field of the response message. */
function verdict(grpcStatus: string | undefined, body: Buffer): string | null {
  if (grpcStatus === undefined) return 'gRPC health check failed: no grpc-status';
  if (grpcStatus === '12') return 'gRPC server does not implement the health protocol';
  if (grpcStatus !== '0') return `gRPC health check failed: grpc-status ${grpcStatus}`;
  if (body.length < 5 || body[0] !== 0) return 'gRPC health check failed: no response message';
  const len = body.readUInt32BE(1);
  const msg = body.subarray(5, 5 + len);
  const status = servingStatus(msg);
  if (status === 1) return null;
  return `received gRPC status code: ${STATUS_NAMES[status] ?? String(status)}`;
}

/** servingStatus finds field 1 (varint) of a HealthCheckResponse; 0 (UNKNOWN) when absent, as protobuf defaults it. */
function servingStatus(msg: Buffer): number {
  let i = 0;
  while (i < msg.length) {
    const key = msg[i++]!;
    const field = key >> 3;
    const wire = key & 7;
    if (wire !== 0) return 0; // HealthCheckResponse has only the one varint field
    let v = 0;
    let shift = 0;
    while (i < msg.length) {
      const b = msg[i++]!;
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if (field === 1) return v;
  }
  return 0;
}
