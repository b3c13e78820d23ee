/**
 * effectiveConfig is the effective dynamic configuration as users read it (`gantry config`,
 * `/v1/docker-flow-proxy/config`): every router, service and middleware of every provider under
 * its qualified name, with its provider, status and errors, from the API's runtime views.
 */
type View = { name: string; provider?: string; status?: string; error?: string[]; [k: string]: unknown };

export interface RawData {
  routers?: Record<string, View>;
  services?: Record<string, View>;
  middlewares?: Record<string, View>;
  providerErrors?: Array<{ provider: string; path?: string; source?: string; message: string }>;
  version?: number;
}

const DROP = new Set(['name', 'usedBy', 'using', 'inFlight']);

function section(views: Record<string, View> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(views ?? {}).sort()) {
    const v = views![name]!;
    const el: Record<string, unknown> = { provider: v.provider, status: v.status };
    for (const [k, x] of Object.entries(v)) if (!DROP.has(k) && !(k in el) && k !== 'error') el[k] = x;
    el['error'] = v.error ?? null;
    out[name] = el;
  }
  return out;
}

export function effectiveConfig(raw: RawData): Record<string, unknown> {
  const out: Record<string, unknown> = {
    http: { routers: section(raw.routers), services: section(raw.services), middlewares: section(raw.middlewares) },
  };
  if (raw.providerErrors !== undefined && raw.providerErrors.length > 0) out['providerErrors'] = raw.providerErrors;
  if (raw.version !== undefined) out['version'] = raw.version;
  return out;
}
