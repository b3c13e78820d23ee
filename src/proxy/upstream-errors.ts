/**
 * classifyUpstreamError maps a failed upstream attempt to the answer the client gets (Caddy's
 * statusError habit): refused or reset → 502, timeouts → 504. `afterSend` tells whether the
 * request may have reached the server (then only idempotent requests may be retried).
 */
import type { RequestErrorKind } from '../errors.js';

export interface UpstreamFailure {
  kind: RequestErrorKind;
  detail: string;
  afterSend: boolean;
}

export function classifyUpstreamError(err: Error, connected: boolean): UpstreamFailure {
  const code = errorCode(err);
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'upstreamRefused', detail: err.message, afterSend: false };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: 'dialTimeout', detail: 'connect timeout', afterSend: false };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { kind: 'upstreamError', detail: `cannot reach server (${code})`, afterSend: false };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { kind: 'responseTimeout', detail: 'no response head within responseHeaderTimeout', afterSend: true };
    case 'UND_ERR_BODY_TIMEOUT':
      return { kind: 'responseTimeout', detail: 'response body timeout', afterSend: true };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { kind: 'upstreamReset', detail: connected ? 'connection reset by server' : 'connection reset before the request was sent', afterSend: connected };
    default:
      return { kind: 'upstreamError', detail: err.message || String(code), afterSend: connected };
  }
}

function errorCode(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    const cause = (e as { cause?: unknown }).cause;
    if (cause === undefined) return typeof code === 'string' ? code : '';
    e = cause;
  }
  return '';
}
