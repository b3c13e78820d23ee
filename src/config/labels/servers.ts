/**
 * resolveServers replaces the label-only server placeholders (`{}`, `{ port, scheme }`) that the
 * decoder and the dialects write with real servers at one address: `url` for HTTP, `address` for
 * TCP and UDP (Traefik's docker `addServer`). A server that already has a url/address is kept.
 */
import type { ProviderError } from '../../providers/provider.js';
import type { DynamicConfig } from '../dynamic/schema.js';

export interface Target {
  /** IP or host name of the container/task (127.0.0.1 for host-network containers). */
  host: string;
  /** The container's own port (single exposed or published port), used when no label gives one. */
  port?: number;
  /**
   * bind maps a container port to the host binding that publishes it (`useBindPortIP`); when it
   * answers, that host address and port are used instead.
   */
  bind?: (port: number) => { host: string; port: number } | undefined;
}

type Obj = Record<string, unknown>;

/**
 * resolveServers rewrites config in place. A service whose port cannot be found loses its
 * placeholder server and gets an error naming the label that would set it.
 */
export function resolveServers(config: DynamicConfig, target: Target, source: string, prefix = 'gantry'): ProviderError[] {
  const errors: ProviderError[] = [];
  const host = bracket(target.host);
  for (const s of ['http', 'tcp', 'udp'] as const) {
    const services = ((config as Obj)[s] as Obj | undefined)?.['services'] as Record<string, Obj> | undefined;
    if (!services) continue;
    for (const [name, svc] of Object.entries(services)) {
      const lb = svc['loadBalancer'] as Obj | undefined;
      const servers = lb?.['servers'] as Obj[] | undefined;
      if (!lb || !servers) continue;
      const out: Obj[] = [];
      for (const srv of servers) {
        const { port, scheme, ...rest } = srv as Obj & { port?: number; scheme?: string };
        if (s === 'http' && typeof rest['url'] === 'string') {
          out.push(rest);
          continue;
        }
        if (s !== 'http' && typeof rest['address'] === 'string') {
          out.push(rest);
          continue;
        }
        const p = port ?? target.port;
        if (p === undefined) {
          errors.push({
            path: `${s}.services.${name}`,
            source,
            message: `${source}: no port for service "${name}": the container exposes none or several; set label ${prefix}.${s}.services.${name}.loadbalancer.server.port`,
          });
          continue;
        }
        const bound = target.bind?.(p);
        const h = bound ? bracket(bound.host) : host;
        const bp = bound ? bound.port : p;
        if (s === 'http') out.push({ url: `${scheme ?? 'http'}://${h}:${bp}`, ...rest });
        else out.push({ address: `${h}:${bp}`, ...rest });
      }
      if (out.length > 0) {
        lb['servers'] = out;
        continue;
      }
      // Without servers the service is gone, and so are the routers that would send requests to it.
      delete services[name];
      const routers = ((config as Obj)[s] as Obj)['routers'] as Record<string, Obj> | undefined;
      for (const [rname, r] of Object.entries(routers ?? {})) if (r['service'] === name) delete routers![rname];
    }
    const sec = (config as Obj)[s] as Obj;
    for (const k of Object.keys(sec)) if (Object.keys(sec[k] as Obj).length === 0) delete sec[k];
    if (Object.keys(sec).length === 0) delete (config as Obj)[s];
  }
  return errors;
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
