/**
 * mergeConfigs joins the configurations of several containers (or Swarm services) into one
 * provider configuration. Replicas of a service each contribute a server to the same service:
 * same-named load-balanced services whose options are equal apart from their servers are one
 * service with all the servers. Routers and middlewares that several replicas define identically
 * are one element. Elements defined differently by two sources are left out with an error naming
 * both (Traefik's docker provider does the same).
 */
import { isDeepStrictEqual } from 'node:util';
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import type { ProviderError } from '../provider.js';

export interface SourcedConfig {
  /** `container web-1`, `service tb-web`. */
  source: string;
  config: DynamicConfig;
}

type Obj = Record<string, unknown>;
const SECTIONS = ['http', 'tcp', 'udp'] as const;
const KINDS = ['routers', 'services', 'middlewares'] as const;

export function mergeConfigs(parts: SourcedConfig[]): { config: DynamicConfig; errors: ProviderError[] } {
  const out: Obj = {};
  const owners = new Map<string, string[]>();
  const conflicts = new Set<string>();
  for (const { source, config } of parts) {
    for (const s of SECTIONS) {
      const sec = (config as Obj)[s] as Obj | undefined;
      if (!sec) continue;
      for (const k of KINDS) {
        const elements = sec[k] as Record<string, Obj> | undefined;
        if (!elements) continue;
        for (const [name, el] of Object.entries(elements)) {
          const path = `${s}.${k}.${name}`;
          const who = owners.get(path);
          if (who === undefined) {
            owners.set(path, [source]);
            const target = ((out[s] ??= {}) as Obj)[k] ??= {};
            (target as Obj)[name] = structuredClone(el);
            continue;
          }
          who.push(source);
          if (conflicts.has(path)) continue;
          const existing = ((out[s] as Obj)[k] as Record<string, Obj>)[name]!;
          if (k === 'services' && mergeServers(existing, el)) continue;
          if (isDeepStrictEqual(existing, el)) continue;
          conflicts.add(path);
        }
      }
    }
  }
  const errors: ProviderError[] = [];
  for (const path of conflicts) {
    const [s, k, name] = path.split('.') as [string, string, string];
    delete ((out[s] as Obj)[k] as Obj)[name];
    const who = owners.get(path)!;
    errors.push({ path, source: who.join(', '), message: `${path} is defined differently by ${who.join(', ')}; left out` });
  }
  for (const s of SECTIONS) {
    const sec = out[s] as Obj | undefined;
    if (!sec) continue;
    for (const k of KINDS) if (sec[k] && Object.keys(sec[k] as Obj).length === 0) delete sec[k];
    if (Object.keys(sec).length === 0) delete out[s];
  }
  return { config: out as DynamicConfig, errors };
}

/**
 * mergeServers adds add's servers to existing when both are load balancers equal in every other
 * option; it returns false (and changes nothing) otherwise.
 */
function mergeServers(existing: Obj, add: Obj): boolean {
  const a = existing['loadBalancer'] as Obj | undefined;
  const b = add['loadBalancer'] as Obj | undefined;
  if (!a || !b || Object.keys(existing).length !== 1 || Object.keys(add).length !== 1) return false;
  const { servers: sa = [], ...ra } = a as Obj & { servers?: Obj[] };
  const { servers: sb = [], ...rb } = b as Obj & { servers?: Obj[] };
  if (!isDeepStrictEqual(ra, rb)) return false;
  const merged = [...sa];
  for (const srv of sb) if (!merged.some((m) => isDeepStrictEqual(m, srv))) merged.push(structuredClone(srv));
  a['servers'] = merged;
  return true;
}
