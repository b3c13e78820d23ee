/**
 * defaultApiUrl is where the client commands (healthcheck, config, reconfigure, remove, explain)
 * find the running Gantry when no --api is given: the address `gantry run` itself takes from
 * GANTRY_API_ADDRESS, so that a container configured by environment needs no flag for its
 * HEALTHCHECK; else the built-in 127.0.0.1:8080. A wildcard host (`:8080`, `0.0.0.0:8080`) is
 * reached on loopback. Credentials are not read from anywhere: pass them in --api's URL.
 */
import { parseListenAddress } from '../entrypoints/address.js';

export const BUILTIN_API = 'http://127.0.0.1:8080';

export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  const given = env['GANTRY_API_ADDRESS']?.trim();
  if (!given) return BUILTIN_API;
  let addr: { host: string | undefined; port: number };
  try {
    addr = parseListenAddress(given);
  } catch {
    // `gantry run` refuses it with the reason; the client commands try the built-in address.
    return BUILTIN_API;
  }
  const host = addr.host === undefined || addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '[::1]' : addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return `http://${host}:${addr.port}`;
}

/** apiBase parses --api (scheme optional) and turns credentials in it into an authorization header. */
export function apiBase(api: string): { base: URL; headers: Record<string, string> } {
  const base = new URL(api.includes('://') ? api : `http://${api}`);
  const headers: Record<string, string> = {};
  if (base.username !== '') {
    headers['authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64');
  }
  return { base, headers };
}
