/**
 * Middleware factories: one per middleware type (`stripPrefix`, `basicAuth` …). A factory checks
 * and precomputes everything from its options once, when a snapshot is built, and returns a Handler
 * that only handles requests (Traefik's `New`, Caddy's Provision/Validate).
 */
import type * as z from '../config/zod.js';
import type { Handler } from '../proxy/context.js';
import type { Logger } from '../observability/logger.js';

export interface MiddlewareEnv {
  /** Qualified name of the middleware being built (`strip@file`), for logs and errors. */
  readonly name: string;
  /** Provider of the middleware; bare names it refers to resolve within this provider. */
  readonly provider: string;
  readonly logger: Logger;
  /**
   * serviceHandler returns the request handler of a service by name (bare names resolve within
   * this provider), or throws a ConfigError when it does not exist. Used by `errors`.
   */
  serviceHandler(name: string): Handler;
  /** Working directory for relative file paths (htpasswd usersFile, error pages …). */
  readonly cwd: string;
  /**
   * retain registers something the middleware holds (a connection pool, a client) to be stopped
   * when the snapshot that built it is retired, once its last requests are done.
   */
  retain(resource: { stop(): void }): void;
}

export interface MiddlewareFactory<O = unknown> {
  /** Key of the middleware in the dynamic configuration, in Traefik's spelling (`stripPrefix`). */
  readonly type: string;
  /** Schema of the options; errors are reported with the middleware's path. */
  readonly schema: z.ZodType<O>;
  /** create builds the handler; it may throw a ConfigError for semantic problems (bad regexp …). */
  create(options: O, next: Handler, env: MiddlewareEnv): Handler;
}
