/**
 * The dynamic configuration model (what to route where), in Traefik's v2/v3 shape. Each element
 * (router, service, middleware) has its own schema so that one bad element is rejected alone.
 * Middleware options are checked by the middleware's own factory (see middlewares/registry.ts).
 */
import * as z from '../zod.js';
import { parseDuration } from '../duration.js';
import { CIPHER_SUITES, CLIENT_AUTH_TYPES, CURVES, TLS_VERSIONS } from '../../tls/options.js';

/** A duration as text ("10s") or seconds; kept as given, read with parseDuration. */
export const durationSchema = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== null, {
  message: 'not a duration (use e.g. "500ms", "10s", "1m")',
});

/** signedMs reads a duration that may start with `-` (Traefik's "negative: no bound / at once"); null when it is none. */
export function signedMs(v: string | number): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v * 1000 : null;
  const t = v.trim();
  if (t.startsWith('-')) {
    const n = parseDuration(t.slice(1));
    return n === null ? null : -n;
  }
  return parseDuration(t);
}

/** A duration that may be negative (`-1`, "-1s"). */
export const signedDurationSchema = z.union([z.string(), z.number()]).refine((v) => signedMs(v) !== null, { message: 'not a duration (use e.g. "100ms", "-1")' });

const tlsDomainSchema = z.strictObject({ main: z.string().min(1), sans: z.array(z.string()).optional() });

const httpRouterTlsSchema = z.strictObject({
  certResolver: z.string().optional(),
  options: z.string().optional(),
  domains: z.array(tlsDomainSchema).optional(),
});

/** Per-router observability switches (Traefik v3.4+); tracing is refused by validation (no tracing here). */
export const routerObservabilitySchema = z.strictObject({
  accessLogs: z.boolean().optional(),
  metrics: z.boolean().optional(),
  tracing: z.boolean().optional(),
  traceVerbosity: z.enum(['minimal', 'detailed']).optional(),
});

export const httpRouterSchema = z.strictObject({
  rule: z.string().min(1, 'rule is empty'),
  /** Required, except on a parent router (one that other routers name in parentRefs). */
  service: z.string().min(1, 'service is empty').optional(),
  entryPoints: z.array(z.string()).optional(),
  middlewares: z.array(z.string()).optional(),
  priority: z.number().int().min(0).optional(),
  ruleSyntax: z.string().optional(),
  tls: httpRouterTlsSchema.optional(),
  observability: routerObservabilitySchema.optional(),
  /**
   * parentRefs makes this router a child of those routers (Traefik v3.7 multi-layer routing): it
   * is matched only after a parent matched and ran its middlewares, against the changed request.
   */
  parentRefs: z.array(z.string().min(1)).min(1, 'parentRefs is empty').optional(),
  /**
   * profile names an `http.profiles` entry whose settings this router takes where it sets none
   * (`public-https`, or qualified `public-https@file`); resolved by the watcher after merging.
   */
  profile: z.string().trim().min(1, 'profile is empty').optional(),
});

/**
 * httpProfileSchema: router defaults defined once (typically in the file provider) and pulled in by
 * a router's `profile` field or a container's `gantry.profile` label, so that labels need not
 * repeat entry points, middlewares and TLS settings. A router's own fields win; the profile's
 * middlewares run before the router's own; TLS options merge, the router's winning.
 */
export const httpProfileSchema = z.strictObject({
  entryPoints: z.array(z.string().min(1)).optional(),
  middlewares: z.array(z.string().min(1)).optional(),
  tls: httpRouterTlsSchema.optional(),
  priority: z.number().int().min(0).optional(),
});

export const serverSchema = z.strictObject({
  url: z.string().refine(isHttpUrl, { message: 'not an http://, https:// or h2c:// URL' }),
  weight: z.number().int().min(0).optional(),
  preservePath: z.boolean().optional(),
});

export const stickyCookieSchema = z.strictObject({
  name: z.string().optional(),
  secure: z.boolean().optional(),
  httpOnly: z.boolean().optional(),
  sameSite: z.enum(['none', 'lax', 'strict', 'None', 'Lax', 'Strict', '']).optional(),
  maxAge: z.number().int().optional(),
  path: z.string().optional(),
  /** The cookie's Domain attribute: a host name (a leading dot is dropped, as Go does); an IP address is not allowed. */
  domain: z
    .string()
    .refine((d): boolean => d === '' || (/^\.?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(d) && !/^\.?[\d.]+$/.test(d)), { message: 'not a cookie domain (a host name such as example.com)' })
    .optional(),
});

export const healthCheckSchema = z.strictObject({
  path: z.string().optional(),
  scheme: z.string().optional(),
  /** `http` (default) or `grpc` (the gRPC Health Checking Protocol). */
  mode: z.string().refine((m): boolean => ['http', 'grpc'].includes(m.toLowerCase()), { message: 'expected http or grpc' }).optional(),
  hostname: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  interval: durationSchema.optional(),
  unhealthyInterval: durationSchema.optional(),
  timeout: durationSchema.optional(),
  status: z.number().int().min(100).max(599).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  followRedirects: z.boolean().optional(),
  method: z.string().optional(),
});

export const loadBalancerSchema = z.strictObject({
  servers: z.array(serverSchema).optional(),
  /** wrr (default), p2c (least in flight of two), hrw (client IP affinity), leasttime (fastest answer). */
  strategy: z.enum(['wrr', 'p2c', 'hrw', 'leasttime']).optional(),
  sticky: z.strictObject({ cookie: stickyCookieSchema.optional() }).optional(),
  healthCheck: healthCheckSchema.optional(),
  /** Traefik's passive check: maxFailedAttempts failures within failureWindow take a server out for failureWindow. */
  passiveHealthCheck: z.strictObject({ failureWindow: durationSchema.optional(), maxFailedAttempts: z.number().int().min(1).optional() }).optional(),
  passHostHeader: z.boolean().optional(),
  serversTransport: z.string().optional(),
  /**
   * flushInterval bounds how long response bytes may wait before reaching the client (negative: no
   * wait). Gantry writes each chunk as soon as it reads it from the server — Traefik's -1 — so
   * every value is met (forward.ts); none makes it hold data back.
   */
  responseForwarding: z.strictObject({ flushInterval: signedDurationSchema.optional() }).optional(),
});

/**
 * parentHealthCheckSchema is Traefik's `healthCheck: {}` on a service of services (weighted,
 * highestRandomWeight, mirroring, failover): the service follows its children's health and
 * reports its own to its parents. It has no options.
 */
export const parentHealthCheckSchema = z.strictObject({});

const childServiceSchema = z.strictObject({ name: z.string().min(1), weight: z.number().int().min(0).optional() });

export const weightedSchema = z.strictObject({
  services: z.array(childServiceSchema).min(1),
  sticky: z.strictObject({ cookie: stickyCookieSchema.optional() }).optional(),
  healthCheck: parentHealthCheckSchema.optional(),
});

/** highestRandomWeight: rendezvous hashing of the client IP over child services (Traefik v3.4+). */
export const highestRandomWeightSchema = z.strictObject({
  services: z.array(childServiceSchema).min(1),
  healthCheck: parentHealthCheckSchema.optional(),
});

export const mirroringSchema = z.strictObject({
  service: z.string().min(1),
  mirrors: z.array(z.strictObject({ name: z.string().min(1), percent: z.number().min(0).max(100).optional() })).optional(),
  maxBodySize: z.number().int().optional(),
  mirrorBody: z.boolean().optional(),
  healthCheck: parentHealthCheckSchema.optional(),
});

/**
 * failover: `service` answers while it is up; `fallback` when it is down (by its health checks) or,
 * with `errors`, when it answers one of the listed statuses.
 */
export const failoverSchema = z.strictObject({
  service: z.string().min(1, 'service is empty'),
  fallback: z.string().min(1, 'fallback is empty'),
  healthCheck: parentHealthCheckSchema.optional(),
  errors: z
    .strictObject({
      status: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
      maxRequestBodyBytes: z.number().int().optional(),
    })
    .optional(),
});

export const staticSchema = z.strictObject({
  root: z.string().min(1),
  index: z.string().optional(),
  spa: z.boolean().optional(),
});

export const SERVICE_TYPES = ['loadBalancer', 'weighted', 'highestRandomWeight', 'mirroring', 'failover', 'static'] as const;

export const httpServiceSchema = z
  .strictObject({
    /** Middlewares every request to this service goes through, after the router's (Traefik v3.7). */
    middlewares: z.array(z.string().min(1)).optional(),
    loadBalancer: loadBalancerSchema.optional(),
    weighted: weightedSchema.optional(),
    highestRandomWeight: highestRandomWeightSchema.optional(),
    mirroring: mirroringSchema.optional(),
    failover: failoverSchema.optional(),
    static: staticSchema.optional(),
  })
  .refine((s) => SERVICE_TYPES.filter((t) => s[t] !== undefined).length === 1, {
    message: `a service needs exactly one of ${SERVICE_TYPES.join(', ')}`,
  });

/** A middleware is one key naming its type, with that type's options (checked by its factory). */
export const httpMiddlewareSchema = z
  .record(z.string(), z.unknown())
  .refine((m) => Object.keys(m).length === 1, { message: 'a middleware needs exactly one type, e.g. stripPrefix' });

export const tcpRouterSchema = z.strictObject({
  rule: z.string().min(1),
  service: z.string().min(1),
  entryPoints: z.array(z.string()).optional(),
  middlewares: z.array(z.string()).optional(),
  priority: z.number().int().min(0).optional(),
  ruleSyntax: z.string().optional(),
  tls: z
    .strictObject({
      passthrough: z.boolean().optional(),
      certResolver: z.string().optional(),
      options: z.string().optional(),
      domains: z.array(tlsDomainSchema).optional(),
    })
    .optional(),
});

/** A TCP load balancer's active check (Traefik v3.5+): connect, optionally send and expect bytes. */
export const tcpHealthCheckSchema = z.strictObject({
  port: z.number().int().min(1).max(65535).optional(),
  send: z.string().max(65535).optional(),
  expect: z.string().max(65535).optional(),
  interval: durationSchema.optional(),
  unhealthyInterval: durationSchema.optional(),
  timeout: durationSchema.optional(),
});

export const tcpServiceSchema = z
  .strictObject({
    loadBalancer: z
      .strictObject({
        servers: z.array(z.strictObject({ address: z.string().min(1), weight: z.number().int().min(0).optional(), tls: z.boolean().optional() })).optional(),
        proxyProtocol: z.strictObject({ version: z.union([z.literal(1), z.literal(2)]).optional() }).optional(),
        terminationDelay: z.number().optional(),
        healthCheck: tcpHealthCheckSchema.optional(),
        /** A `tcp.serversTransports` name (dial and termination delay, PROXY protocol, TLS to the servers). */
        serversTransport: z.string().optional(),
      })
      .optional(),
    weighted: z
      .strictObject({
        services: z.array(childServiceSchema).min(1),
        healthCheck: parentHealthCheckSchema.optional(),
      })
      .optional(),
  })
  .refine((s) => (s.loadBalancer === undefined) !== (s.weighted === undefined), { message: 'a TCP service needs exactly one of loadBalancer, weighted' });

export const tlsCertificateSchema = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  /** As in Traefik, `default` is the only store. */
  stores: z.array(z.string().refine((n): boolean => n === 'default', { message: 'only the store named "default" exists' })).optional(),
});

/** Names from a table (Go's cipher suites, curves, TLS versions): an unknown one is reported with the known ones. */
const oneOf = (table: Readonly<Record<string, unknown>>, what: string) =>
  z.string().refine((v) => Object.hasOwn(table, v), { message: `unknown ${what}` });

/** `tls.options.<name>` in Traefik's shape; routers select one with `tls.options`, `default` applies otherwise. */
export const tlsOptionsSchema = z.strictObject({
  minVersion: oneOf(TLS_VERSIONS, `TLS version (use ${Object.keys(TLS_VERSIONS).join(', ')})`).optional(),
  maxVersion: oneOf(TLS_VERSIONS, `TLS version (use ${Object.keys(TLS_VERSIONS).join(', ')})`).optional(),
  cipherSuites: z.array(oneOf(CIPHER_SUITES, 'cipher suite (use Go names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)')).optional(),
  curvePreferences: z.array(oneOf(CURVES, `curve (use ${['CurveP256', 'CurveP384', 'CurveP521', 'X25519'].join(', ')})`)).optional(),
  alpnProtocols: z.array(z.string().min(1)).optional(),
  clientAuth: z
    .strictObject({
      caFiles: z.array(z.string().min(1)).optional(),
      clientAuthType: z.enum(CLIENT_AUTH_TYPES).optional(),
    })
    .optional(),
  sniStrict: z.boolean().optional(),
  preferServerCipherSuites: z.boolean().optional(),
  /** No session resumption by tickets (TLS 1.2 and 1.3), as Go's SessionTicketsDisabled. */
  disableSessionTickets: z.boolean().optional(),
});

export type TlsOptionsSchemaConfig = z.infer<typeof tlsOptionsSchema>;
export type HttpRouterConfig = z.infer<typeof httpRouterSchema>;
export type HttpProfileConfig = z.infer<typeof httpProfileSchema>;
export type HttpServiceConfig = z.infer<typeof httpServiceSchema>;
export type LoadBalancerConfig = z.infer<typeof loadBalancerSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
export type StickyCookieConfig = z.infer<typeof stickyCookieSchema>;
export type WeightedConfig = z.infer<typeof weightedSchema>;
export type MirroringConfig = z.infer<typeof mirroringSchema>;
export type HighestRandomWeightConfig = z.infer<typeof highestRandomWeightSchema>;
export type FailoverConfig = z.infer<typeof failoverSchema>;
export type StaticConfig = z.infer<typeof staticSchema>;
export type HttpMiddlewareConfig = Record<string, unknown>;
export type TcpRouterConfig = z.infer<typeof tcpRouterSchema>;
export type TcpServiceConfig = z.infer<typeof tcpServiceSchema>;
export type TlsCertificateConfig = z.infer<typeof tlsCertificateSchema>;

/**
 * DynamicConfig is what a provider emits: unvalidated, in the model's shape. Element values are
 * `unknown` on purpose — validation happens per element in validate.ts.
 */
export interface DynamicConfig {
  http?: {
    routers?: Record<string, unknown>;
    services?: Record<string, unknown>;
    middlewares?: Record<string, unknown>;
    serversTransports?: Record<string, unknown>;
    profiles?: Record<string, unknown>;
  };
  tcp?: {
    routers?: Record<string, unknown>;
    services?: Record<string, unknown>;
    middlewares?: Record<string, unknown>;
    serversTransports?: Record<string, unknown>;
  };
  udp?: Record<string, unknown>;
  tls?: {
    certificates?: unknown[];
    options?: Record<string, unknown>;
    stores?: Record<string, unknown>;
  };
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    // h2c:// is HTTP/2 over cleartext with prior knowledge (gRPC servers), as in Traefik.
    return (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'h2c:') && u.hostname !== '';
  } catch {
    return false;
  }
}
