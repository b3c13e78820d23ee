/**
 * createProviders builds the providers the static configuration enables, in a fixed order.
 * Each one is a class implementing Provider; this is the only place that knows them all.
 * Each provider's modules are loaded only when it is enabled: a proxy fed by one file does not
 * carry the Docker, Swarm, etcd, Consul and REST clients (~40 modules) in memory.
 */
import type { StaticConfig } from '../config/static/index.js';
import type { Logger } from '../observability/logger.js';
import type { Provider } from './provider.js';
import path from 'node:path';
import { readTlsFiles } from './tls-files.js';
import type { EtcdProvider } from './etcd/index.js';
import type { InstanceRegistry } from './rest/index.js';

type DockerSection = NonNullable<StaticConfig['providers']['docker']>;

function dockerCommon(d: DockerSection, at: 'providers.docker' | 'providers.swarm', cwd: string) {
  return {
    endpoint: d.endpoint,
    tls: readTlsFiles(d.tls, `${at}.tls`, cwd),
    httpClientTimeoutMs: d.httpClientTimeout,
    exposedByDefault: d.exposedByDefault,
    domain: d.domain,
    network: d.network,
    defaultRule: d.defaultRule,
    constraints: d.constraints,
    watch: d.watch,
  };
}

export async function createProviders(c: StaticConfig, cwd: string, logger: Logger): Promise<Provider[]> {
  const out: Provider[] = [];
  const p = c.providers;
  // Paths in the static configuration are already absolute (resolved against the working directory).
  if (p.file !== null) {
    const { FileProvider } = await import('./file/index.js');
    out.push(new FileProvider({ filename: p.file.filename, directory: p.file.directory, watch: p.file.watch }));
  }
  if (p.docker !== null) {
    const { DockerProvider } = await import('./docker/index.js');
    out.push(new DockerProvider({ ...dockerCommon(p.docker, 'providers.docker', cwd), useBindPortIP: p.docker.useBindPortIP, allowEmptyServices: p.docker.allowEmptyServices }));
  }
  // Registries are started before the REST provider, whose Docker Flow Proxy registrations read them.
  const registries: InstanceRegistry[] = [];
  if (p.swarm !== null) {
    const { SwarmProvider } = await import('./swarm/index.js');
    const swarm = new SwarmProvider({
      ...dockerCommon(p.swarm, 'providers.swarm', cwd),
      refreshSeconds: p.swarm.refreshSeconds,
      useBindPortIP: p.swarm.useBindPortIP,
      allowEmptyServices: p.swarm.allowEmptyServices,
    });
    out.push(swarm);
    registries.push(swarm);
  }
  let etcd: EtcdProvider | null = null;
  if (p.etcd !== null) {
    const { EtcdClient, EtcdProvider } = await import('./etcd/index.js');
    const { etcdClientOptions } = await import('./etcd/options.js');
    // TLS and the user apply to every use of etcd (REST registrations and ACME storage too).
    const client = new EtcdClient(etcdClientOptions(p.etcd, cwd, logger.child({ component: 'etcd' })));
    // `registratorPrefix` is Registrator's URI path (etcd://host:2379/services); read when the static schema offers it.
    const registratorPrefix = (p.etcd as { registratorPrefix?: string }).registratorPrefix ?? '/services';
    etcd = new EtcdProvider({ client, rootKey: p.etcd.rootKey, registratorPrefix });
    out.push(etcd);
    registries.push(etcd);
  }
  if (p.consulCatalog !== null) {
    const cc = p.consulCatalog;
    const { ConsulCatalogProvider } = await import('./consul/index.js');
    const consul = new ConsulCatalogProvider({
      address: cc.endpoint.address,
      scheme: cc.endpoint.scheme,
      datacenter: cc.endpoint.datacenter,
      token: cc.endpoint.token,
      prefix: cc.prefix,
      exposedByDefault: cc.exposedByDefault,
      defaultRule: cc.defaultRule,
      waitMs: cc.refreshInterval,
      tls: readTlsFiles(cc.endpoint.tls, 'providers.consulCatalog.endpoint.tls', cwd),
      constraints: cc.constraints,
      watch: cc.watch,
    });
    out.push(consul);
    registries.push(consul);
  }
  if (p.rest !== null) {
    const { EtcdStorage, FileStorage, RestProvider } = await import('./rest/index.js');
    // With etcd on, registrations live in etcd so that every replica serves them; else in a local file.
    const storage = etcd !== null ? new EtcdStorage(etcd.client, etcd.restStateKey) : new FileStorage(p.rest.storage ?? path.resolve(cwd, 'gantry-rest.json'));
    out.push(new RestProvider({ storage, registries }));
  }
  return out;
}
