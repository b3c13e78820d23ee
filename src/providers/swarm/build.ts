/**
 * buildSwarmConfig turns Swarm services (their labels: `deploy.labels` in a stack file) and their
 * running tasks into the Swarm provider's dynamic configuration.
 *
 * Where requests go:
 * - By default to the service's virtual IP (Swarm balances; `gantry.docker.lbswarm=true`).
 * - With `gantry.docker.lbswarm=false` (or `traefik.docker.lbswarm=false`), a DNS-round-robin
 *   endpoint, or on the host network (no VIP there), to each running task. A host-network task
 *   answers on its node: 127.0.0.1 when that is this node, else the node's address; its port is
 *   `gantry.docker.portbase + Task.Slot` when that label is set (replicas on one host cannot share
 *   a port), else the port label.
 * - With `useBindPortIP`, to each task's port published in host mode (`--publish mode=host`) on its
 *   node: 127.0.0.1 on this node, else the node's address. A task without such a port falls back to
 *   the rules above, as Traefik falls back to the internal address.
 * - With `allowEmptyServices`, a service with no running task (scaled to 0, or its tasks still
 *   starting or unhealthy) keeps its routers and an empty load balancer: they answer 503, not 404.
 */
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import { buildContainerConfig, envMap, labelValue, normalize, resolveServers } from '../../config/labels/index.js';
import type { LabelPredicate } from '../docker/constraints.js';
import { mergeConfigs, type SourcedConfig } from '../docker/merge.js';
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/types.js';
import type { ProviderError } from '../provider.js';
import { compareOrdinal } from '../../ordinal.js';

export interface SwarmBuildOptions {
  exposedByDefault?: boolean;
  domain?: string;
  defaultRule?: string;
  /** Network (name) whose VIP / task address to use. */
  network?: string;
  certResolver?: string;
  constraints?: LabelPredicate;
  /** This node's ID (`/info` Swarm.NodeID): its host-network tasks answer on 127.0.0.1. */
  localNodeId?: string;
  /** Task container IDs being stopped (kill/stop events): left out at once. */
  stopping?: ReadonlySet<string>;
  useBindPortIP?: boolean;
  allowEmptyServices?: boolean;
}

type Obj = Record<string, unknown>;

function stripMask(addr: string): string {
  const slash = addr.indexOf('/');
  return slash < 0 ? addr : addr.slice(0, slash);
}

function boolLabel(labels: Record<string, string>, keys: string[]): boolean | undefined {
  for (const k of keys) {
    const v = labelValue(labels, k);
    if (v !== undefined) return v.trim().toLowerCase() === 'true';
  }
  return undefined;
}

export function isRunningTask(t: SwarmTask, stopping?: ReadonlySet<string>): boolean {
  if (t.DesiredState !== 'running' || t.Status?.State !== 'running') return false;
  const cid = t.Status?.ContainerStatus?.ContainerID;
  return !(cid && stopping?.has(cid));
}

function onHostNetwork(tasks: SwarmTask[]): boolean {
  return tasks.some((t) => (t.NetworksAttachments ?? []).some((a) => a.Network?.Spec?.Name === 'host'));
}

/** servicePort is the single target port the endpoint publishes, if any. */
function servicePort(s: SwarmService): number | undefined {
  const ports = (s.Endpoint?.Ports ?? s.Spec?.EndpointSpec?.Ports ?? []).filter((p) => (p.Protocol ?? 'tcp') === 'tcp').map((p) => p.TargetPort);
  const uniq = [...new Set(ports.filter((p): p is number => typeof p === 'number'))];
  return uniq.length === 1 ? uniq[0] : undefined;
}

export function buildSwarmConfig(
  services: SwarmService[],
  tasks: SwarmTask[],
  nodes: SwarmNode[],
  opts: SwarmBuildOptions = {},
): { config: DynamicConfig; errors: ProviderError[] } {
  const parts: SourcedConfig[] = [];
  const errors: ProviderError[] = [];
  const byService = new Map<string, SwarmTask[]>();
  for (const t of tasks) {
    if (!t.ServiceID) continue;
    const list = byService.get(t.ServiceID) ?? [];
    list.push(t);
    byService.set(t.ServiceID, list);
  }
  const nodeAddr = new Map(nodes.map((n) => [n.ID, n.Status?.Addr]));
  const sorted = [...services].sort((a, b) => compareOrdinal(a.Spec?.Name ?? a.ID, b.Spec?.Name ?? b.ID));
  for (const svc of sorted) {
    const name = svc.Spec?.Name ?? svc.ID;
    const source = `service ${name}`;
    const labels = svc.Spec?.Labels ?? {};
    if (opts.constraints && !opts.constraints(labels)) continue;
    const res = buildContainerConfig(
      { source, name, serviceName: normalize(name), labels, env: envMap(svc.Spec?.TaskTemplate?.ContainerSpec?.Env) },
      { exposedByDefault: opts.exposedByDefault, domain: opts.domain, defaultRule: opts.defaultRule, certResolver: opts.certResolver },
    );
    if (!res.enabled) continue;
    errors.push(...res.errors);
    const all = byService.get(svc.ID) ?? [];
    const running = all.filter((t) => isRunningTask(t, opts.stopping));
    if (running.length === 0) {
      if (opts.allowEmptyServices && res.errors.length === 0) parts.push({ source, config: withoutServers(res.config) });
      continue;
    }
    const network = labelValue(labels, 'gantry.docker.network') ?? labelValue(labels, 'traefik.docker.network') ?? opts.network;
    const hostNet = onHostNetwork(all);
    const lbSwarm = boolLabel(labels, ['gantry.docker.lbswarm', 'traefik.docker.lbswarm']) ?? true;
    const vips = (svc.Endpoint?.VirtualIPs ?? []).filter((v) => v.Addr);
    const dnsrr = (svc.Endpoint?.Spec?.Mode ?? svc.Spec?.EndpointSpec?.Mode) === 'dnsrr';
    const defaultPort = servicePort(svc);

    const nodeHost = (t: SwarmTask) => (!t.NodeID || t.NodeID === opts.localNodeId ? '127.0.0.1' : nodeAddr.get(t.NodeID));
    const bound = opts.useBindPortIP === true && running.some((t) => hostPorts(t).length > 0);
    if (lbSwarm && !hostNet && !dnsrr && vips.length > 0 && !bound) {
      const netId = network ? networkId(all, network) : undefined;
      const vip = (netId && vips.find((v) => v.NetworkID === netId)) || vips[0]!;
      errors.push(...resolveServers(res.config, { host: stripMask(vip.Addr!), port: defaultPort }, source));
      parts.push({ source, config: res.config });
      continue;
    }

    const portBaseText = labelValue(labels, 'gantry.docker.portbase') ?? labelValue(labels, 'traefik.docker.portbase');
    const portBase = portBaseText !== undefined ? Number(portBaseText.trim()) : undefined;
    if (portBase !== undefined && !Number.isInteger(portBase)) {
      errors.push({ source: `${source} label gantry.docker.portbase`, message: `${source}: label gantry.docker.portbase: ${JSON.stringify(portBaseText)} is not a number` });
      continue;
    }
    for (const t of running.sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0))) {
      const tsource = `${source} task ${t.Slot ?? t.ID.slice(0, 12)}`;
      let host: string | undefined;
      if (hostNet) {
        host = nodeHost(t);
      } else {
        host = taskAddress(t, network);
      }
      // useBindPortIP: the port this task publishes on its node, for the target port asked.
      const binding = bound ? (p: number) => {
        const hp = hostPorts(t).find((x) => x.TargetPort === p);
        const h = nodeHost(t);
        return hp?.PublishedPort && h ? { host: h, port: hp.PublishedPort } : undefined;
      } : undefined;
      // A task with no address of its own (bridge, no swarm network) is reached only through its
      // published ports: then every port its services use must be published.
      if (!host && binding !== undefined && portsUsed(res.config, defaultPort).every((p) => p !== undefined && binding(p) !== undefined)) host = nodeHost(t);
      if (!host) {
        errors.push({ source: tsource, message: `${tsource}: no address${network ? ` on network ${network}` : ''}` });
        continue;
      }
      const config = structuredClone(res.config);
      let port = defaultPort;
      if (portBase !== undefined && hostNet) {
        port = portBase + (t.Slot ?? 0);
        clearPlaceholderPorts(config);
      }
      errors.push(...resolveServers(config, { host, port, ...(binding !== undefined ? { bind: binding } : {}) }, tsource));
      parts.push({ source: tsource, config });
    }
  }
  const merged = mergeConfigs(parts);
  return { config: merged.config, errors: [...errors, ...merged.errors] };
}

/**
 * buildSwarmInstances lists, per Swarm service name, the server URLs of its running tasks: the
 * instance registry behind a Docker Flow Proxy `reconfigure` without a port (issue 5). It uses
 * the same addresses as buildSwarmConfig: a host-network task on 127.0.0.1 (this node) or its
 * node's address, at `gantry.docker.portbase + Task.Slot`; otherwise the service's virtual IP (or
 * each task with `lbswarm=false` or DNS round robin). The port, when no port base applies, is the
 * service's `com.df.port` label, else its one `*.http.services.*.loadbalancer.server.port` label,
 * else the one port its endpoint publishes.
 *
 * Labels do not decide here: the registration is an explicit request, so `gantry.enable`,
 * `exposedByDefault` and constraints (which choose the services routed by their labels) do not
 * apply. A service whose port cannot be found is left out, so that a reconfigure `port` applies.
 */
export function buildSwarmInstances(
  services: SwarmService[],
  tasks: SwarmTask[],
  nodes: SwarmNode[],
  opts: Pick<SwarmBuildOptions, 'network' | 'localNodeId' | 'stopping'> = {},
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const nodeAddr = new Map(nodes.map((n) => [n.ID, n.Status?.Addr]));
  for (const svc of services) {
    const name = svc.Spec?.Name;
    if (!name) continue;
    const labels = svc.Spec?.Labels ?? {};
    const all = tasks.filter((t) => t.ServiceID === svc.ID);
    const running = all.filter((t) => isRunningTask(t, opts.stopping)).sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
    const network = labelValue(labels, 'gantry.docker.network') ?? labelValue(labels, 'traefik.docker.network') ?? opts.network;
    const hostNet = onHostNetwork(all);
    const portBaseText = labelValue(labels, 'gantry.docker.portbase') ?? labelValue(labels, 'traefik.docker.portbase');
    const portBase = portBaseText !== undefined && /^\s*\d+\s*$/.test(portBaseText) ? Number(portBaseText) : undefined;
    const port = labelPort(labels) ?? servicePort(svc);
    const urls: string[] = [];
    if (hostNet) {
      if (portBase === undefined && port === undefined) continue;
      for (const t of running) {
        const host = !t.NodeID || t.NodeID === opts.localNodeId ? '127.0.0.1' : nodeAddr.get(t.NodeID);
        if (host) urls.push(hostUrl(host, portBase !== undefined ? portBase + (t.Slot ?? 0) : port!));
      }
      out.set(name, urls);
      continue;
    }
    if (port === undefined) continue;
    const lbSwarm = boolLabel(labels, ['gantry.docker.lbswarm', 'traefik.docker.lbswarm']) ?? true;
    const vips = (svc.Endpoint?.VirtualIPs ?? []).filter((v) => v.Addr);
    const dnsrr = (svc.Endpoint?.Spec?.Mode ?? svc.Spec?.EndpointSpec?.Mode) === 'dnsrr';
    if (lbSwarm && !dnsrr && vips.length > 0) {
      const netId = network ? networkId(all, network) : undefined;
      const vip = (netId && vips.find((v) => v.NetworkID === netId)) || vips[0]!;
      // The VIP answers only while a task runs; with none, the service has no instance.
      if (running.length > 0) urls.push(hostUrl(stripMask(vip.Addr!), port));
    } else {
      for (const t of running) {
        const host = taskAddress(t, network);
        if (host) urls.push(hostUrl(host, port));
      }
    }
    out.set(name, urls);
  }
  return out;
}

function hostUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** labelPort is the port a service's labels give: `com.df.port`, else one distinct server port label. */
function labelPort(labels: Record<string, string>): number | undefined {
  const ok = (v: string | undefined) => (v !== undefined && /^\s*\d{1,5}\s*$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? Number(v) : undefined);
  const df = ok(labelValue(labels, 'com.df.port'));
  if (df !== undefined) return df;
  const ports = new Set<number>();
  for (const [k, v] of Object.entries(labels)) {
    if (!/^(gantry|traefik)\.http\.services\.[^.]+\.loadbalancer\.server\.port$/i.test(k)) continue;
    const n = ok(v);
    if (n !== undefined) ports.add(n);
  }
  return ports.size === 1 ? [...ports][0] : undefined;
}

function networkId(tasks: SwarmTask[], name: string): string | undefined {
  for (const t of tasks) for (const a of t.NetworksAttachments ?? []) if (a.Network?.Spec?.Name === name || a.Network?.Spec?.Name?.endsWith('_' + name)) return a.Network.ID;
  return undefined;
}

function taskAddress(t: SwarmTask, network?: string): string | undefined {
  const atts = (t.NetworksAttachments ?? []).filter((a) => (a.Addresses ?? []).length > 0);
  const pick =
    (network && atts.find((a) => a.Network?.Spec?.Name === network || a.Network?.Spec?.Name?.endsWith('_' + network))) ||
    atts.find((a) => a.Network?.Spec?.Name !== 'ingress') ||
    atts[0];
  const addr = pick?.Addresses?.[0];
  return addr ? stripMask(addr) : undefined;
}

/** portsUsed: the port of every server placeholder of a configuration (undefined: none known). */
function portsUsed(config: DynamicConfig, fallback: number | undefined): Array<number | undefined> {
  const out: Array<number | undefined> = [];
  for (const s of ['http', 'tcp', 'udp'] as const) {
    const services = ((config as Obj)[s] as Obj | undefined)?.['services'] as Record<string, Obj> | undefined;
    for (const svc of Object.values(services ?? {})) {
      for (const srv of ((svc['loadBalancer'] as Obj | undefined)?.['servers'] as Obj[] | undefined) ?? []) {
        if (srv['url'] === undefined && srv['address'] === undefined) out.push((srv['port'] as number | undefined) ?? fallback);
      }
    }
  }
  return out;
}

/** hostPorts: the task's TCP ports published in host mode on its node. */
function hostPorts(t: SwarmTask): Array<{ TargetPort?: number; PublishedPort?: number }> {
  return (t.Status?.PortStatus?.Ports ?? []).filter((p) => p.PublishMode === 'host' && (p.Protocol ?? 'tcp') === 'tcp' && p.PublishedPort);
}

/** withoutServers empties every load balancer of a service's configuration (allowEmptyServices). */
function withoutServers(config: DynamicConfig): DynamicConfig {
  const copy = structuredClone(config);
  for (const s of ['http', 'tcp', 'udp'] as const) {
    const services = ((copy as Obj)[s] as Obj | undefined)?.['services'] as Record<string, Obj> | undefined;
    for (const svc of Object.values(services ?? {})) {
      const lb = svc['loadBalancer'] as Obj | undefined;
      if (lb !== undefined) lb['servers'] = [];
    }
  }
  return copy;
}

/** With a port base, each task's port is base + slot, whatever a port label says. */
function clearPlaceholderPorts(config: DynamicConfig): void {
  for (const s of ['http', 'tcp', 'udp'] as const) {
    const services = ((config as Obj)[s] as Obj | undefined)?.['services'] as Record<string, Obj> | undefined;
    for (const svc of Object.values(services ?? {})) {
      const servers = (svc['loadBalancer'] as Obj | undefined)?.['servers'] as Obj[] | undefined;
      for (const srv of servers ?? []) if (srv['url'] === undefined && srv['address'] === undefined) delete srv['port'];
    }
  }
}
