/**
 * answerClientError answers requests that Node's HTTP parser rejected (malformed framing, both
 * Content-Length and Transfer-Encoding, bad chunking, oversized heads, head timeouts) with a proper
 * status and a short body naming the cause, then closes the connection — rather than dropping the
 * socket, which clients and load balancers read as a network fault.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger.js';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function clientErrorStatus(code: string | undefined): { status: number; cause: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, cause: 'request header fields too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return { status: 408, cause: 'request not received in time' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, cause: 'both Content-Length and Transfer-Encoding, or conflicting Content-Length' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { status: 400, cause: 'invalid Transfer-Encoding' };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
      return { status: 400, cause: 'malformed chunked body' };
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { status: 400, cause: 'invalid Content-Length' };
    default:
      return { status: 400, cause: `malformed request (${code ?? 'unknown'})` };
  }
}

export function answerClientError(err: Error & { code?: string; bytesParsed?: number }, socket: Duplex, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // Bytes after a request that closes the connection (Connection: close, or HTTP/1.0): RFC 9112
  // §9.6 says no further request on it is processed. That request is answered and the connection
  // closed after it (node:http does both), as nginx and HAProxy do: no 400 ahead of its response.
  if (err.code === 'HPE_CLOSED_CONNECTION') return;
  const { status, cause } = clientErrorStatus(err.code);
  logger.debug('client error', { status, cause, code: err.code });
  const body = `${status} ${cause}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Do not wait for the client to read: it may be a slowloris.
  setTimeout(() => socket.destroy(), 1000).unref();
}
