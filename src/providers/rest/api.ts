/**
 * The native REST API (`/api/providers/rest`): a whole dynamic configuration (PUT, JSON or YAML,
 * validated before anything changes), and granular element writes
 * (`PUT|PATCH|DELETE /api/providers/rest/{http,tcp}/{routers,services,middlewares}/<name>`).
 * Every answer about a resource carries its ETag; `If-Match` is honoured (412 on a lost update, as
 * Caddy's admin API does), checked against the stored state inside the storage's atomic update so
 * that two replicas cannot both win.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalConfig, referenceErrors, validateDynamic } from '../../config/dynamic/validate.js';
import { parseConfigText } from '../../config/parse.js';
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import { GantryError } from '../../errors.js';
import { Audit, HttpError, readBody, send } from './http.js';
import type { RestProvider } from './provider.js';
import { etagOf, ifMatchHolds, type RestState } from './state.js';

const PREFIX = '/api/providers/rest';
const KINDS: Record<string, readonly string[]> = { http: ['routers', 'services', 'middlewares'], tcp: ['routers', 'services', 'middlewares'] };
const NAME_RE = /^[^@/\s]{1,200}$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** parseBody reads a JSON or YAML document (by content type, else by its first character). */
function parseBody(text: string, contentType: string | undefined): unknown {
  const ct = (contentType ?? '').toLowerCase();
  const looksJson = ct.includes('json') || (!ct.includes('yaml') && /^\s*[{[]/.test(text));
  try {
    return looksJson ? JSON.parse(text) : parseConfigText(text, 'body.yaml');
  } catch (err) {
    throw new HttpError(400, `body is not valid ${looksJson ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** mergePatch applies an RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function element(state: RestState, section: string, kind: string, name: string): unknown {
  const sec = (state.config as Obj)[section];
  const k = isObj(sec) ? sec[kind] : undefined;
  return isObj(k) ? k[name] : undefined;
}

function withElement(state: RestState, section: string, kind: string, name: string, value: unknown): RestState {
  const config = structuredClone(state.config) as Obj;
  const sec = (isObj(config[section]) ? config[section] : (config[section] = {})) as Obj;
  const k = (isObj(sec[kind]) ? sec[kind] : (sec[kind] = {})) as Obj;
  if (value === undefined) {
    delete k[name];
    if (Object.keys(k).length === 0) delete sec[kind];
    if (Object.keys(sec).length === 0) delete config[section];
  } else {
    k[name] = value;
  }
  return { ...state, config: config as DynamicConfig };
}

function validationError(errors: ReadonlyArray<{ path: string; message: string }>): HttpError {
  return new HttpError(400, `the configuration has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was changed`, {
    errors: errors.map((e) => ({ path: e.path, message: e.message })),
  });
}

function preconditionFailed(current: string | null): HttpError {
  return new HttpError(412, 'If-Match does not match the current version (it changed since you read it); read it again', { etag: current }, current === null ? {} : { etag: current });
}

export class RestApi {
  #provider: RestProvider;
  #audit: Audit;

  constructor(provider: RestProvider, audit: Audit) {
    this.#provider = provider;
    this.#audit = audit;
  }

  /** route is an ApiServer route: true when it answered. */
  readonly route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const p = url.pathname.replace(/\/+$/, '');
    if (p !== PREFIX && !p.startsWith(PREFIX + '/')) return false;
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    try {
      const { status, body, headers, detail } = await this.#dispatch(req, p);
      if (write) this.#audit.write(req, p, status, detail);
      send(res, status, req.method === 'HEAD' ? null : body, headers);
    } catch (err) {
      // The storage refused or could not be reached (etcd down, wrong password): say so, as the
      // Docker Flow Proxy API does, rather than a bare 500; nothing was changed.
      if (err instanceof GantryError && err.status === 503) err = new HttpError(503, `not stored: ${err.message}`);
      if (!(err instanceof HttpError)) {
        if (write) this.#audit.write(req, p, 500, (err as Error).message);
        throw err;
      }
      if (write) this.#audit.write(req, p, err.status, err.message);
      send(res, err.status, err.body, err.headers);
    }
    return true;
  };

  async #dispatch(req: IncomingMessage, p: string): Promise<{ status: number; body: unknown; headers: Record<string, string>; detail?: string }> {
    const method = req.method ?? 'GET';
    if (p === PREFIX) {
      if (method === 'GET' || method === 'HEAD') {
        const config = this.#provider.state.config;
        return { status: 200, body: config, headers: { etag: etagOf(config)! } };
      }
      if (method === 'PUT') return this.#putAll(req);
      throw new HttpError(405, `method ${method} not allowed on ${PREFIX} (GET, PUT)`, {}, { allow: 'GET, HEAD, PUT' });
    }
    const parts = p.slice(PREFIX.length + 1).split('/').map((s) => decodeURIComponent(s));
    const [section, kind, name, ...rest] = parts;
    if (section === undefined || !(section in KINDS) || (kind !== undefined && !KINDS[section]!.includes(kind)) || rest.length > 0) {
      throw new HttpError(404, `no REST resource at ${p} (use ${PREFIX}/http/{routers,services,middlewares}/<name>)`);
    }
    if (kind === undefined || name === undefined) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `method ${method} not allowed on ${p}`, {}, { allow: 'GET, HEAD' });
      const sec = (this.#provider.state.config as Obj)[section];
      const value = kind === undefined ? (sec ?? {}) : ((isObj(sec) ? sec[kind] : undefined) ?? {});
      return { status: 200, body: value, headers: { etag: etagOf(value)! } };
    }
    if (!NAME_RE.test(name)) throw new HttpError(400, `"${name}" is not a valid name (no "@", "/" or spaces)`);
    const what = `${section}.${kind}.${name}`;
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const value = element(this.#provider.state, section, kind, name);
        if (value === undefined) throw new HttpError(404, `${what} is not defined by the REST provider`);
        return { status: 200, body: value, headers: { etag: etagOf(value)! } };
      }
      case 'PUT':
      case 'PATCH': {
        const patch = parseBody(await readBody(req), req.headers['content-type']);
        if (!isObj(patch)) throw new HttpError(400, `body must be an object: the ${kind.slice(0, -1)}'s options`);
        let created = false;
        let value: unknown;
        await this.#provider.update((s) => {
          const cur = element(s, section, kind, name);
          if (!ifMatchHolds(req.headers['if-match'], etagOf(cur))) throw preconditionFailed(etagOf(cur));
          if (method === 'PATCH' && cur === undefined) throw new HttpError(404, `${what} is not defined by the REST provider; PUT creates it`);
          value = method === 'PATCH' ? mergePatch(cur, patch) : patch;
          const { errors } = validateDynamic({ [section]: { [kind]: { [name]: value } } });
          if (errors.length > 0) throw validationError(errors);
          created = cur === undefined;
          return etagOf(cur) === etagOf(value) ? null : withElement(s, section, kind, name, value);
        });
        return { status: created ? 201 : 200, body: value, headers: { etag: etagOf(value)! }, detail: created ? 'created' : 'replaced' };
      }
      case 'DELETE': {
        await this.#provider.update((s) => {
          const cur = element(s, section, kind, name);
          if (cur === undefined) throw new HttpError(404, `${what} is not defined by the REST provider`);
          if (!ifMatchHolds(req.headers['if-match'], etagOf(cur))) throw preconditionFailed(etagOf(cur));
          return withElement(s, section, kind, name, undefined);
        });
        return { status: 200, body: { deleted: what }, headers: {}, detail: 'deleted' };
      }
      default:
        throw new HttpError(405, `method ${method} not allowed on ${p}`, {}, { allow: 'GET, HEAD, PUT, PATCH, DELETE' });
    }
  }

  async #putAll(req: IncomingMessage): Promise<{ status: number; body: unknown; headers: Record<string, string>; detail?: string }> {
    const doc = parseBody(await readBody(req), req.headers['content-type']);
    if (!isObj(doc)) throw new HttpError(400, 'body must be a dynamic configuration object (http, tcp, tls)');
    // Validate first: 400 with every error and its path, and nothing changes.
    const { config, errors } = validateDynamic(doc);
    const all = [...errors, ...referenceErrors(config, canonicalConfig(doc))];
    if (all.length > 0) throw validationError(all);
    const next = await this.#provider.update((s) => {
      const cur = etagOf(s.config);
      if (!ifMatchHolds(req.headers['if-match'], cur)) throw preconditionFailed(cur);
      return cur === etagOf(doc) ? null : { ...s, config: doc as DynamicConfig };
    });
    return { status: 200, body: next.config, headers: { etag: etagOf(next.config)! }, detail: 'whole configuration replaced' };
  }
}
