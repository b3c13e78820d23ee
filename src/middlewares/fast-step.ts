/**
 * Fast steps: a middleware's form for the entrypoint's fast lane (src/entrypoints/fast). A
 * header-only middleware (stripPrefix, addPrefix, headers without CORS, redirectScheme,
 * ipAllowList) attaches one to the handler it builds. The step applies to the parsed head and the
 * context exactly what the handler would, and returns true; or it returns false when the request
 * needs an answer of the middleware's own (a redirect, a 403, a 400). Then the fast lane gives the
 * connection to node:http with the bytes read put back, the parsed head is dropped, and the
 * handler chain runs from the start — so a step only has to be right on the requests it lets pass.
 *
 * A router takes the fast lane only when every middleware in front of its service has a step.
 */
import type { FastRequest } from '../entrypoints/fast/request-head.js';
import type { Handler, RequestContext } from '../proxy/context.js';

export type FastStep = (req: FastRequest, ctx: RequestContext) => boolean;

const kFastStep = Symbol('gantry.fastStep');
type Tagged = Handler & { [kFastStep]?: FastStep };

/** withFastStep attaches `step` to `handler` and returns the handler. */
export function withFastStep(handler: Handler, step: FastStep): Handler {
  (handler as Tagged)[kFastStep] = step;
  return handler;
}

/** fastStepOf returns the step attached to a middleware's handler, or undefined. */
export function fastStepOf(handler: Handler): FastStep | undefined {
  return (handler as Tagged)[kFastStep];
}

/**
 * Response header names a fast-lane response modifier may not touch: they frame the message or
 * belong to the connection, which the fast lane writes itself.
 */
export const FRAMING_RESPONSE_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'date']);

/**
 * Request header names a fast step may not set or remove: the fast lane reads them when it parses
 * the head (Host, framing, connection) and would not see the change.
 */
export const FRAMING_REQUEST_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect', 'http2-settings']);
