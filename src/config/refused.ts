/**
 * REFUSED is the one table of options the schemas accept (Traefik's names, so that a Traefik
 * configuration reads without "unknown option" noise) but Gantry cannot honour yet. `gantry
 * check`, start-up (static options) and every provider's configuration (dynamic options) refuse
 * them with "<path>: not supported yet (<why>)" — an accepted option is never silently ignored.
 * The schema-coverage test (coverage.test.ts) requires every schema leaf to be either covered by a
 * test (coverage-table.ts) or listed here, so a new option cannot slip through.
 *
 * Paths use the leaves.ts syntax: `*` for a user-chosen name, `[]` for list elements. A path may
 * name a whole section (`providers.etcd.tls`). `allows` lets through the values that mean what
 * Gantry does anyway (usually the default, e.g. `watch: false`).
 */

export interface Refusal {
  /** The option, in leaves.ts syntax. */
  readonly path: string;
  /** Why, shown as `not supported yet (<why>)`, or the whole message when `message` is set. */
  readonly why: string;
  /** A complete message instead of "not supported yet (why)", for options that will never be. */
  readonly message?: string;
  /** Values accepted because they are Gantry's behaviour already. */
  readonly allows?: (value: unknown) => boolean;
}

const isFalse = (v: unknown): boolean => v === false || v === 'false';
const V3_REMOVED = 'was removed in Traefik v3; use the redirectScheme or redirectRegex middleware';

export const REFUSED: readonly Refusal[] = [
  // Providers.
  {
    path: 'providers.consulCatalog.connectAware',
    why: "Consul Connect needs the mesh's mTLS: certificates from Connect's CA to reach the services, and their identities checked; Gantry has no Connect integration",
    allows: isFalse,
  },
  {
    path: 'providers.rest.insecure',
    message: 'false is not supported yet (the REST API is always served on the API address, behind --api.basicAuth beyond loopback; there is no rest@internal service to route it through an entrypoint)',
    why: 'the REST API is always served on the API address',
    allows: (v) => v === true || v === 'true',
  },

  // An entrypoint's default TLS settings for its routers (Traefik's entrypoint model) are read only for certResolver.
  { path: 'entryPoints.*.http.tls.options', why: 'give the routers tls.options' },
  { path: 'entryPoints.*.http.tls.domains', why: 'give the routers tls.domains' },

  // The HTTPS redirection of an entrypoint answers before any router: Traefik's default priority (MaxInt32 - 1) only.
  { path: 'entryPoints.*.http.redirections.entryPoint.priority', why: 'the redirection applies before every router of the entrypoint', allows: (v) => Number(v) >= 2147483646 },

  // Servers transports: SPIFFE needs a workload API agent Gantry does not talk to.
  { path: 'http.serversTransports.*.spiffe', why: 'SPIFFE workload API' },
  { path: 'tcp.serversTransports.*.tls.spiffe', why: 'SPIFFE workload API' },

  // Sections read by nothing yet.
  // Gantry always forwards the server URL's path; dropping it (preservePath: false) is Traefik's default.
  { path: 'http.services.*.loadBalancer.servers[].preservePath', why: 'the path of a server URL is always forwarded; only preservePath: true is', allows: (v) => v === true || v === 'true' },

  // Middleware options that would do nothing.
  { path: 'http.middlewares.*.buffering.retryExpression', why: 'use the retry middleware' },
  { path: 'http.middlewares.*.buffering.memResponseBodyBytes', why: 'responses are streamed, never buffered; maxResponseBodyBytes still applies' },
  { path: 'http.middlewares.*.headers.sslRedirect', why: '', message: `sslRedirect ${V3_REMOVED}` },
  { path: 'http.middlewares.*.headers.sslTemporaryRedirect', why: '', message: `sslTemporaryRedirect ${V3_REMOVED}` },
  { path: 'http.middlewares.*.headers.sslHost', why: '', message: `sslHost ${V3_REMOVED}` },
  { path: 'http.middlewares.*.headers.sslForceHost', why: '', message: `sslForceHost ${V3_REMOVED}` },
];

/** refusalMessage is what a user sees for a refused option (without its path). */
export function refusalMessage(r: Refusal): string {
  return r.message ?? `not supported yet (${r.why})`;
}

/** A refused option found in a configuration: its concrete path as segments, and the refusal. */
export interface RefusedOption {
  readonly segments: readonly (string | number)[];
  readonly refusal: Refusal;
}

type Seg = { key: string; list: boolean };

const compiled = new Map<string, Seg[]>();

function segmentsOf(path: string): Seg[] {
  let s = compiled.get(path);
  if (s === undefined) {
    s = path.split('.').map((p) => (p.endsWith('[]') ? { key: p.slice(0, -2), list: true } : { key: p, list: false }));
    compiled.set(path, s);
  }
  return s;
}

/**
 * findRefused lists the refused options set in `data` (a static or dynamic configuration, as the
 * user wrote it), for the table entries whose path starts with one of `roots`. Keys match
 * case-insensitively, as Traefik's do.
 */
export function findRefused(data: unknown, roots: readonly string[], table: readonly Refusal[] = REFUSED): RefusedOption[] {
  const out: RefusedOption[] = [];
  for (const r of table) {
    const segs = segmentsOf(r.path);
    if (!roots.includes(segs[0]!.key)) continue;
    walk(data, segs, 0, [], r, out);
  }
  return out;
}

function walk(v: unknown, segs: Seg[], i: number, at: (string | number)[], r: Refusal, out: RefusedOption[]): void {
  if (i === segs.length) {
    if (v !== undefined && v !== null && !(r.allows?.(v) ?? false)) out.push({ segments: at, refusal: r });
    return;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
  const seg = segs[i]!;
  const keys = seg.key === '*' ? Object.keys(v) : Object.keys(v).filter((k) => k.toLowerCase() === seg.key.toLowerCase());
  for (const k of keys) {
    const child = (v as Record<string, unknown>)[k];
    if (!seg.list) walk(child, segs, i + 1, [...at, k], r, out);
    else if (Array.isArray(child)) child.forEach((el, n) => walk(el, segs, i + 1, [...at, k, n], r, out));
  }
}
