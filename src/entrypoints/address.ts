/**
 * Address parsing shared by entrypoints: listen addresses in Traefik's form (`:80`, `127.0.0.1:8080`,
 * `[::1]:443`) and Host header values (host and optional port, IPv6 in brackets).
 */
import { ConfigError } from '../errors.js';

export function parseListenAddress(address: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*))?:(\d{1,5})$/.exec(address.trim());
  if (m === null) throw new ConfigError('address', `"${address}" is not a listen address (use :80 or 127.0.0.1:80)`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError('address', `port ${port} out of range`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

const HOST_CHARS = /^[a-z0-9._~!$&'()*+,;=%-]+$/;

export type HostHeader = Readonly<{ host: string; port: string | null }>;

/**
 * The last Host value parsed and its result: a keep-alive client, and most traffic, sends one
 * value over and over. A hit costs one string comparison instead of the checks and the
 * lower-casing, and hands back the same `host` string, whose hash the router's Map lookup has
 * already computed.
 */
let lastHostValue = '';
let lastHost: HostHeader = Object.freeze({ host: '', port: null });

/** parseHostHeader returns the lower-case host and its port text, or null when the value is not a host. */
export function parseHostHeader(value: string): HostHeader | null {
  if (value === lastHostValue) return lastHost;
  const parsed = parseHostValue(value);
  if (parsed !== null) {
    lastHostValue = value;
    lastHost = Object.freeze(parsed);
  }
  return parsed;
}

function parseHostValue(value: string): { host: string; port: string | null } | null {
  if (value === '') return { host: '', port: null };
  let host: string;
  let port: string | null = null;
  if (value.charCodeAt(0) === 91 /* [ */) {
    const end = value.indexOf(']');
    if (end < 0) return null;
    host = value.slice(0, end + 1).toLowerCase();
    const rest = value.slice(end + 1);
    if (rest !== '') {
      if (!/^:\d{1,5}$/.test(rest)) return null;
      port = rest.slice(1);
    }
    return { host, port };
  }
  const colon = value.lastIndexOf(':');
  if (colon >= 0) {
    port = value.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port)) return null;
    host = value.slice(0, colon);
  } else {
    host = value;
  }
  host = host.toLowerCase();
  if (!HOST_CHARS.test(host)) return null;
  return { host, port };
}
