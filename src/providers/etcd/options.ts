/**
 * etcdClientOptions turns the static `providers.etcd` section into the options of an EtcdClient:
 * the etcd provider, REST registrations and ACME storage (`storage: etcd`) all use it, so they
 * all talk to etcd as the same user over the same TLS. Certificate files are read now, so a
 * missing one stops the start with the option named, not later inside a retry loop.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StaticConfig } from '../../config/static/index.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { EtcdClientOptions, EtcdTlsOptions } from './client.js';

export type EtcdSection = NonNullable<StaticConfig['providers']['etcd']>;

const PATH = 'providers.etcd';

function readPem(option: string, file: string, cwd: string): Buffer {
  try {
    return readFileSync(path.resolve(cwd, file));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${PATH}.tls.${option}`, `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

/** etcdTls reads the CA, certificate and key files; undefined when `tls` is not configured. */
export function etcdTls(e: EtcdSection, cwd: string): EtcdTlsOptions | undefined {
  const t = e.tls;
  if (t === null) return undefined;
  // A certificate without its key (or the reverse) is refused by the static configuration's checks.
  return {
    ...(t.ca !== undefined ? { ca: readPem('ca', t.ca, cwd) } : {}),
    ...(t.cert !== undefined ? { cert: readPem('cert', t.cert, cwd) } : {}),
    ...(t.key !== undefined ? { key: readPem('key', t.key, cwd) } : {}),
    insecureSkipVerify: t.insecureSkipVerify,
  };
}

/** etcdClientOptions: endpoints, TLS and user of `providers.etcd`, for one EtcdClient. */
export function etcdClientOptions(e: EtcdSection, cwd: string, logger?: Logger): EtcdClientOptions {
  const tls = etcdTls(e, cwd);
  return {
    endpoints: [...e.endpoints],
    ...(tls !== undefined ? { tls } : {}),
    // etcd users may have no password (certificate-only users); an empty one is sent as such.
    ...(e.username !== undefined ? { auth: { username: e.username, password: e.password ?? '' } } : {}),
    configPath: PATH,
    ...(logger !== undefined ? { logger } : {}),
  };
}
