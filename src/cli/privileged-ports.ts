/**
 * canBindPrivilegedPorts says whether this process may listen on ports below 1024, which decides
 * Gantry's default entrypoints (:80/:443, else :8000/:8443). Not only root may: a process with
 * CAP_NET_BIND_SERVICE may, and so may anyone in a network namespace whose
 * net.ipv4.ip_unprivileged_port_start is at most 80 — which Docker (20.10+) sets to 0 in every
 * container that has its own network, so the image's non-root user gets :80 and :443 as Traefik's
 * image does.
 */
import { readFileSync } from 'node:fs';

/** Linux capability number of CAP_NET_BIND_SERVICE (linux/capability.h). */
const CAP_NET_BIND_SERVICE = 10n;

export interface PrivilegeProbe {
  uid: number | undefined;
  /** Contents of /proc/self/status, or null where there is none. */
  status: string | null;
  /** Contents of /proc/sys/net/ipv4/ip_unprivileged_port_start, or null. */
  unprivilegedPortStart: string | null;
}

export function canBindPrivilegedPorts(probe: PrivilegeProbe = probeSystem()): boolean {
  if (probe.uid === 0) return true;
  const capEff = probe.status?.match(/^CapEff:\s*([0-9a-f]+)\s*$/m)?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> CAP_NET_BIND_SERVICE) & 1n) return true;
  const start = Number(probe.unprivilegedPortStart?.trim());
  return probe.unprivilegedPortStart !== null && Number.isInteger(start) && start <= 80;
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function probeSystem(): PrivilegeProbe {
  return { uid: process.getuid?.(), status: read('/proc/self/status'), unprivilegedPortStart: read('/proc/sys/net/ipv4/ip_unprivileged_port_start') };
}
