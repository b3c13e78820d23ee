/**
 * A Balancer picks one server of a service for a request (Caddy's Selector habit). Balancers are
 * built per snapshot from the service's configuration; the servers they hold are shared
 * UpstreamServer objects, so health and in-flight counts survive reloads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';

export interface WeightedServer {
  readonly server: UpstreamServer;
  readonly weight: number;
}

export interface Balancer {
  /**
   * pick returns an available server, or null when none is. `exclude` holds servers already tried
   * for this request (the retry goes elsewhere when it can). A sticky balancer may read the request
   * cookie and set a cookie on `res`. The fast lane, which never serves a sticky service, passes null.
   */
  pick(req: IncomingMessage | null, res: ServerResponse | null, ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null;
  /** All servers of the balancer, for health checks and the API. */
  readonly servers: readonly WeightedServer[];
}
