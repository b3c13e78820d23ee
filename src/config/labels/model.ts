/**
 * The shape of the dynamic model as the flat-key decoder sees it: which keys exist (with their
 * canonical casing), which are maps of user-chosen names, which are lists and which scalars must be
 * coerced to numbers or booleans. Labels and etcd keys are case-insensitive (`loadbalancer`,
 * `stripprefix`), so every object node keeps a lower-case → canonical table (Traefik
 * `pkg/config/parser` does the same through struct reflection).
 *
 * Router and service shapes are read from the zod schemas in config/dynamic/schema.ts, so a field
 * added there is understood by labels at once; middleware options are listed here because their
 * schemas live with each middleware's factory.
 */
import * as schema from '../dynamic/schema.js';
import { passTLSClientCertSchema } from '../../middlewares/passTLSClientCert/index.js';
import { serversTransportSchema, tcpServersTransportSchema } from '../dynamic/transports.js';

export type Scalar = 'string' | 'number' | 'boolean' | 'any';

export type ModelNode =
  | { kind: 'object'; fields: Map<string, Field> }
  | { kind: 'map'; value: ModelNode }
  | { kind: 'array'; item: ModelNode }
  | { kind: 'scalar'; type: Scalar };

export interface Field {
  /** Canonical spelling (`loadBalancer`). */
  name: string;
  node: ModelNode;
  /**
   * sliceAsStruct marks a label-only singular alias of a list: `server.port` means `servers[0].port`
   * (Traefik's `label-slice-as-struct:"server"`).
   */
  sliceAsStruct?: true;
}

const str: ModelNode = { kind: 'scalar', type: 'string' };
const num: ModelNode = { kind: 'scalar', type: 'number' };
const bool: ModelNode = { kind: 'scalar', type: 'boolean' };
const any: ModelNode = { kind: 'scalar', type: 'any' };
const strList: ModelNode = { kind: 'array', item: str };
const strMap: ModelNode = { kind: 'map', value: str };

/** object builds an object node from canonical field names. */
export function object(fields: Record<string, ModelNode>): ModelNode & { kind: 'object' } {
  const m = new Map<string, Field>();
  for (const [name, node] of Object.entries(fields)) m.set(name.toLowerCase(), { name, node });
  return { kind: 'object', fields: m };
}

interface ZodLike {
  _zod: { def: { type: string; [k: string]: unknown } };
}

/** fromZod converts a zod schema into a model node (objects, records, arrays, scalars). */
export function fromZod(s: unknown): ModelNode {
  const def = (s as ZodLike)._zod.def;
  switch (def.type) {
    case 'object': {
      const shape = def['shape'] as Record<string, unknown>;
      const fields: Record<string, ModelNode> = {};
      for (const [k, v] of Object.entries(shape)) fields[k] = fromZod(v);
      return object(fields);
    }
    case 'optional':
    case 'nullable':
    case 'default':
      return fromZod(def['innerType']);
    case 'pipe':
      return fromZod(def['in']);
    case 'array':
      return { kind: 'array', item: fromZod(def['element']) };
    case 'record':
      return { kind: 'map', value: fromZod(def['valueType']) };
    case 'number':
    case 'int':
      return num;
    case 'boolean':
      return bool;
    case 'string':
    case 'enum':
      return str;
    case 'literal': {
      const values = def['values'] as unknown[];
      return typeof values[0] === 'number' ? num : typeof values[0] === 'boolean' ? bool : str;
    }
    case 'union': {
      // A duration is string | number: a label value is text, keep it as text.
      const opts = (def['options'] as unknown[]).map(fromZod);
      if (opts.every((o) => o.kind === 'scalar' && o.type === 'number')) return num;
      if (opts.every((o) => o.kind === 'scalar' && o.type === 'boolean')) return bool;
      if (opts.every((o) => o.kind === 'scalar')) return str;
      return any;
    }
    default:
      return any;
  }
}

const ipStrategy = object({ depth: num, excludedIPs: strList, ipv6Subnet: num });
const sourceCriterion = object({ ipStrategy, requestHeaderName: str, requestHost: bool });
const clientTls = object({ ca: str, cert: str, key: str, insecureSkipVerify: bool, caOptional: bool });
const redis = object({
  endpoints: strList,
  tls: clientTls,
  username: str,
  password: str,
  db: num,
  poolSize: num,
  minIdleConns: num,
  maxActiveConns: num,
  readTimeout: str,
  writeTimeout: str,
  dialTimeout: str,
});
const auth = object({ users: strList, usersFile: str, realm: str, removeHeader: bool, headerField: str });

/** HTTP_MIDDLEWARES lists Traefik's middleware types and their options (canonical spelling). */
export const HTTP_MIDDLEWARES: Record<string, ModelNode> = {
  addPrefix: object({ prefix: str }),
  basicAuth: auth,
  digestAuth: auth,
  buffering: object({
    maxRequestBodyBytes: num,
    memRequestBodyBytes: num,
    maxResponseBodyBytes: num,
    memResponseBodyBytes: num,
    retryExpression: str,
  }),
  chain: object({ middlewares: strList }),
  circuitBreaker: object({
    expression: str,
    checkPeriod: str,
    fallbackDuration: str,
    recoveryDuration: str,
    responseCode: num,
  }),
  compress: object({
    excludedContentTypes: strList,
    includedContentTypes: strList,
    minResponseBodyBytes: num,
    defaultEncoding: str,
    encodings: strList,
  }),
  contentType: object({ autoDetect: bool }),
  encodedCharacters: object({
    allowEncodedSlash: bool,
    allowEncodedBackSlash: bool,
    allowEncodedNullCharacter: bool,
    allowEncodedSemicolon: bool,
    allowEncodedPercent: bool,
    allowEncodedQuestionMark: bool,
    allowEncodedHash: bool,
  }),
  errors: object({ status: strList, service: str, query: str, statusRewrites: { kind: 'map', value: num } }),
  forwardAuth: object({
    address: str,
    tls: clientTls,
    trustForwardHeader: bool,
    authResponseHeaders: strList,
    authResponseHeadersRegex: str,
    authRequestHeaders: strList,
    addAuthCookiesToResponse: strList,
    forwardBody: bool,
    maxBodySize: num,
    maxResponseBodySize: num,
    preserveLocationHeader: bool,
    preserveRequestMethod: bool,
    headerField: str,
    authSigninURL: str,
  }),
  grpcWeb: object({ allowOrigins: strList }),
  headers: object({
    customRequestHeaders: strMap,
    customResponseHeaders: strMap,
    accessControlAllowCredentials: bool,
    accessControlAllowHeaders: strList,
    accessControlAllowMethods: strList,
    accessControlAllowOriginList: strList,
    accessControlAllowOriginListRegex: strList,
    accessControlExposeHeaders: strList,
    accessControlMaxAge: num,
    addVaryHeader: bool,
    allowedHosts: strList,
    hostsProxyHeaders: strList,
    sslProxyHeaders: strMap,
    stsSeconds: num,
    stsIncludeSubdomains: bool,
    stsPreload: bool,
    forceSTSHeader: bool,
    frameDeny: bool,
    customFrameOptionsValue: str,
    contentTypeNosniff: bool,
    browserXssFilter: bool,
    customBrowserXSSValue: str,
    contentSecurityPolicy: str,
    contentSecurityPolicyReportOnly: str,
    publicKey: str,
    referrerPolicy: str,
    permissionsPolicy: str,
    isDevelopment: bool,
    featurePolicy: str,
    sslRedirect: bool,
    sslTemporaryRedirect: bool,
    sslHost: str,
    sslForceHost: bool,
  }),
  ipAllowList: object({ sourceRange: strList, ipStrategy, rejectStatusCode: num }),
  ipWhiteList: object({ sourceRange: strList, ipStrategy }),
  inFlightReq: object({ amount: num, sourceCriterion }),
  passTLSClientCert: object({ pem: bool, info: fromZod(passTLSClientCertSchema.shape.info) }),
  rateLimit: object({ average: num, period: str, burst: num, sourceCriterion, redis }),
  redirectRegex: object({ regex: str, replacement: str, permanent: bool }),
  redirectScheme: object({ scheme: str, port: str, permanent: bool }),
  replacePath: object({ path: str }),
  replacePathRegex: object({ regex: str, replacement: str }),
  retry: object({
    attempts: num,
    initialInterval: str,
    timeout: str,
    status: strList,
    maxRequestBodyBytes: num,
    disableRetryOnNetworkError: bool,
    retryNonIdempotentMethod: bool,
  }),
  stripPrefix: object({ prefixes: strList, forceSlash: bool }),
  stripPrefixRegex: object({ regex: strList }),
};

const TCP_MIDDLEWARES: Record<string, ModelNode> = {
  ipAllowList: object({ sourceRange: strList }),
  ipWhiteList: object({ sourceRange: strList }),
  inFlightConn: object({ amount: num }),
};

/**
 * withServerAlias adds the label-only `server` alias (servers[0]) to a loadBalancer node, whose
 * entries may also carry `port` and `scheme`: the Docker provider turns them into the server URL
 * with the container's address.
 */
function withServerAlias(lb: ModelNode): ModelNode {
  if (lb.kind !== 'object') return lb;
  const servers = lb.fields.get('servers');
  if (!servers || servers.node.kind !== 'array' || servers.node.item.kind !== 'object') return lb;
  const item = object({});
  for (const [k, f] of servers.node.item.fields) item.fields.set(k, f);
  item.fields.set('port', { name: 'port', node: num });
  item.fields.set('scheme', { name: 'scheme', node: str });
  const list: ModelNode = { kind: 'array', item };
  const fields = new Map(lb.fields);
  fields.set('servers', { name: 'servers', node: list });
  fields.set('server', { name: 'servers', node: list, sliceAsStruct: true });
  return { kind: 'object', fields };
}

function serviceNode(s: unknown): ModelNode {
  const n = fromZod(s);
  if (n.kind !== 'object') return n;
  const lb = n.fields.get('loadbalancer');
  if (lb) n.fields.set('loadbalancer', { name: lb.name, node: withServerAlias(lb.node) });
  return n;
}

function buildRoot(): ModelNode {
  const httpRouter = fromZod(schema.httpRouterSchema);
  const tcpRouter = fromZod(schema.tcpRouterSchema);
  const udpService = object({ loadBalancer: object({ servers: { kind: 'array', item: object({ address: str }) } }) });
  return object({
    http: object({
      routers: { kind: 'map', value: httpRouter },
      services: { kind: 'map', value: serviceNode(schema.httpServiceSchema) },
      middlewares: { kind: 'map', value: object(HTTP_MIDDLEWARES) },
      // Profiles come from etcd keys (or a file); container labels only name one (gantry.profile).
      profiles: { kind: 'map', value: fromZod(schema.httpProfileSchema) },
      // Servers transports come from etcd keys (Traefik's KV providers have them; its labels do not).
      serversTransports: { kind: 'map', value: fromZod(serversTransportSchema) },
    }),
    tcp: object({
      routers: { kind: 'map', value: tcpRouter },
      services: { kind: 'map', value: serviceNode(schema.tcpServiceSchema) },
      middlewares: { kind: 'map', value: object(TCP_MIDDLEWARES) },
      serversTransports: { kind: 'map', value: fromZod(tcpServersTransportSchema) },
    }),
    udp: object({
      routers: { kind: 'map', value: object({ entryPoints: strList, service: str }) },
      services: { kind: 'map', value: withServerAliasUdp(udpService) },
    }),
  });
}

function withServerAliasUdp(svc: ModelNode): ModelNode {
  if (svc.kind !== 'object') return svc;
  const lb = svc.fields.get('loadbalancer')!;
  svc.fields.set('loadbalancer', { name: lb.name, node: withServerAlias(lb.node) });
  return svc;
}

/** ROOT is the model tree the decoder walks, built once. */
export const ROOT: ModelNode = buildRoot();
