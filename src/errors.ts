/**
 * GantryError is the base of every error Gantry raises on purpose. Each subclass has a stable
 * `code` (for logs and tests) and, where it ends a request, the HTTP `status` it maps to.
 */
export class GantryError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(message: string, code = 'GANTRY_ERR', status = 500, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GantryError';
    this.code = code;
    this.status = status;
  }
}

/** ConfigError names the configuration path (`http.routers.demo.rule`) that is wrong. */
export class ConfigError extends GantryError {
  readonly path: string;

  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message, 'GANTRY_ERR_CONFIG', 500);
    this.name = 'ConfigError';
    this.path = path;
  }
}

/** ParseError is a file that does not parse; line and column are 1-based. */
export class ParseError extends GantryError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, message: string) {
    super(`${file}:${line}:${column}: ${message}`, 'GANTRY_ERR_PARSE', 500);
    this.name = 'ParseError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** RuleSyntaxError carries the 1-based character position in the rule where parsing failed. */
export class RuleSyntaxError extends GantryError {
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} at ${position}`, 'GANTRY_ERR_RULE', 500);
    this.name = 'RuleSyntaxError';
    this.position = position;
  }
}

/** Codes for failures that end a proxied request; `status` is what the client gets. */
export const RequestErrors = {
  noRoute: { code: 'GANTRY_ERR_NO_ROUTE', status: 404, text: 'no route matches this request' },
  badRequest: { code: 'GANTRY_ERR_BAD_REQUEST', status: 400, text: 'bad request' },
  headersTooLarge: { code: 'GANTRY_ERR_HEADERS_TOO_LARGE', status: 431, text: 'request header fields too large' },
  upstreamRefused: { code: 'GANTRY_ERR_UPSTREAM_REFUSED', status: 502, text: 'upstream connection refused' },
  upstreamReset: { code: 'GANTRY_ERR_UPSTREAM_RESET', status: 502, text: 'upstream connection reset' },
  upstreamError: { code: 'GANTRY_ERR_UPSTREAM', status: 502, text: 'bad gateway' },
  dialTimeout: { code: 'GANTRY_ERR_DIAL_TIMEOUT', status: 504, text: 'upstream connect timeout' },
  responseTimeout: { code: 'GANTRY_ERR_RESPONSE_TIMEOUT', status: 504, text: 'upstream response timeout' },
  noServer: { code: 'GANTRY_ERR_NO_SERVER', status: 503, text: 'no available server' },
  clientClosed: { code: 'GANTRY_ERR_CLIENT_CLOSED', status: 499, text: 'client closed request' },
} as const;

export type RequestErrorKind = keyof typeof RequestErrors;
