/**
 * etcdClientOptions turns the static `providers.etcd` section into the options of an EtcdClient:
 * the etcd provider, REST registrations and ACME storage (`storage: etcd`) all use it, so they
 * all talk to etcd as the same user over the same TLS. Certificate files are read now, so a
 * missing one stops the start with the option named (tls-files.ts).
 */
import type { StaticConfig } from '../../config/static/index.js';
import type { Logger } from '../../observability/logger.js';
import { readTlsFiles } from '../tls-files.js';
import type { EtcdClientOptions } from './client.js';

export type EtcdSection = NonNullable<StaticConfig['providers']['etcd']>;

/** etcdClientOptions: endpoints, TLS and user of `providers.etcd`, for one EtcdClient. */
export function etcdClientOptions(e: EtcdSection, cwd: string, logger?: Logger): EtcdClientOptions {
  const tls = readTlsFiles(e.tls, 'providers.etcd.tls', cwd);
  return {
    endpoints: [...e.endpoints],
    ...(tls !== undefined ? { tls } : {}),
    // A user given without a password is sent with an empty one; etcd says what it thinks of that.
    ...(e.username !== undefined ? { auth: { username: e.username, password: e.password ?? '' } } : {}),
    configPath: 'providers.etcd',
    ...(logger !== undefined ? { logger } : {}),
  };
}
