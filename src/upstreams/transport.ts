/**
 * Servers transports (Traefik's `serversTransport`): how Gantry talks to a service's servers —
 * timeouts, idle connections kept, and TLS to https:// servers (the CAs trusted, a client
 * certificate for mTLS, the server name sent and checked, versions and cipher suites). The static
 * `serversTransport` is the default one (`default@internal`); `http.serversTransports.<name>`
 * defines others that a load balancer selects with `serversTransport: <name>`.
 *
 * compileServersTransport resolves one definition into TransportOptions, reading the PEM files
 * once (a file that cannot be read is an error naming the option), and gives it a key: two
 * definitions with the same effect share connection pools, and an unchanged one keeps its pools
 * across reloads.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { parseDuration } from '../config/duration.js';
import { CIPHER_SUITES, TLS_VERSIONS } from '../tls/options.js';

/** Which client forwards to http:// servers: Gantry's own (h1/) or undici's Pool. https:// always uses undici. */
export type UpstreamClient = 'gantry' | 'undici';

/** TlsClientOptions is what a TLS connection to a server is opened with. */
export interface TlsClientOptions {
  /** Trusted CAs (PEM); none = Node's bundled roots. Given, they replace the roots, as Go's RootCAs do. */
  readonly ca: readonly string[] | null;
  /** Client certificate chain and key for mTLS (PEM), or null. */
  readonly cert: string | null;
  readonly key: string | null;
  /** SNI and the name the certificate must carry; '' = the server URL's host. */
  readonly serverName: string;
  readonly insecureSkipVerify: boolean;
  readonly minVersion: tls.SecureVersion | null;
  readonly maxVersion: tls.SecureVersion | null;
  /** OpenSSL cipher list (TLS 1.2 and older), or null for the defaults. */
  readonly ciphers: string | null;
  /** The server certificate must carry this URI SAN (instead of the host name), or ''. */
  readonly peerCertURI: string;
}

export interface TransportOptions {
  /** Connect (dial) timeout in ms; 0 = none. */
  dialTimeoutMs: number;
  /** Time to wait for the response head after the request was sent, in ms; 0 = no limit. */
  responseHeaderTimeoutMs: number;
  /** How long an idle keep-alive connection to a server is kept, in ms. */
  idleConnTimeoutMs: number;
  /** Skip TLS verification of https:// servers (the static option; `tls` wins when given). */
  insecureSkipVerify: boolean;
  /** Client for http:// servers (default 'gantry'). */
  client?: UpstreamClient;
  /** Idle keep-alive connections kept per origin (default 200); negative: no connection is reused. */
  maxIdleConnsPerHost?: number;
  /** TLS to https:// servers; null = verify against Node's roots with the URL's host name. */
  tls?: TlsClientOptions | null;
  /** `disableHTTP2`: never HTTP/2 to https:// servers (otherwise offered by ALPN; h2c:// servers are HTTP/2 by definition). */
  disableHTTP2?: boolean;
}

export const defaultTransport: TransportOptions = {
  dialTimeoutMs: 30_000,
  responseHeaderTimeoutMs: 0,
  idleConnTimeoutMs: 90_000,
  insecureSkipVerify: false,
};

/** TransportError names the option that is wrong (`http.serversTransports.mtls@file.rootCAs[0]: …`). */
export class TransportError extends Error {}

/** readPem takes Traefik's FileOrContent: PEM text as it is, else a file path (relative to cwd). */
export function readPem(value: string, cwd: string, at: string, what: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let pem: string;
  if (value.includes('-----BEGIN')) pem = value;
  else {
    try {
      pem = fs.readFileSync(path.resolve(cwd, value), 'utf8');
    } catch (err) {
      throw new TransportError(`${at}: cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const ok = what === 'CERTIFICATE' ? pem.includes('-----BEGIN CERTIFICATE-----') : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem);
  if (!ok) throw new TransportError(`${at}: no PEM ${what.toLowerCase()} in ${value.includes('-----BEGIN') ? 'the value' : value}`);
  return pem;
}

/** ServersTransportConfig is one validated `http.serversTransports.<name>` (config/dynamic/transports.ts). */
export interface ServersTransportConfig {
  disableHTTP2?: boolean | undefined;
  serverName?: string | undefined;
  insecureSkipVerify?: boolean | undefined;
  rootCAs?: string[] | undefined;
  certificates?: Array<{ certFile: string; keyFile: string }> | undefined;
  cipherSuites?: string[] | undefined;
  minVersion?: string | undefined;
  maxVersion?: string | undefined;
  maxIdleConnsPerHost?: number | undefined;
  forwardingTimeouts?: { dialTimeout?: string | number | undefined; responseHeaderTimeout?: string | number | undefined; idleConnTimeout?: string | number | undefined } | undefined;
  peerCertURI?: string | undefined;
}

/** TlsClientConfig is the TLS part shared by HTTP and TCP servers transports. */
export type TlsClientConfig = Pick<ServersTransportConfig, 'serverName' | 'insecureSkipVerify' | 'rootCAs' | 'certificates' | 'cipherSuites' | 'minVersion' | 'maxVersion' | 'peerCertURI'>;

/**
 * compileTlsClient reads the PEMs and maps the Go names; `at` is the option path for errors. It
 * returns null when nothing TLS-specific is set (Node's defaults then apply).
 */
export function compileTlsClient(c: TlsClientConfig, cwd: string, at: string): TlsClientOptions | null {
  const certs = c.certificates ?? [];
  const set = c.serverName || c.insecureSkipVerify || (c.rootCAs?.length ?? 0) > 0 || certs.length > 0 || (c.cipherSuites?.length ?? 0) > 0 || c.minVersion || c.maxVersion || c.peerCertURI;
  if (!set) return null;
  const ca = (c.rootCAs ?? []).map((v, i) => readPem(v, cwd, `${at}.rootCAs[${i}]`, 'CERTIFICATE'));
  if (certs.length > 1) throw new TransportError(`${at}.certificates: one client certificate at most (Node presents a single one)`);
  let cert: string | null = null;
  let key: string | null = null;
  if (certs.length === 1) {
    cert = readPem(certs[0]!.certFile, cwd, `${at}.certificates[0].certFile`, 'CERTIFICATE');
    key = readPem(certs[0]!.keyFile, cwd, `${at}.certificates[0].keyFile`, 'PRIVATE KEY');
    try {
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
    } catch (err) {
      throw new TransportError(`${at}.certificates[0]: ${(err as Error).message}`);
    }
  }
  const version = (v: string | undefined, field: string): tls.SecureVersion | null => {
    if (v === undefined || v === '') return null;
    const n = TLS_VERSIONS[v];
    if (n === undefined) throw new TransportError(`${at}.${field}: unknown TLS version "${v}"`);
    return n;
  };
  const minVersion = version(c.minVersion, 'minVersion');
  const maxVersion = version(c.maxVersion, 'maxVersion');
  if (minVersion !== null && maxVersion !== null && minVersion > maxVersion) throw new TransportError(`${at}: minVersion ${c.minVersion} is above maxVersion ${c.maxVersion}`);
  let ciphers: string | null = null;
  if ((c.cipherSuites?.length ?? 0) > 0) {
    const names = c.cipherSuites!.map((s, i) => {
      const n = CIPHER_SUITES[s];
      if (n === undefined) throw new TransportError(`${at}.cipherSuites[${i}]: unknown cipher suite "${s}"`);
      return n;
    });
    ciphers = names.filter((n) => n !== '').join(':');
  }
  return { ca: ca.length > 0 ? ca : null, cert, key, serverName: c.serverName ?? '', insecureSkipVerify: c.insecureSkipVerify === true, minVersion, maxVersion, ciphers, peerCertURI: c.peerCertURI ?? '' };
}

const ms = (v: string | number | undefined, def: number): number => (v === undefined ? def : (parseDuration(v) ?? def));

/**
 * compileServersTransport resolves `http.serversTransports.<name>`. Unset fields take Traefik's
 * defaults for a servers transport (dial 30s, idle 90s, 200 idle connections), not the static
 * transport's: in Traefik, too, a named transport starts from the defaults.
 */
export function compileServersTransport(c: ServersTransportConfig, cwd: string, at: string, client: UpstreamClient): TransportOptions {
  const ft = c.forwardingTimeouts ?? {};
  return {
    dialTimeoutMs: ms(ft.dialTimeout, 30_000),
    responseHeaderTimeoutMs: ms(ft.responseHeaderTimeout, 0),
    idleConnTimeoutMs: ms(ft.idleConnTimeout, 90_000),
    insecureSkipVerify: c.insecureSkipVerify === true,
    client,
    maxIdleConnsPerHost: c.maxIdleConnsPerHost ?? 200,
    tls: compileTlsClient(c, cwd, at),
    disableHTTP2: c.disableHTTP2 === true,
  };
}

/** transportKey identifies a transport's effect: equal keys share pools. */
export function transportKey(t: TransportOptions): string {
  return createHash('sha256').update(JSON.stringify(t)).digest('hex').slice(0, 32);
}

/**
 * tlsConnectOptions are the node:tls options for a connection to `host` (undici's `connect`,
 * https.request, tls.connect alike). The server name is sent as SNI unless it is an IP address.
 */
export function tlsConnectOptions(t: TransportOptions, host: string): tls.ConnectionOptions {
  const c = t.tls ?? null;
  const name = c !== null && c.serverName !== '' ? c.serverName : host.replace(/^\[|\]$/g, '');
  const o: tls.ConnectionOptions = { rejectUnauthorized: !(c?.insecureSkipVerify ?? t.insecureSkipVerify) };
  if (net.isIP(name) === 0) o.servername = name;
  if (c === null) return o;
  if (c.ca !== null) o.ca = [...c.ca];
  if (c.cert !== null && c.key !== null) {
    o.cert = c.cert;
    o.key = c.key;
  }
  if (c.minVersion !== null) o.minVersion = c.minVersion;
  if (c.maxVersion !== null) o.maxVersion = c.maxVersion;
  if (c.ciphers !== null) o.ciphers = c.ciphers;
  if (c.serverName !== '' || c.peerCertURI !== '') {
    const uri = c.peerCertURI;
    // The certificate is checked against the configured name, not the URL's host (Go's ServerName);
    // with peerCertURI, the URI SAN is the identity the server must prove.
    o.checkServerIdentity = (_host, cert) => {
      if (uri !== '') {
        const sans = (cert.subjectaltname ?? '').split(', ');
        return sans.includes(`URI:${uri}`) ? undefined : new Error(`server certificate has no URI SAN ${uri}`);
      }
      return tls.checkServerIdentity(name, cert);
    };
  }
  return o;
}
