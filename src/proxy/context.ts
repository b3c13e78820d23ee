/**
 * RequestContext is the per-request state every handler shares. All fields are set in the
 * constructor (one hidden class, no shape changes on the hot path); absent values are null.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export class RequestContext {
  /** Entrypoint name the request arrived on. */
  readonly entrypoint: string;
  /** 'http' or 'https' as seen by the client (X-Forwarded-Proto when trusted). */
  scheme: string;
  /** Remote address of the TCP peer (IPv4-mapped IPv6 unwrapped). */
  readonly remoteAddr: string;
  /** Remote port of the TCP peer (kept here: `req.socket` is gone once a body was consumed). */
  remotePort: number;
  /** Client IP after the forwardedHeaders trust rules; what ClientIP() and ipAllowList see. */
  clientIP: string;
  /** Request host, lower-case, without port. */
  host: string;
  /** Port the client addressed (from Host, else the entrypoint's port), as text. */
  port: string;
  /** Normalised path used for routing; middlewares may rewrite it and the rewritten path is forwarded. */
  path: string;
  /** Raw query string without the leading '?', or '' when none. */
  query: string;
  /** Qualified router name once routed. */
  router: string | null;
  /** Qualified service name of the service that answered. */
  service: string | null;
  /** URL of the server that answered, for logs and debug headers. */
  server: string | null;
  /** Start time in ms (performance.now()). */
  readonly start: number;
  /** Status sent or logged (499 when the client went away first). */
  status: number;
  /** For Upgrade requests: the client socket and the bytes read past the head. */
  upgradeSocket: Duplex | null;
  upgradeHead: Buffer | null;
  /** True when the request body has started streaming to an upstream (no retry after that). */
  bodyStarted: boolean;
  /** Extra attempts granted by the retry middleware (0 = only the connect-failure retry). */
  retryAttempts: number;
  retryInitialIntervalMs: number;
  /** After this time (performance.now() ms) the retry middleware grants no more attempts; 0: no limit. */
  retryDeadline: number;
  /** Attempts made beyond the first (for the access log's retryAttempts filter). */
  retries: number;
  /** Original (pre-rewrite) path, for X-Forwarded-Prefix and logs. */
  readonly originalPath: string;
  /** Prefix removed by stripPrefix middlewares (for X-Forwarded-Prefix). */
  strippedPrefix: string;
  /** Error text when the request ended in a Gantry-made error (for logs). */
  errorText: string | null;
  /** The user an authentication middleware recognised (digestAuth, forwardAuth's headerField), for the access log. */
  user: string | null;
  /** The router's observability switches (Traefik's `observability.accessLogs` / `.metrics`); true by default. */
  accessLogs: boolean;
  metrics: boolean;
  /** Response modifiers registered by middlewares, applied (last registered first) before the head is written. */
  responseModifiers: ResponseModifier[] | null;

  constructor(entrypoint: string, scheme: string, remoteAddr: string, host: string, port: string, path: string, query: string, start: number) {
    this.entrypoint = entrypoint;
    this.scheme = scheme;
    this.remoteAddr = remoteAddr;
    this.remotePort = 0;
    this.clientIP = remoteAddr;
    this.host = host;
    this.port = port;
    this.path = path;
    this.query = query;
    this.router = null;
    this.service = null;
    this.server = null;
    this.start = start;
    this.status = 0;
    this.upgradeSocket = null;
    this.upgradeHead = null;
    this.bodyStarted = false;
    this.retryAttempts = 0;
    this.retryInitialIntervalMs = 0;
    this.retryDeadline = 0;
    this.retries = 0;
    this.originalPath = path;
    this.strippedPrefix = '';
    this.errorText = null;
    this.user = null;
    this.accessLogs = true;
    this.metrics = true;
    this.responseModifiers = null;
  }

  /** addResponseModifier registers a precomputed modifier; it runs on every response head of this request. */
  addResponseModifier(m: ResponseModifier): void {
    if (this.responseModifiers === null) this.responseModifiers = [m];
    else this.responseModifiers.push(m);
  }

  /** The request target to forward: the (possibly rewritten) path plus the query. */
  target(): string {
    return this.query === '' ? this.path : `${this.path}?${this.query}`;
  }
}

/**
 * Handler handles one request. It either answers on `res` or calls the next handler it was built
 * with. Handlers are built once per snapshot by factories; they must not allocate closures per request.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void;

/** ResponseHeaders is the outgoing head as an object of lower-case names (values as Node accepts them). */
export type ResponseHeaders = Record<string, string | string[] | number>;

/**
 * ResponseModifier changes a response head before it is written — whether the head came from an
 * upstream or was made by Gantry (an error page). It is a long-lived object built with its
 * middleware, not a per-request closure. It returns the status to send.
 */
export interface ResponseModifier {
  modifyResponse(status: number, headers: ResponseHeaders, ctx: RequestContext): number;
  /**
   * The same change as edits of the field lines, for the fast lane: each sets a lower-case name to
   * a value ('' removes it), in order; the status is kept. Only modifiers that have them are
   * registered by fast steps.
   */
  readonly fastEdits?: readonly (readonly [name: string, value: string])[] | undefined;
}

/**
 * RequestView is what request observers may read of a request: node:http's IncomingMessage and the
 * fast lane's FastRequest both offer it.
 */
export interface RequestView {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  /**
   * The fast lane's FastRequest reads one lower-case header without building `headers` (an object
   * with a key per header, built per request): observers that need a few headers use it when present.
   */
  header?(name: string): string | undefined;
}
