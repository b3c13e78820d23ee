/**
 * buildContainerConfig turns one container's (or Swarm service's) labels and environment into its
 * part of the dynamic configuration, in every dialect, then completes it the way Traefik's Docker
 * provider does (`pkg/provider/docker/config.go`): a default service when labels name none, the
 * service of a router that names none, the default rule when no dialect defines a router.
 *
 * `gantry.profile=<name>` sets `profile` on every HTTP router of the container (the default router
 * too) that does not name one itself: the router then takes that profile's entry points,
 * middlewares and TLS settings (see merge.ts applyProfiles); profiles are defined once elsewhere,
 * typically in the file provider.
 *
 * Precedence when several dialects are present: native `gantry.*` over Traefik v2/v3 `traefik.*`,
 * merged element by element (a `gantry` router `web` replaces a `traefik` router `web`). The legacy
 * dialects (Traefik v1 > Docker Flow Proxy > nginx-proxy) only apply when those two define no
 * router, and then only the first legacy dialect that defines one.
 */
import type { ProviderError } from '../../providers/provider.js';
import type { DynamicConfig } from '../dynamic/schema.js';
import { RuleSyntaxError } from '../../errors.js';
import { parseRule } from '../../router/rule/parser.js';
import { decodeFlat } from './decode.js';
import { dockerFlowProxy, nginxProxy, traefikV1 } from './dialects.js';
import { DEFAULT_RULE, renderTemplate, TemplateError } from './template.js';

export interface LabelSource {
  /** Shown in errors: `container web-1`, `service tb-web`. */
  source: string;
  /** Container name (no leading slash) or Swarm service name: the template's `.Name`. */
  name: string;
  /** Name of the default service and router (compose `service-project`, Swarm service, container name). */
  serviceName: string;
  labels: Record<string, string>;
  /** Environment (for nginx-proxy's VIRTUAL_HOST); absent for Swarm services. */
  env?: Record<string, string>;
}

export interface LabelOptions {
  /** Expose containers without an enable label (default true). */
  exposedByDefault?: boolean;
  /** Domain of the default rule (`.Domain`). */
  domain?: string;
  /** Default rule template; the default rule applies only when this or `domain` is set. */
  defaultRule?: string;
  /** certResolver for nginx-proxy's LETSENCRYPT_HOST (default "letsencrypt"). */
  certResolver?: string;
}

export interface ContainerConfig {
  /** false when the container opted out (`gantry.enable=false`, or not exposed by default). */
  enabled: boolean;
  config: DynamicConfig;
  errors: ProviderError[];
}

type Obj = Record<string, unknown>;
type Section = 'http' | 'tcp' | 'udp';
const SECTIONS: Section[] = ['http', 'tcp', 'udp'];
const KINDS = ['routers', 'services', 'middlewares'] as const;

/** labelValue reads a label case-insensitively. */
export function labelValue(labels: Record<string, string>, key: string): string | undefined {
  if (key in labels) return labels[key];
  const k = key.toLowerCase();
  for (const [name, v] of Object.entries(labels)) if (name.toLowerCase() === k) return v;
  return undefined;
}

function enableOf(labels: Record<string, string>): boolean | undefined {
  for (const key of ['gantry.enable', 'traefik.enable']) {
    const v = labelValue(labels, key);
    if (v !== undefined) return v.trim().toLowerCase() === 'true';
  }
  return undefined;
}

export function buildContainerConfig(src: LabelSource, opts: LabelOptions = {}): ContainerConfig {
  const errors: ProviderError[] = [];
  const tag = (e: ProviderError): ProviderError => ({ ...e, source: e.source ? `${src.source} label ${e.source}` : src.source, message: `${src.source}: ${e.message}` });
  const native = decodeFlat(src.labels, 'gantry');
  const traefik = decodeFlat(src.labels, 'traefik');
  const v1 = traefikV1(src.labels, src.serviceName);
  const df = dockerFlowProxy(src.labels, src.serviceName);
  const nginx = nginxProxy(src.env ?? {}, src.serviceName, { certResolver: opts.certResolver });

  // `gantry.enable` / `traefik.enable` decide; otherwise `com.df.notify=true` and VIRTUAL_HOST are
  // opt-ins of their own (Docker Flow Proxy and nginx-proxy route nothing else), else exposedByDefault.
  const explicit = enableOf(src.labels);
  const legacyOptIn = hasAny(df.config) || hasAny(nginx.config);
  const enabled = explicit ?? (legacyOptIn ? true : opts.exposedByDefault ?? true);
  if (!enabled) return { enabled, config: {}, errors };

  for (const r of [native, traefik]) errors.push(...r.errors.map(tag));
  let config = mergePreferFirst(native.config, traefik.config);
  if (!hasRouter(config)) {
    const legacy = [v1, df, nginx];
    const withRouter = legacy.find((r) => hasRouter(r.config)) ?? legacy.find((r) => hasAny(r.config));
    if (withRouter) {
      errors.push(...withRouter.errors.map(tag));
      config = mergePreferFirst(config, withRouter.config);
    }
  }
  // A rule that does not parse is a bad label too, reported here where the container and the label
  // are known (the watcher would only know the router `name@docker`).
  errors.push(...ruleErrors(config, src));
  const profile = profileLabel(src, errors);
  // A bad label skips the container's routers: without them no request reaches a half-configured service.
  if (errors.length > 0) {
    for (const s of SECTIONS) delete (config[s] as Obj | undefined)?.['routers'];
  }
  complete(config, src, opts, errors, errors.length > 0);
  if (profile !== undefined) {
    for (const r of Object.values((config.http?.routers ?? {}) as Record<string, Obj>)) r['profile'] ??= profile;
  }
  // Profiles are shared settings: one container's labels cannot define them for the others.
  for (const [prefix, decoded] of [['gantry', native], ['traefik', traefik]] as const) {
    for (const name of Object.keys(decoded.config.http?.profiles ?? {})) {
      const source = `${src.source} label ${prefix}.http.profiles.${name}`;
      errors.push({ source, message: `${src.source}: labels "${prefix}.http.profiles.${name}.*" are ignored: define profiles in the file provider (or etcd), and name one with gantry.profile` });
    }
  }
  delete config.http?.profiles;
  prune(config);
  return { enabled, config, errors };
}

/** profileLabel reads `gantry.profile`; an empty value is a bad label. */
function profileLabel(src: LabelSource, errors: ProviderError[]): string | undefined {
  const v = labelValue(src.labels, 'gantry.profile');
  if (v === undefined) return undefined;
  const name = v.trim();
  if (name === '' || /[\s,`]/.test(name)) {
    errors.push({ source: `${src.source} label gantry.profile`, message: `${src.source}: label "gantry.profile": ${JSON.stringify(v)} is not a profile name` });
    return undefined;
  }
  return name;
}

/**
 * ruleErrors parses every router rule of the container's configuration and names the label it came
 * from (the native or Traefik v2 key, else the legacy dialect's rule label).
 */
function ruleErrors(config: DynamicConfig, src: LabelSource): ProviderError[] {
  const out: ProviderError[] = [];
  for (const kind of ['http', 'tcp'] as const) {
    const routers = ((config[kind] as Obj | undefined)?.['routers'] as Record<string, Obj> | undefined) ?? {};
    for (const [name, r] of Object.entries(routers)) {
      const rule = r['rule'];
      if (typeof rule !== 'string') continue;
      try {
        parseRule(rule, kind);
      } catch (err) {
        if (!(err instanceof RuleSyntaxError)) throw err;
        const label = ruleLabel(src.labels, kind, name);
        out.push({
          path: `${kind}.routers.${name}`,
          source: `${src.source} label ${label}`,
          message: `${src.source}: label "${label}": rule ${JSON.stringify(rule)}: ${err.message}`,
        });
      }
    }
  }
  return out;
}

function ruleLabel(labels: Record<string, string>, kind: 'http' | 'tcp', router: string): string {
  for (const prefix of ['gantry', 'traefik']) {
    const want = `${prefix}.${kind}.routers.${router}.rule`.toLowerCase();
    const key = Object.keys(labels).find((k) => k.toLowerCase() === want);
    if (key !== undefined) return key;
  }
  const legacy = Object.keys(labels).find((k) => /^traefik\.(?:[^.]+\.)?frontend\.rule$/i.test(k));
  return legacy ?? `${kind}.routers.${router}.rule`;
}

function hasRouter(c: DynamicConfig): boolean {
  return SECTIONS.some((s) => Object.keys(((c[s] as Obj | undefined)?.['routers'] as Obj | undefined) ?? {}).length > 0);
}

function hasAny(c: DynamicConfig): boolean {
  return SECTIONS.some((s) => KINDS.some((k) => Object.keys(((c[s] as Obj | undefined)?.[k] as Obj | undefined) ?? {}).length > 0));
}

/** mergePreferFirst merges element by element; an element in `a` replaces the same-named one in `b`. */
function mergePreferFirst(a: DynamicConfig, b: DynamicConfig): DynamicConfig {
  const out: Obj = {};
  for (const s of SECTIONS) {
    const as = (a[s] as Obj | undefined) ?? {};
    const bs = (b[s] as Obj | undefined) ?? {};
    const sec: Obj = {};
    for (const k of KINDS) {
      const merged = { ...((bs[k] as Obj | undefined) ?? {}), ...((as[k] as Obj | undefined) ?? {}) };
      if (Object.keys(merged).length > 0) sec[k] = merged;
    }
    if (Object.keys(sec).length > 0) out[s] = sec;
  }
  return out as DynamicConfig;
}

function section(config: DynamicConfig, s: Section): Obj {
  const c = config as Obj;
  c[s] ??= {};
  return c[s] as Obj;
}

function group(sec: Obj, k: string): Obj {
  sec[k] ??= {};
  return sec[k] as Obj;
}

/** complete adds default services, servers, router services and the default rule. */
function complete(config: DynamicConfig, src: LabelSource, opts: LabelOptions, errors: ProviderError[], hadErrors: boolean): void {
  const anyRouter = hasRouter(config);
  const tcpOrUdp = ['tcp', 'udp'].some((s) => config[s as Section] !== undefined);
  const httpGiven = config.http !== undefined && (Object.keys(config.http.routers ?? {}).length > 0 || Object.keys(config.http.services ?? {}).length > 0);
  const wantRule = !anyRouter && !hadErrors && (opts.domain !== undefined || opts.defaultRule !== undefined);

  for (const s of SECTIONS) {
    if (s === 'http' ? !httpGiven && tcpOrUdp : config[s] === undefined) continue;
    const sec = section(config, s);
    const services = group(sec, 'services');
    if (Object.keys(services).length === 0 && !hadErrors) services[src.serviceName] = { loadBalancer: {} };
    for (const svc of Object.values(services) as Obj[]) {
      const lb = svc['loadBalancer'] as Obj | undefined;
      if (lb === undefined) continue;
      const servers = lb['servers'] as unknown[] | undefined;
      if (servers === undefined || servers.length === 0) lb['servers'] = [{}];
    }
    const names = Object.keys(services);
    const routers = (sec['routers'] as Obj | undefined) ?? {};
    if (s === 'http' && wantRule) {
      const rule = defaultRule(src, opts, errors);
      if (rule !== null) {
        routers[src.serviceName] = { rule };
        sec['routers'] = routers;
      }
    }
    for (const [rname, r] of Object.entries(routers) as [string, Obj][]) {
      if (r['service'] !== undefined) continue;
      if (names.length === 1) {
        r['service'] = names[0];
      } else {
        errors.push({ path: `${s}.routers.${rname}`, source: src.source, message: `${src.source}: router "${rname}" names no service and there are ${names.length} to choose from` });
        delete routers[rname];
      }
    }
  }
}

function defaultRule(src: LabelSource, opts: LabelOptions, errors: ProviderError[]): string | null {
  const template = opts.defaultRule ?? DEFAULT_RULE;
  try {
    return renderTemplate(template, { Name: src.name, Domain: opts.domain ?? '', Labels: src.labels });
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    errors.push({ path: `http.routers.${src.serviceName}`, source: src.source, message: `${src.source}: default rule: ${err.message}` });
    return null;
  }
}

function prune(config: DynamicConfig): void {
  const c = config as Obj;
  for (const s of SECTIONS) {
    const sec = c[s] as Obj | undefined;
    if (!sec) continue;
    for (const k of Object.keys(sec)) if (Object.keys(sec[k] as Obj).length === 0) delete sec[k];
    if (Object.keys(sec).length === 0) delete c[s];
  }
}
