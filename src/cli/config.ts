/**
 * `gantry config [--api URL]`: the effective dynamic configuration of a running Gantry as YAML, every
 * router, service and middleware with its provider, status and error (the analogue of reading
 * Docker Flow Proxy's generated haproxy.cfg). Also the small API client the other client commands use.
 */
import { undici } from '../upstreams/undici.js';
import { effectiveConfig, type RawData } from '../providers/rest/effective.js';
import { yamlLib } from '../config/parse.js';

import { apiBase, defaultApiUrl } from './api-url.js';

/** DEFAULT_API: GANTRY_API_ADDRESS when set (as `gantry run` reads it), else 127.0.0.1:8080. */
export const DEFAULT_API = defaultApiUrl();

/** apiCall sends one request to the API; credentials in the URL (`http://user:pass@host:port`) become basic auth. */
export async function apiCall(api: string, pathAndQuery: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { base, headers } = apiBase(api);
  const url = new URL(pathAndQuery, base.origin);
  const res = await undici().request(url, { method: method as 'GET', headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

export async function configCommand(opts: { api: string }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let res;
  try {
    res = await apiCall(opts.api, '/api/rawdata');
  } catch (err) {
    process.stderr.write(`gantry config: cannot reach the API at ${opts.api}: ${(err as Error).message}\n`);
    return 1;
  }
  if (res.status !== 200) {
    process.stderr.write(`gantry config: ${opts.api} answered ${res.status}: ${res.body.trim()}\n`);
    return 1;
  }
  const raw = JSON.parse(res.body) as RawData;
  out.write(yamlLib().stringify(effectiveConfig(raw), { lineWidth: 0 }));
  return 0;
}
