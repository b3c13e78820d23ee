/**
 * createProviders builds the providers the static configuration enables, in a fixed order.
 * Each one is a class implementing Provider; this is the only place that knows them all.
 */
import type { StaticConfig } from '../config/static/index.js';
import type { Logger } from '../observability/logger.js';
import type { Provider } from './provider.js';
import { FileProvider } from './file/index.js';
import { DockerProvider } from './docker/index.js';
import { SwarmProvider } from './swarm/index.js';

type DockerSection = NonNullable<StaticConfig['providers']['docker']>;

function dockerCommon(d: DockerSection) {
  return {
    endpoint: d.endpoint,
    tls: d.tls === null ? undefined : { ...d.tls },
    httpClientTimeoutMs: d.httpClientTimeout,
    exposedByDefault: d.exposedByDefault,
    domain: d.domain,
    network: d.network,
    defaultRule: d.defaultRule,
    constraints: d.constraints,
    watch: d.watch,
  };
}

export function createProviders(c: StaticConfig, _cwd: string, _logger: Logger): Provider[] {
  const out: Provider[] = [];
  const p = c.providers;
  // Paths in the static configuration are already absolute (resolved against the working directory).
  if (p.file !== null) out.push(new FileProvider({ filename: p.file.filename, directory: p.file.directory, watch: p.file.watch }));
  if (p.docker !== null) {
    out.push(new DockerProvider({ ...dockerCommon(p.docker), useBindPortIP: p.docker.useBindPortIP, allowEmptyServices: p.docker.allowEmptyServices }));
  }
  if (p.swarm !== null) out.push(new SwarmProvider({ ...dockerCommon(p.swarm), refreshSeconds: p.swarm.refreshSeconds }));
  return out;
}
