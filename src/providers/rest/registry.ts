/**
 * InstanceRegistry is a source of service instances that is not itself a route source: the running
 * tasks of a Swarm service (the Swarm provider), the etcd Registrator layout
 * (`/services/<name>/<id>` = `host:port`), the Consul catalog's passing instances. A Docker Flow
 * Proxy registration without a port takes its servers from the first registry that knows the
 * service (in that order: swarm, etcd, consul, as createProviders lists them), and is rebuilt
 * whenever that registry changes.
 */
export interface InstanceRegistry {
  /** Shown in messages: `swarm tasks`, `etcd /services`, `consul catalog`. */
  readonly registryName: string;
  /** instances returns server URLs (`http://host:port`), or null when the service is unknown here. */
  instances(service: string): string[] | null;
  /** onInstancesChange registers a callback run after any change of any service's instances. */
  onInstancesChange(fn: () => void): void;
}

/** lookupInstances asks each registry in order; the first that knows the service answers. */
export function lookupInstances(registries: readonly InstanceRegistry[], service: string): { registry: string; urls: string[] } | null {
  for (const r of registries) {
    const urls = r.instances(service);
    if (urls !== null) return { registry: r.registryName, urls };
  }
  return null;
}

/** instanceUrl turns a registry value (`host:port`, `[::1]:80` or a URL) into a server URL, or null. */
export function instanceUrl(value: string): string | null {
  const v = value.trim();
  if (/^https?:\/\//i.test(v)) {
    try {
      return new URL(v).origin;
    } catch {
      return null;
    }
  }
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(v);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return `http://${m[1]}:${Number(m[2])}`;
}
