/**
 * Traefik's ClientTLS (types.ClientTLS): the TLS settings Gantry uses as a client of a server the
 * configuration names — forwardAuth's auth server, rateLimit's Redis. `ca`, `cert` and `key` are
 * file paths or the PEM text itself (Traefik's FileOrContent); `insecureSkipVerify` turns off the
 * server certificate check. A `cert` needs its `key` and the other way round.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import * as z from '../config/zod.js';
import { ConfigError } from '../errors.js';

export const clientTlsSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  insecureSkipVerify: z.boolean().optional(),
});

export type ClientTlsConfig = z.infer<typeof clientTlsSchema>;

/** fileOrContent returns PEM text given inline, else the content of the file (relative to cwd). */
function fileOrContent(v: string, cwd: string, at: string): string {
  if (v.includes('-----BEGIN ')) return v;
  const file = path.resolve(cwd, v);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(at, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * clientTlsOptions reads the files and returns node:tls connection options (servername left to
 * the caller); `at` prefixes error paths (`forwardAuth.tls`).
 */
export function clientTlsOptions(c: ClientTlsConfig, cwd: string, at: string): ConnectionOptions {
  if ((c.cert === undefined) !== (c.key === undefined)) throw new ConfigError(`${at}.${c.cert === undefined ? 'cert' : 'key'}`, 'cert and key go together: set both or neither');
  const out: ConnectionOptions = { rejectUnauthorized: c.insecureSkipVerify !== true };
  if (c.ca !== undefined) out.ca = fileOrContent(c.ca, cwd, `${at}.ca`);
  if (c.cert !== undefined) out.cert = fileOrContent(c.cert, cwd, `${at}.cert`);
  if (c.key !== undefined) out.key = fileOrContent(c.key, cwd, `${at}.key`);
  return out;
}
