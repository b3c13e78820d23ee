/**
 * The static configuration schema (how Gantry itself starts), with Traefik's option names.
 * Parsing an input tree applies every default that does not depend on the machine (those are
 * injected by load.ts before parsing) and turns durations into milliseconds, so the inferred
 * output type is the resolved configuration the rest of Gantry reads.
 */
import * as z from '../zod.js';
import { durationSchema } from '../dynamic/schema.js';
import { parseDuration } from '../duration.js';
import { parseLogLevel } from '../../observability/logger.js';
import { compileConstraints, compileTagConstraints } from '../../providers/docker/constraints.js';

/** ms is a duration option in milliseconds once parsed; `def` is the default as text ("30s"). */
function ms(def: string) {
  return durationSchema.transform((v) => parseDuration(v)!).prefault(def);
}

/** group is an always-present block of options whose fields have defaults. */
function group<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.strictObject(shape).prefault({} as never);
}

/**
 * section is a block that may be switched on with `true` (or a bare flag) and off with `false`;
 * it resolves to its options or null when off.
 */
function section<S extends z.core.$ZodLooseShape>(shape: S, on = false) {
  const obj = z.strictObject(shape);
  const u = z.union([z.literal(false), obj]);
  return (on ? u.prefault({} as never) : u.optional()).transform((v) => (v === undefined || v === false ? null : v));
}

const list = z.array(z.string());
const addressRe = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]*):(\d{1,5})(\/(tcp|udp))?$/;

/** splitAddress reads ":80", "0.0.0.0:80", "[::]:443/tcp" into host (empty = any), port and protocol. */
export function splitAddress(address: string): { host: string; port: number; protocol: 'tcp' | 'udp' } | null {
  const m = addressRe.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port, protocol: (m[4] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

const addressSchema = z.string().refine((a) => splitAddress(a) !== null, { message: 'not an address (use ":80", "0.0.0.0:80" or "[::]:443")' });
const logLevelSchema = z
  .string()
  .refine((s) => parseLogLevel(s) !== null, { message: 'expected DEBUG, INFO, WARN or ERROR' })
  .transform((s) => parseLogLevel(s)!);
const lowerEnum = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(values));
const tlsClientSchema = section({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  insecureSkipVerify: z.boolean().prefault(false),
});

/** constraintsSchema checks a constraints expression when the configuration is read (`gantry check` too). */
function constraintsSchema(compile: (expr: string) => unknown) {
  return z.string().superRefine((expr, ctx) => {
    try {
      compile(expr);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^constraints: /, '') });
    }
  });
}

const trustSchema = group({ trustedIPs: list.prefault([]), insecure: z.boolean().prefault(false) });

const entryPointSchema = z
  .strictObject({
    address: addressSchema,
    asDefault: z.boolean().prefault(false),
    http: group({
      redirections: group({
        entryPoint: section({
          to: z.string().min(1),
          scheme: z.string().prefault('https'),
          permanent: z.boolean().prefault(true),
          priority: z.number().int().optional(),
        }),
      }),
      middlewares: list.prefault([]),
      /** Encoded `/` and `\` in paths are refused (400) unless allowed: a backend that decodes them would see another path than the one routed. */
      encodedCharacters: group({ allowEncodedSlash: z.boolean().prefault(false), allowEncodedBackSlash: z.boolean().prefault(false) }),
      tls: section({
        certResolver: z.string().optional(),
        options: z.string().optional(),
        domains: z.array(z.strictObject({ main: z.string(), sans: list.optional() })).prefault([]),
      }),
    }),
    /**
     * HTTP/2 on this entrypoint: offered by ALPN on TLS; `h2c` also serves cleartext HTTP/2 with
     * prior knowledge on a plain entrypoint (off by default, as Caddy advises).
     */
    http2: group({
      maxConcurrentStreams: z.number().int().min(1).max(10_000).prefault(250),
      h2c: z.boolean().prefault(false),
    }),
    proxyProtocol: section({ trustedIPs: list.prefault([]), insecure: z.boolean().prefault(false) }),
    forwardedHeaders: trustSchema,
    transport: group({
      respondingTimeouts: group({ readTimeout: ms('60s'), writeTimeout: ms('0s'), idleTimeout: ms('180s') }),
      /** Per entrypoint; each defaults to the top-level `lifecycle` value (load.ts). */
      lifeCycle: group({
        requestAcceptGraceTimeout: durationSchema.transform((v) => parseDuration(v)!).optional(),
        graceTimeOut: durationSchema.transform((v) => parseDuration(v)!).optional(),
      }),
      keepAliveMaxRequests: z.number().int().min(0).prefault(0),
      keepAliveMaxTime: ms('0s'),
    }),
  })
  .transform((ep) => ({ ...ep, ...splitAddress(ep.address)! }));

const dockerShape = {
  endpoint: z.string().prefault('unix:///var/run/docker.sock'),
  exposedByDefault: z.boolean().prefault(true),
  domain: z.string().prefault('docker.localhost'),
  network: z.string().optional(),
  defaultRule: z.string().optional(),
  constraints: constraintsSchema(compileConstraints).optional(),
  watch: z.boolean().prefault(true),
  useBindPortIP: z.boolean().prefault(false),
  allowEmptyServices: z.boolean().prefault(false),
  httpClientTimeout: ms('0s'),
  tls: tlsClientSchema,
};

const acmeSchema = z.strictObject({
  email: z.string().optional(),
  caServer: z.string().prefault('https://acme-v02.api.letsencrypt.org/directory'),
  storage: z.string().prefault('acme.json'),
  keyType: z.enum(['EC256', 'EC384', 'RSA2048', 'RSA4096', 'RSA8192']).prefault('EC256'),
  /** The CA's certificate lifetime in hours: it sets when certificates are renewed, as in Traefik (tls/acme/renewal.ts). */
  certificatesDuration: z.number().int().min(1).prefault(2160),
  /** Renew a certificate this long before it expires (default from certificatesDuration: 30 days for 90-day certificates). */
  renewBefore: durationSchema.transform((v) => parseDuration(v)!).optional(),
  /**
   * How often certificates are checked for renewal (and storage re-read for other replicas'
   * renewals). Default: Traefik's interval for certificatesDuration, at most 1 hour.
   */
  renewCheckInterval: durationSchema.transform((v) => parseDuration(v)!).optional(),
  preferredChain: z.string().optional(),
  /** External Account Binding (RFC 8555 §7.3.4): the key ID and MAC key the CA gave the account, the key base64url. */
  eab: section({
    kid: z.string().min(1),
    hmacEncoded: z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, 'expected the MAC key in base64url, as the CA gives it'),
  }),
  httpChallenge: section({ entryPoint: z.string().min(1) }),
  tlsChallenge: section({}),
});

export const staticSchema = z.strictObject({
  /** The file the rest was read from (absolute), or null. */
  configFile: z.string().optional().transform((v) => v ?? null),
  entryPoints: z.record(z.string(), entryPointSchema).prefault({}),
  api: section(
    {
      address: addressSchema.prefault('127.0.0.1:8080'),
      dashboard: z.boolean().prefault(true),
      insecure: z.boolean().prefault(false),
      /** `user:hash` entries (htpasswd lines: bcrypt, SHA1 or APR1 hashes). */
      basicAuth: list.prefault([]),
      debugHeaders: z.boolean().prefault(false),
      /**
       * Host names the API answers to besides IP addresses, localhost, single-label names (Docker
       * service names) and this machine's hostname; any other Host is refused (DNS rebinding).
       * `*.example.com` allows the subdomains of example.com.
       */
      allowedHosts: list.prefault([]),
    },
    true,
  ),
  providers: group({
    /** Bursts of changes within this window are applied once (Traefik's default is 2s; ours is short for DESIGN's 100 ms). */
    providersThrottleDuration: ms('50ms'),
    /**
     * `insecure: true` is what Gantry does anyway (the REST API is on the API address, Traefik's
     * `traefik` entrypoint); `false` asks to route `rest@internal` oneself, refused in load.ts.
     */
    rest: section({ storage: z.string().optional(), insecure: z.boolean().optional() }, true),
    file: section({ filename: z.string().optional(), directory: z.string().optional(), watch: z.boolean().prefault(true) }),
    docker: section(dockerShape),
    // refreshSeconds is a duration in Traefik ("15s"); a bare number is seconds. Whole seconds, at least 1.
    swarm: section({ ...dockerShape, refreshSeconds: durationSchema.transform((v) => Math.max(1, Math.ceil(parseDuration(v)! / 1000))).prefault(15) }),
    etcd: section({
      endpoints: list.prefault(['127.0.0.1:2379']),
      rootKey: z.string().prefault('gantry'),
      /** Registrator's layout: `<registratorPrefix>/<service>/<id>` = `host:port` fills that service's servers. */
      registratorPrefix: z.string().prefault('/services'),
      username: z.string().optional(),
      password: z.string().optional(),
      tls: tlsClientSchema,
    }),
    consulCatalog: section({
      endpoint: group({
        address: z.string().prefault('127.0.0.1:8500'),
        scheme: z.string().prefault('http'),
        datacenter: z.string().optional(),
        token: z.string().optional(),
        tls: tlsClientSchema,
      }),
      prefix: z.string().prefault('gantry'),
      exposedByDefault: z.boolean().prefault(true),
      defaultRule: z.string().optional(),
      /** Over the service's tags: ``Tag(`a`)``, ``TagRegex(`a.+`)`` (Traefik's consulCatalog constraints). */
      constraints: constraintsSchema(compileTagConstraints).optional(),
      /** With watch, blocking queries wait up to this long; without, the catalog is polled this often. */
      refreshInterval: ms('15s'),
      /**
       * Blocking queries (changes are live at once) rather than polling every refreshInterval.
       * Default true: Traefik's default (false) would leave a change up to 15 s unseen.
       */
      watch: z.boolean().prefault(true),
      /** Consul Connect: refused at load (load.ts), Gantry has no Connect integration. */
      connectAware: z.boolean().prefault(false),
    }),
  }),
  certificatesResolvers: z.record(z.string(), z.strictObject({ acme: acmeSchema })).prefault({}),
  serversTransport: group({
    forwardingTimeouts: group({ dialTimeout: ms('30s'), responseHeaderTimeout: ms('0s'), idleConnTimeout: ms('90s') }),
    /** Negative: no connection is reused; 0: 2 (Go's default). */
    maxIdleConnsPerHost: z.number().int().prefault(200),
    insecureSkipVerify: z.boolean().prefault(false),
    /** Client for http:// servers: Gantry's own HTTP/1.1 pool, or undici's Pool (for comparison). */
    client: lowerEnum(['gantry', 'undici']).prefault('gantry'),
    /** CA certificates (files or PEM text) trusted for https:// servers, instead of Node's bundled roots. */
    rootCAs: list.prefault([]),
  }),
  lifecycle: group({ graceTimeout: ms('10s'), requestAcceptGraceTimeout: ms('0s') }),
  log: group({
    level: logLevelSchema.prefault('INFO'),
    format: lowerEnum(['text', 'json']).prefault('text'),
    filePath: z.string().optional(),
  }),
  accessLog: section({
    filePath: z.string().optional(),
    format: lowerEnum(['common', 'json', 'text']).prefault('common'),
    bufferingSize: z.number().int().min(0).prefault(0),
    filters: group({
      statusCodes: list.prefault([]),
      retryAttempts: z.boolean().prefault(false),
      minDuration: ms('0s'),
    }),
    fields: group({
      defaultMode: z.enum(['keep', 'drop', 'redact']).prefault('keep'),
      names: z.record(z.string(), z.enum(['keep', 'drop', 'redact'])).prefault({}),
      headers: group({
        defaultMode: z.enum(['keep', 'drop', 'redact']).prefault('drop'),
        names: z.record(z.string(), z.enum(['keep', 'drop', 'redact'])).prefault({}),
      }),
    }),
  }),
  metrics: group({
    prometheus: section({
      buckets: z.array(z.number()).prefault([0.1, 0.3, 1.2, 5]),
      addEntryPointsLabels: z.boolean().prefault(true),
      addRoutersLabels: z.boolean().prefault(false),
      addServicesLabels: z.boolean().prefault(true),
      entryPoint: z.string().optional(),
      manualRouting: z.boolean().prefault(false),
    }),
  }),
  /** Processes sharing the ports; load.ts injects the number of cores when not given. */
  workers: z.number().int().min(1).max(256).prefault(1),
});

export type StaticInput = z.input<typeof staticSchema>;

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** StaticConfig is the resolved, defaulted, frozen static configuration. Durations are milliseconds. */
export type StaticConfig = DeepReadonly<z.output<typeof staticSchema>>;
export type EntryPointConfig = StaticConfig['entryPoints'][string];
export type ProvidersConfig = StaticConfig['providers'];
export type AcmeConfig = StaticConfig['certificatesResolvers'][string]['acme'];
