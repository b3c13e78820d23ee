/**
 * loadStaticConfig reads the static configuration from its three sources — a file
 * (`--configFile`, else `gantry.yaml` in the working directory), `GANTRY_*` environment variables
 * and flags, later winning — applies the defaults that depend on the machine, validates the
 * whole, and returns it resolved and frozen. Every problem found is listed in one error.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, ParseError } from '../../errors.js';
import { parseConfigText } from '../parse.js';
import { staticSchema, splitAddress, type StaticConfig } from './schema.js';
import { argvEntries, envEntries } from './sources.js';
import { SourceTree, addData, addText, describeWhere, merge, type Problem } from './tree.js';
import { describe, explainIssues } from './zodtree.js';
import { findRefused, refusalMessage } from '../refused.js';

export interface LoadStaticOptions {
  /** The flags, without the program and command names. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Directory for the default files and for relative paths. */
  cwd: string;
  /**
   * Whether the process may bind ports below 1024 (root, CAP_NET_BIND_SERVICE, or a container's
   * ip_unprivileged_port_start: see cli/privileged-ports.ts): then the default ports are :80/:443, else :8000/:8443.
   */
  isRoot: boolean;
  /** Whether a Docker daemon socket is present (default: /var/run/docker.sock exists). */
  dockerAvailable?: () => boolean;
  /** Default for --workers (default: os.availableParallelism()). */
  cpus?: number;
}

/**
 * StaticConfigError lists every problem of the static configuration; `problems` has one
 * ConfigError per mistake, whose path is worded as the user gave the option.
 */
export class StaticConfigError extends ConfigError {
  readonly problems: readonly ConfigError[];

  constructor(problems: ConfigError[]) {
    const only = problems.length === 1 ? problems[0]! : null;
    super(
      only ? only.path : '',
      only
        ? only.message.slice(only.path ? only.path.length + 2 : 0)
        : `${problems.length} problems in the static configuration:\n${problems.map((p) => `  ${p.message}`).join('\n')}`,
    );
    this.name = 'StaticConfigError';
    this.problems = problems;
  }
}

export const DEFAULT_STATIC_FILES = ['gantry.yaml', 'gantry.yml', 'gantry.toml'];
export const DEFAULT_DYNAMIC_FILES = ['dynamic.yaml', 'dynamic.yml', 'dynamic.toml'];

const root = describe(staticSchema);
const STATIC_ROOTS = Object.keys(staticSchema.shape);

export async function loadStaticConfig(opts: LoadStaticOptions): Promise<StaticConfig> {
  const flags = new SourceTree();
  const parsed = argvEntries(opts.argv, root);
  flags.problems.push(...parsed.problems);
  for (const e of parsed.entries) addText(flags, root, e);
  const env = new SourceTree();
  for (const e of envEntries(opts.env)) addText(env, root, e);

  const given = (flags.data.configFile ?? env.data.configFile) as string | undefined;
  let configFile: string | null = null;
  let shownName = '';
  if (typeof given === 'string' && given !== '') {
    configFile = resolve(opts.cwd, given);
    shownName = given;
  } else {
    const found = DEFAULT_STATIC_FILES.find((f) => existsSync(resolve(opts.cwd, f)));
    if (found) {
      configFile = resolve(opts.cwd, found);
      shownName = found;
    }
  }

  const file = new SourceTree();
  if (configFile !== null) {
    try {
      addData(file, root, parseConfigText(await readFile(configFile, 'utf8'), shownName), shownName);
    } catch (e) {
      file.problems.push(fileProblem(e, shownName));
    }
  }

  const all = new SourceTree();
  merge(all, file, root);
  merge(all, env, root);
  merge(all, flags, root);
  if (configFile !== null) all.data.configFile = configFile;
  return finish(all, {
    isRoot: opts.isRoot,
    cwd: opts.cwd,
    docker: opts.dockerAvailable ?? (() => existsSync('/var/run/docker.sock')),
    cpus: opts.cpus ?? availableParallelism(),
    dynamicDefault: () => DEFAULT_DYNAMIC_FILES.map((f) => resolve(opts.cwd, f)).find((f) => existsSync(f)) ?? null,
  });
}

/**
 * checkStaticData validates one static file's data alone (for `gantry check`), without the
 * machine-dependent defaults, and returns every problem (empty when valid).
 */
export function checkStaticData(data: unknown, fileName: string): ConfigError[] {
  const tree = new SourceTree();
  addData(tree, root, data, fileName);
  try {
    finish(tree, { isRoot: false, cwd: process.cwd(), docker: () => false, cpus: 1, dynamicDefault: () => null });
    return [];
  } catch (e) {
    if (e instanceof StaticConfigError) return [...e.problems];
    throw e;
  }
}

interface Context {
  isRoot: boolean;
  cwd: string;
  docker: () => boolean;
  cpus: number;
  dynamicDefault: () => string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** finish injects the context defaults, validates, cross-checks and freezes. */
function finish(tree: SourceTree, ctx: Context): StaticConfig {
  const problems: Problem[] = [...tree.problems];
  const data = tree.data;
  injectDefaults(data, ctx);

  const result = staticSchema.safeParse(data);
  if (!result.success) {
    for (const issue of explainIssues(staticSchema, result.error.issues)) {
      problems.push({ where: describeWhere(tree, issue.path), message: issue.message });
    }
  }
  for (const [path, message] of crossCheck(data)) problems.push({ where: describeWhere(tree, path), message });
  // Options the schema knows but Gantry cannot honour yet are refused, never ignored (refused.ts).
  for (const f of findRefused(data, STATIC_ROOTS)) problems.push({ where: describeWhere(tree, [...f.segments]), message: refusalMessage(f.refusal) });
  if (problems.length > 0 || !result.success) throw new StaticConfigError(problems.map((p) => new ConfigError(p.where, p.message)));
  const cfg = result.data;

  absolutePaths(cfg, ctx.cwd);
  for (const ep of Object.values(cfg.entryPoints)) {
    ep.transport.lifeCycle.graceTimeOut ??= cfg.lifecycle.graceTimeout;
    ep.transport.lifeCycle.requestAcceptGraceTimeout ??= cfg.lifecycle.requestAcceptGraceTimeout;
  }
  return deepFreeze(cfg) as StaticConfig;
}

function injectDefaults(data: Obj, ctx: Context): void {
  // Defaults apply only to what is not configured: give one entry point and only it exists.
  const eps = isObj(data.entryPoints) ? data.entryPoints : null;
  const defaults: Record<string, string> = ctx.isRoot ? { web: ':80', websecure: ':443' } : { web: ':8000', websecure: ':8443' };
  if (eps === null || Object.keys(eps).length === 0) {
    data.entryPoints = { web: { address: defaults.web }, websecure: { address: defaults.websecure } };
  } else {
    // `web` and `websecure` keep their usual ports when given without an address.
    for (const [name, ep] of Object.entries(eps)) {
      const d = defaults[name.toLowerCase()];
      if (d !== undefined && isObj(ep) && ep.address === undefined) ep.address = d;
    }
  }
  const providersGiven = data.providers !== undefined;
  if (!isObj(data.providers)) data.providers = {};
  const providers = data.providers as Obj;
  if (!providersGiven && ctx.docker()) providers.docker = {};
  if (providers.file === undefined) {
    const dyn = ctx.dynamicDefault();
    if (dyn !== null) providers.file = { filename: dyn, watch: true };
  }
  data.workers ??= ctx.cpus;
}

/**
 * crossCheck finds references between options (a redirection to an entry point, a resolver's
 * challenge entry point …) and clashing addresses. It reads the merged input defensively, so it
 * runs even when other options are invalid and every mistake is listed at once.
 */
function crossCheck(data: Obj): [PropertyKey[], string][] {
  const out: [PropertyKey[], string][] = [];
  const obj = (v: unknown): Obj => (isObj(v) ? v : {});
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const eps = obj(data.entryPoints);
  const resolvers = obj(data.certificatesResolvers);
  const names = Object.keys(eps);
  const known = ` (entry points: ${names.join(', ')})`;
  const seen: [string, string, NonNullable<ReturnType<typeof splitAddress>>][] = [];
  const clash = (a: ReturnType<typeof splitAddress>, b: ReturnType<typeof splitAddress>) =>
    a !== null && b !== null && a.port !== 0 && a.port === b.port && a.protocol === b.protocol && (a.host === b.host || a.host === '' || b.host === '');
  for (const [name, raw] of Object.entries(eps)) {
    const ep = obj(raw);
    const http = obj(ep.http);
    const redirect = obj(obj(http.redirections).entryPoint);
    const to = str(redirect.to);
    if (to !== undefined && !(to in eps) && !/^:\d+$/.test(to)) {
      out.push([['entryPoints', name, 'http', 'redirections', 'entryPoint', 'to'], `unknown entry point "${to}"${known}`]);
    }
    const resolver = str(obj(http.tls).certResolver);
    if (resolver !== undefined && !(resolver in resolvers)) {
      out.push([['entryPoints', name, 'http', 'tls', 'certResolver'], `unknown certificate resolver "${resolver}"`]);
    }
    const address = str(ep.address);
    const parsed = address === undefined ? null : splitAddress(address);
    if (parsed === null) continue;
    for (const [other, otherAddress, o] of seen) {
      if (clash(parsed, o)) out.push([['entryPoints', name, 'address'], `${address} is also the address of entry point "${other}" (${otherAddress})`]);
    }
    seen.push([name, address!, parsed]);
  }
  const apiAddress = data.api === false ? undefined : (str(obj(data.api).address) ?? '127.0.0.1:8080');
  const api = apiAddress === undefined ? null : splitAddress(apiAddress);
  for (const [name, address, parsed] of seen) {
    if (parsed.protocol === 'tcp' && clash(api, parsed)) out.push([['api', 'address'], `${apiAddress} is also the address of entry point "${name}" (${address})`]);
  }
  const file = obj(data.providers).file;
  if (isObj(file) && (file.filename === undefined) === (file.directory === undefined)) {
    out.push([['providers', 'file'], 'give either filename or directory']);
  }
  for (const [name, r] of Object.entries(resolvers)) {
    const acme = obj(obj(r).acme);
    const ch = acme.httpChallenge;
    const entryPoint = str(obj(ch).entryPoint);
    if (entryPoint !== undefined && !(entryPoint in eps)) {
      out.push([['certificatesResolvers', name, 'acme', 'httpChallenge', 'entryPoint'], `unknown entry point "${entryPoint}"${known}`]);
    }
    if (isObj(obj(r).acme) && (ch === undefined || ch === false) && (acme.tlsChallenge === undefined || acme.tlsChallenge === false)) {
      out.push([['certificatesResolvers', name, 'acme'], 'needs httpChallenge or tlsChallenge']);
    }
  }
  // TLS client options: a certificate needs its key; a password needs its user.
  const providers = obj(data.providers);
  const tlsBlocks: [PropertyKey[], unknown][] = [
    [['providers', 'etcd', 'tls'], obj(providers.etcd).tls],
    [['providers', 'docker', 'tls'], obj(providers.docker).tls],
    [['providers', 'swarm', 'tls'], obj(providers.swarm).tls],
    [['providers', 'consulCatalog', 'endpoint', 'tls'], obj(obj(providers.consulCatalog).endpoint).tls],
  ];
  for (const [at, raw] of tlsBlocks) {
    const t = obj(raw);
    if ((t.cert === undefined) !== (t.key === undefined)) {
      const [missing, given] = t.cert === undefined ? ['cert', 'key'] : ['key', 'cert'];
      out.push([[...at, missing], `needed with ${given} (a client certificate and its private key)`]);
    }
  }
  const etcd = obj(providers.etcd);
  if (etcd.password !== undefined && etcd.username === undefined) out.push([['providers', 'etcd', 'password'], 'given without providers.etcd.username']);
  const promEntry = str(obj(obj(data.metrics).prometheus).entryPoint);
  // `traefik` is Traefik's default entry point for metrics; here the API address plays its part.
  if (promEntry !== undefined && !(promEntry in eps) && promEntry !== 'traefik') {
    out.push([['metrics', 'prometheus', 'entryPoint'], `unknown entry point "${promEntry}"${known}`]);
  }
  return out;
}

function absolutePaths(cfg: import('zod').output<typeof staticSchema>, cwd: string): void {
  // Only options that are set are touched, so absent ones stay absent rather than `undefined`.
  const fix = <K extends string>(o: Partial<Record<K, string>> | null | undefined, k: K) => {
    const p = o?.[k];
    if (o && typeof p === 'string' && p !== '' && !isAbsolute(p)) o[k] = resolve(cwd, p);
  };
  fix(cfg.providers.file, 'filename');
  fix(cfg.providers.file, 'directory');
  fix(cfg.providers.rest, 'storage');
  for (const r of Object.values(cfg.certificatesResolvers)) if (r.acme.storage !== 'etcd') fix(r.acme, 'storage');
  fix(cfg.log, 'filePath');
  fix(cfg.accessLog, 'filePath');
}

function fileProblem(e: unknown, file: string): Problem {
  if (e instanceof ParseError) return { where: `${e.file}:${e.line}:${e.column}`, message: e.message.slice(e.message.indexOf(': ') + 2) };
  const err = e as NodeJS.ErrnoException;
  return { where: file, message: `cannot read: ${err.code === 'ENOENT' ? 'no such file' : err.message}` };
}

/** deepFreeze freezes plain objects and arrays only: a RegExp or class instance made by a schema keeps working. */
function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v) || proto === Object.prototype || proto === null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
