/**
 * The dynamic configuration model (what to route where), in Traefik's v2/v3 shape. Each element
 * (router, service, middleware) has its own schema so that one bad element is rejected alone.
 * Middleware options are checked by the middleware's own factory (see middlewares/registry.ts).
 */
import { z } from 'zod';
import { parseDuration } from '../duration.js';

/** A duration as text ("10s") or seconds; kept as given, read with parseDuration. */
export const durationSchema = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== null, {
  message: 'not a duration (use e.g. "500ms", "10s", "1m")',
});

const tlsDomainSchema = z.strictObject({ main: z.string().min(1), sans: z.array(z.string()).optional() });

export const httpRouterSchema = z.strictObject({
  rule: z.string().min(1, 'rule is empty'),
  service: z.string().min(1, 'service is empty'),
  entryPoints: z.array(z.string()).optional(),
  middlewares: z.array(z.string()).optional(),
  priority: z.number().int().min(0).optional(),
  ruleSyntax: z.string().optional(),
  tls: z
    .strictObject({
      certResolver: z.string().optional(),
      options: z.string().optional(),
      domains: z.array(tlsDomainSchema).optional(),
    })
    .optional(),
});

export const serverSchema = z.strictObject({
  url: z.string().refine(isHttpUrl, { message: 'not an http:// or https:// URL' }),
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
});

export const healthCheckSchema = z.strictObject({
  path: z.string().optional(),
  scheme: z.string().optional(),
  mode: z.string().optional(),
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
  strategy: z.enum(['wrr', 'p2c']).optional(),
  sticky: z.strictObject({ cookie: stickyCookieSchema.optional() }).optional(),
  healthCheck: healthCheckSchema.optional(),
  passHostHeader: z.boolean().optional(),
  serversTransport: z.string().optional(),
  responseForwarding: z.strictObject({ flushInterval: durationSchema.optional() }).optional(),
});

export const weightedSchema = z.strictObject({
  services: z.array(z.strictObject({ name: z.string().min(1), weight: z.number().int().min(0).optional() })).min(1),
  sticky: z.strictObject({ cookie: stickyCookieSchema.optional() }).optional(),
});

export const mirroringSchema = z.strictObject({
  service: z.string().min(1),
  mirrors: z.array(z.strictObject({ name: z.string().min(1), percent: z.number().min(0).max(100).optional() })).optional(),
  maxBodySize: z.number().int().optional(),
  mirrorBody: z.boolean().optional(),
});

export const staticSchema = z.strictObject({
  root: z.string().min(1),
  index: z.string().optional(),
  spa: z.boolean().optional(),
});

export const httpServiceSchema = z
  .strictObject({
    loadBalancer: loadBalancerSchema.optional(),
    weighted: weightedSchema.optional(),
    mirroring: mirroringSchema.optional(),
    static: staticSchema.optional(),
  })
  .refine((s) => Object.values(s).filter((v) => v !== undefined).length === 1, {
    message: 'a service needs exactly one of loadBalancer, weighted, mirroring, static',
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

export const tcpServiceSchema = z.strictObject({
  loadBalancer: z
    .strictObject({
      servers: z.array(z.strictObject({ address: z.string().min(1), weight: z.number().int().min(0).optional(), tls: z.boolean().optional() })).optional(),
      proxyProtocol: z.strictObject({ version: z.union([z.literal(1), z.literal(2)]).optional() }).optional(),
      terminationDelay: z.number().optional(),
    })
    .optional(),
  weighted: z.unknown().optional(),
});

export const tlsCertificateSchema = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  stores: z.array(z.string()).optional(),
});

export type HttpRouterConfig = z.infer<typeof httpRouterSchema>;
export type HttpServiceConfig = z.infer<typeof httpServiceSchema>;
export type LoadBalancerConfig = z.infer<typeof loadBalancerSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
export type StickyCookieConfig = z.infer<typeof stickyCookieSchema>;
export type WeightedConfig = z.infer<typeof weightedSchema>;
export type MirroringConfig = z.infer<typeof mirroringSchema>;
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
  };
  tcp?: {
    routers?: Record<string, unknown>;
    services?: Record<string, unknown>;
    middlewares?: Record<string, unknown>;
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
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
