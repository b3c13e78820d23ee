/**
 * The REST provider: registrations pushed through the native API and the Docker Flow Proxy API,
 * persisted in a local file or in etcd. `restRoutes` gives the API routes to add to the ApiServer.
 */
import type { ApiRoute } from '../../api/server.js';
import { middlewareViews, routerViews, serviceViews } from '../../api/runtime-view.js';
import type { Logger } from '../../observability/logger.js';
import type { UpstreamRegistry } from '../../upstreams/registry.js';
import type { Snapshot } from '../../watcher/snapshot.js';
import { RestApi } from './api.js';
import { DfpApi } from './dfp-api.js';
import { effectiveConfig } from './effective.js';
import { Audit } from './http.js';
import type { RestProvider } from './provider.js';

export { RestProvider, type RestProviderOptions } from './provider.js';
export { EtcdStorage, FileStorage, type RestStorage } from './storage.js';
export type { InstanceRegistry } from './registry.js';
export { effectiveConfig, type RawData } from './effective.js';

export interface RestRouteDeps {
  snapshot: () => Snapshot;
  registry: UpstreamRegistry;
  logger: Logger;
}

/** effectiveOf builds the effective configuration of a snapshot. */
export function effectiveOf(s: Snapshot, registry: UpstreamRegistry): Record<string, unknown> {
  const byName = <T extends { name: string }>(list: T[]) => Object.fromEntries(list.map((x) => [x.name, x]));
  return effectiveConfig({
    routers: byName(routerViews(s)),
    services: byName(serviceViews(s, registry)),
    middlewares: byName(middlewareViews(s)),
    providerErrors: s.merged.providerErrors,
    version: s.version,
  } as Parameters<typeof effectiveConfig>[0]);
}

/** restRoutes returns the native REST API and the Docker Flow Proxy API routes. */
export function restRoutes(provider: RestProvider, deps: RestRouteDeps): ApiRoute[] {
  const audit = new Audit(deps.logger);
  return [new RestApi(provider, audit).route, new DfpApi(provider, audit, () => effectiveOf(deps.snapshot(), deps.registry)).route];
}
