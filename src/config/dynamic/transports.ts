/**
 * Schemas of the dynamic sections that say how Gantry reaches servers and serves TLS, in
 * Traefik's shape: `http.serversTransports.<name>`, `tcp.serversTransports.<name>` and
 * `tls.stores.<name>`. Kept apart from schema.ts (routers, services) so that each file stays one
 * concept. What they mean is implemented in upstreams/transport.ts, tcp/service.ts and
 * tls/manager.ts.
 */
import * as z from '../zod.js';
import { CIPHER_SUITES, TLS_VERSIONS } from '../../tls/options.js';
import { durationSchema, signedDurationSchema, signedMs } from './schema.js';

/** A PEM file path or the PEM text itself (Traefik's FileOrContent). */
const fileOrContent = z.string().min(1, 'is empty');

const oneOf = (table: Readonly<Record<string, unknown>>, what: string) => z.string().refine((v) => Object.hasOwn(table, v), { message: `unknown ${what}` });
const tlsVersion = oneOf(TLS_VERSIONS, `TLS version (use ${Object.keys(TLS_VERSIONS).join(', ')})`);

export const clientCertificateSchema = z.strictObject({ certFile: fileOrContent, keyFile: fileOrContent });

/** SPIFFE needs a workload API agent; refused (config/refused.ts) until Gantry has one. */
const spiffeSchema = z.strictObject({ ids: z.array(z.string()).optional(), trustDomain: z.string().optional() });

/** The TLS fields shared by HTTP and TCP servers transports. */
const tlsClientShape = {
  serverName: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
  rootCAs: z.array(fileOrContent).optional(),
  certificates: z.array(clientCertificateSchema).max(1, 'one client certificate at most').optional(),
  peerCertURI: z.string().optional(),
  spiffe: spiffeSchema.optional(),
};

/** `http.serversTransports.<name>`: TLS to https:// servers, timeouts and idle connections. */
export const serversTransportSchema = z.strictObject({
  ...tlsClientShape,
  cipherSuites: z.array(oneOf(CIPHER_SUITES, 'cipher suite (use Go names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)')).optional(),
  minVersion: tlsVersion.optional(),
  maxVersion: tlsVersion.optional(),
  /** Negative: no connection is reused; 0: 2 (Go's default); unset: 200. */
  maxIdleConnsPerHost: z.number().int().optional(),
  forwardingTimeouts: z
    .strictObject({
      dialTimeout: durationSchema.optional(),
      responseHeaderTimeout: durationSchema.optional(),
      idleConnTimeout: durationSchema.optional(),
      /** HTTP/2 ping health checks. Gantry speaks HTTP/1.1 to servers, so no connection has them (as in Traefik with an HTTP/1.1 server). */
      readIdleTimeout: durationSchema.optional(),
      pingTimeout: durationSchema.optional(),
    })
    .optional(),
  /** Gantry speaks HTTP/1.1 to servers: true is what it does; false leaves it so (HTTP/2 to servers is issue 13). */
  disableHTTP2: z.boolean().optional(),
});

const signedDuration = signedDurationSchema;
export { signedMs };

/** `tcp.serversTransports.<name>`: dial, keep-alive probes, half-close delay, PROXY protocol and TLS to servers. */
export const tcpServersTransportSchema = z.strictObject({
  dialTimeout: durationSchema.optional(),
  dialKeepAlive: signedDuration.optional(),
  terminationDelay: signedDuration.optional(),
  proxyProtocol: z.strictObject({ version: z.union([z.literal(1), z.literal(2)]).optional() }).optional(),
  tls: z.strictObject(tlsClientShape).optional(),
});

/**
 * `tls.stores.<name>`: the certificate served when no other matches the SNI. As in Traefik, only
 * the store named `default` exists (validate.ts refuses others).
 */
export const tlsStoreSchema = z.strictObject({
  defaultCertificate: z.strictObject({ certFile: fileOrContent, keyFile: fileOrContent }).optional(),
  defaultGeneratedCert: z
    .strictObject({
      resolver: z.string().min(1),
      domain: z.strictObject({ main: z.string().min(1), sans: z.array(z.string()).optional() }),
    })
    .optional(),
});

export type ServersTransportSchemaConfig = z.infer<typeof serversTransportSchema>;
export type TcpServersTransportConfig = z.infer<typeof tcpServersTransportSchema>;
export type TlsStoreConfig = z.infer<typeof tlsStoreSchema>;
