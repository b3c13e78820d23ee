/**
 * undici is loaded on first use: plain-http servers go through Gantry's own H1Pool, so a proxy
 * with no https/h2c server, no health check, no forwardAuth and no Docker/etcd/Consul provider
 * never loads its ~110 modules. `require` keeps the call sites synchronous (undici is CommonJS).
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

let lib: typeof Undici | null = null;

export function undici(): typeof Undici {
  return (lib ??= createRequire(import.meta.url)('undici') as typeof Undici);
}
