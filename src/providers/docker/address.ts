/**
 * Where a container answers: its IP on the chosen network and its own port (Traefik's docker
 * `getIPAddress` / `getPort`).
 *
 * - `HostConfig.NetworkMode == "host"`: the container shares the host's stack; it has no IP and no
 *   published ports, so the address is 127.0.0.1 and the port comes from a label (or the image's
 *   exposed port, if it declares exactly the one it listens on).
 * - Otherwise the IP on the network named by the `gantry.docker.network` / `traefik.docker.network`
 *   label, else on the provider's `network` option, else on the container's only network (with
 *   several and no choice, the first by name that has an IP, as Traefik does).
 * - The port is the lowest exposed (or published) TCP port; labels override it.
 */
import { labelValue } from '../../config/labels/index.js';
import type { ContainerInspect } from './types.js';

export interface ContainerAddress {
  host: string;
  /** The container's own port when it exposes one; undefined when a label must give it. */
  port?: number;
}

export type AddressResult = { ok: true; address: ContainerAddress; warning?: string } | { ok: false; reason: string };

export function containerAddress(c: ContainerInspect, network?: string): AddressResult {
  const labels = c.Config?.Labels ?? {};
  const port = containerPort(c);
  const mode = c.HostConfig?.NetworkMode ?? '';
  if (mode === 'host') return { ok: true, address: { host: '127.0.0.1', port } };
  if (mode.startsWith('container:')) {
    return { ok: false, reason: `shares the network of ${mode.slice('container:'.length)}; give it its own network or route to that container` };
  }
  const networks = c.NetworkSettings?.Networks ?? {};
  const wanted = labelValue(labels, 'gantry.docker.network') ?? labelValue(labels, 'traefik.docker.network') ?? network;
  let warning: string | undefined;
  if (wanted !== undefined && wanted !== '') {
    const ip = ipOf(networks[wanted]) ?? findByNetworkName(networks, wanted);
    if (ip) return { ok: true, address: { host: ip, port } };
    warning = `not on network "${wanted}"; using another of its networks`;
  }
  const names = Object.keys(networks).sort();
  for (const name of names) {
    const ip = ipOf(networks[name]);
    if (ip) return found(ip, port, warning);
  }
  if (c.NetworkSettings?.IPAddress) return found(c.NetworkSettings.IPAddress, port, warning);
  return { ok: false, reason: names.length === 0 ? 'has no network' : `has no IP address on ${names.join(', ')}` };
}

function found(host: string, port: number | undefined, warning: string | undefined): AddressResult {
  return warning === undefined ? { ok: true, address: { host, port } } : { ok: true, address: { host, port }, warning };
}

function ipOf(ep: { IPAddress?: string; GlobalIPv6Address?: string } | undefined): string | undefined {
  if (!ep) return undefined;
  return ep.IPAddress || ep.GlobalIPv6Address || undefined;
}

/** Compose prefixes network names with the project (`proj_proxy`); accept the bare name too. */
function findByNetworkName(networks: Record<string, { IPAddress?: string }>, wanted: string): string | undefined {
  for (const [name, ep] of Object.entries(networks)) {
    if (name.endsWith('_' + wanted)) {
      const ip = ipOf(ep);
      if (ip) return ip;
    }
  }
  return undefined;
}

/** containerPort is the lowest TCP port the container exposes or publishes; undefined when none. */
export function containerPort(c: ContainerInspect): number | undefined {
  const ports = new Set<number>();
  for (const src of [c.Config?.ExposedPorts, c.NetworkSettings?.Ports]) {
    for (const key of Object.keys(src ?? {})) {
      const [p, proto = 'tcp'] = key.split('/');
      const n = Number(p);
      if (proto === 'tcp' && Number.isInteger(n) && n > 0) ports.add(n);
    }
  }
  if (ports.size === 0) return undefined;
  return Math.min(...ports);
}

/**
 * portBinding finds the host binding publishing a container port (`-p 8080:80`), for
 * `useBindPortIP`. A binding on every interface (0.0.0.0, ::) is reached on 127.0.0.1.
 */
export function portBinding(c: ContainerInspect, port: number): { host: string; port: number } | undefined {
  const bindings = c.NetworkSettings?.Ports?.[`${port}/tcp`] ?? c.HostConfig?.PortBindings?.[`${port}/tcp`] ?? null;
  for (const b of bindings ?? []) {
    const hp = Number(b.HostPort);
    if (!Number.isInteger(hp) || hp <= 0) continue;
    const ip = !b.HostIp || b.HostIp === '0.0.0.0' || b.HostIp === '::' ? '127.0.0.1' : b.HostIp;
    return { host: ip, port: hp };
  }
  return undefined;
}
