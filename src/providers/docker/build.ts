/**
 * buildDockerConfig turns the inspected containers into the Docker provider's whole dynamic
 * configuration: which containers take traffic, what their labels (in any dialect) say, where they
 * answer, and how replicas merge into one service.
 */
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import { buildContainerConfig, envMap, normalize, resolveServers } from '../../config/labels/index.js';
import type { ProviderError } from '../provider.js';
import { containerAddress, portBinding } from './address.js';
import type { LabelPredicate } from './constraints.js';
import { mergeConfigs, type SourcedConfig } from './merge.js';
import type { ContainerInspect } from './types.js';
import { compareOrdinal } from '../../ordinal.js';

export interface BuildOptions {
  exposedByDefault?: boolean;
  domain?: string;
  defaultRule?: string;
  network?: string;
  certResolver?: string;
  constraints?: LabelPredicate;
  /** Route to the host binding that publishes the port (`-p 8080:80` → 127.0.0.1:8080) instead of the container IP. */
  useBindPortIP?: boolean;
  /**
   * Keep the services of containers that take no traffic (unhealthy, stopping, paused) with an
   * empty server list, so their routers answer 503 rather than 404 (Traefik's allowEmptyServices).
   */
  allowEmptyServices?: boolean;
  /** IDs of containers being stopped (kill/stop seen, no start since): left out at once. */
  stopping?: ReadonlySet<string>;
}

export interface BuildResult {
  config: DynamicConfig;
  errors: ProviderError[];
  /** Containers left out and why (debug logging). */
  skipped: { name: string; reason: string }[];
}

/** containerName is the inspect Name without Docker's leading slash. */
export function containerName(c: ContainerInspect): string {
  return (c.Name ?? c.Id.slice(0, 12)).replace(/^\//, '');
}

/**
 * serviceIdentity names the service a container belongs to. Replicas share it: compose
 * `service-project`, Swarm task containers their service, else the container itself.
 * `ruleName` is the template's `.Name` (the compose service or the container name).
 */
export function serviceIdentity(c: ContainerInspect): { serviceName: string; ruleName: string } {
  const labels = c.Config?.Labels ?? {};
  const name = containerName(c);
  const composeService = labels['com.docker.compose.service'];
  const composeProject = labels['com.docker.compose.project'];
  if (composeService && composeProject) return { serviceName: normalize(`${composeService}-${composeProject}`), ruleName: composeService };
  const swarmService = labels['com.docker.swarm.service.name'];
  if (swarmService) return { serviceName: normalize(swarmService), ruleName: swarmService };
  return { serviceName: normalize(name), ruleName: name };
}

/** healthy is false while Docker's HEALTHCHECK says starting or unhealthy. */
export function isHealthy(c: ContainerInspect): boolean {
  const h = c.State?.Health?.Status;
  return h === undefined || h === '' || h === 'none' || h === 'healthy';
}

export function takesTraffic(c: ContainerInspect, stopping?: ReadonlySet<string>): string | null {
  if (stopping?.has(c.Id)) return 'being stopped';
  const st = c.State;
  if (st && (st.Running === false || st.Status === 'exited' || st.Status === 'dead' || st.Status === 'created')) return `not running (${st.Status ?? 'stopped'})`;
  if (st?.Paused) return 'paused';
  if (st?.Restarting) return 'restarting';
  if (!isHealthy(c)) return `health ${c.State?.Health?.Status}`;
  return null;
}

export function buildDockerConfig(containers: Iterable<ContainerInspect>, opts: BuildOptions = {}): BuildResult {
  const parts: SourcedConfig[] = [];
  const errors: ProviderError[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const sorted = [...containers].sort((a, b) => compareOrdinal(containerName(a), containerName(b)));
  for (const c of sorted) {
    const name = containerName(c);
    const source = `container ${name}`;
    const labels = c.Config?.Labels ?? {};
    const why = takesTraffic(c, opts.stopping);
    if (why !== null) {
      skipped.push({ name, reason: why });
      if (opts.allowEmptyServices && c.State?.Running !== false) {
        const empty = emptyServices(c, opts);
        if (empty) parts.push({ source, config: empty });
      }
      continue;
    }
    if (opts.constraints && !opts.constraints(labels)) {
      skipped.push({ name, reason: 'does not match the constraints' });
      continue;
    }
    const { serviceName, ruleName } = serviceIdentity(c);
    const res = buildContainerConfig(
      { source, name: ruleName, serviceName, labels, env: envMap(c.Config?.Env) },
      { exposedByDefault: opts.exposedByDefault, domain: opts.domain, defaultRule: opts.defaultRule, certResolver: opts.certResolver },
    );
    if (!res.enabled) {
      skipped.push({ name, reason: 'not enabled' });
      continue;
    }
    errors.push(...res.errors);
    const addr = containerAddress(c, opts.network);
    if (!addr.ok) {
      errors.push({ source, message: `${source}: ${addr.reason}` });
      skipped.push({ name, reason: addr.reason });
      continue;
    }
    if (addr.warning) errors.push({ source, message: `${source}: ${addr.warning}` });
    const target = opts.useBindPortIP ? { ...addr.address, bind: (p: number) => portBinding(c, p) } : addr.address;
    errors.push(...resolveServers(res.config, target, source));
    parts.push({ source, config: res.config });
  }
  const merged = mergeConfigs(parts);
  return { config: merged.config, errors: [...errors, ...merged.errors], skipped };
}

/** emptyServices is the container's configuration with every load balancer emptied. */
function emptyServices(c: ContainerInspect, opts: BuildOptions): DynamicConfig | null {
  const labels = c.Config?.Labels ?? {};
  if (opts.constraints && !opts.constraints(labels)) return null;
  const { serviceName, ruleName } = serviceIdentity(c);
  const res = buildContainerConfig(
    { source: `container ${containerName(c)}`, name: ruleName, serviceName, labels, env: envMap(c.Config?.Env) },
    { exposedByDefault: opts.exposedByDefault, domain: opts.domain, defaultRule: opts.defaultRule, certResolver: opts.certResolver },
  );
  if (!res.enabled || res.errors.length > 0) return null;
  for (const s of ['http', 'tcp', 'udp'] as const) {
    const services = (res.config[s] as { services?: Record<string, { loadBalancer?: { servers?: unknown[] } }> } | undefined)?.services;
    for (const svc of Object.values(services ?? {})) if (svc.loadBalancer) svc.loadBalancer.servers = [];
  }
  return res.config;
}
