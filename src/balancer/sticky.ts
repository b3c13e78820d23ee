/**
 * StickyBalancer wraps a balancer with a sticky cookie (Traefik's `sticky.cookie`). A request
 * whose cookie names a server of this balancer that is available, not excluded by a retry and not
 * weighted 0 goes to that server, with no new cookie. Otherwise the inner balancer picks and the
 * response gets a Set-Cookie for the new server: this is how a client moves when its server is
 * removed from the configuration (its value is then unknown) or becomes unhealthy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer, WeightedServer } from './types.js';
import { StickyCookie } from './cookie.js';
import type { StickyCookieConfig } from '../config/dynamic/schema.js';
import type { RequestContext } from '../proxy/context.js';
import type { UpstreamServer } from '../upstreams/server.js';

export class StickyBalancer implements Balancer {
  readonly servers: readonly WeightedServer[];
  readonly cookie: StickyCookie;
  readonly #inner: Balancer;
  readonly #index: Map<UpstreamServer, number>;
  readonly #now: () => number;

  constructor(inner: Balancer, config: StickyCookieConfig, serviceName: string, secret = '', now: () => number = Date.now) {
    this.servers = inner.servers;
    this.#inner = inner;
    this.cookie = new StickyCookie(config, serviceName, inner.servers.map((s) => s.server.url), secret);
    this.#index = new Map();
    inner.servers.forEach((s, i) => this.#index.set(s.server, i));
    this.#now = now;
  }

  pick(req: IncomingMessage | null, res: ServerResponse | null, ctx: RequestContext, exclude: ReadonlySet<UpstreamServer> | null): UpstreamServer | null {
    const i = req === null ? -1 : this.cookie.indexOf(req);
    if (i !== -1) {
      const ws = this.servers[i]!;
      if (ws.weight > 0 && ws.server.available(this.#now()) && (exclude === null || !exclude.has(ws.server))) return ws.server;
    }
    const server = this.#inner.pick(req, res, ctx, exclude);
    if (server !== null && res !== null) this.cookie.write(res, this.#index.get(server)!);
    return server;
  }
}
