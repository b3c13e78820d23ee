/**
 * readTlsFiles reads the PEM files of a provider's client TLS options (`tls.ca`, `tls.cert`,
 * `tls.key`, as Traefik names them for Docker, Swarm, etcd and Consul) when Gantry starts, so a
 * file that is missing or unreadable stops the start with the option named rather than failing
 * later inside a reconnect loop. A certificate without its key is refused earlier, by the static
 * configuration's checks (load.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

export interface TlsFileOptions {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecureSkipVerify: boolean;
}

/** TlsContents are the files' contents, ready for `tls.connect` / undici's `connect` options. */
export interface TlsContents {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipVerify: boolean;
}

/** readTlsFiles returns undefined when the section is off (null); `at` is its path, e.g. `providers.etcd.tls`. */
export function readTlsFiles(t: TlsFileOptions | null, at: string, cwd: string): TlsContents | undefined {
  if (t === null) return undefined;
  const read = (option: 'ca' | 'cert' | 'key', file: string): Buffer => {
    try {
      return readFileSync(path.resolve(cwd, file));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigError(`${at}.${option}`, `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
  };
  return {
    ...(t.ca !== undefined ? { ca: read('ca', t.ca) } : {}),
    ...(t.cert !== undefined ? { cert: read('cert', t.cert) } : {}),
    ...(t.key !== undefined ? { key: read('key', t.key) } : {}),
    insecureSkipVerify: t.insecureSkipVerify,
  };
}
