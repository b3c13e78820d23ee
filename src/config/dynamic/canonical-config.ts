/**
 * canonicalDynamic spells a provider's whole dynamic configuration the canonical way before it is
 * validated: section names, option names and middleware types match case-insensitively, and
 * scalars are read as Traefik reads them (see canonical.ts). A file written for Traefik with
 * `loadbalancer:` or `ratelimit:` loads the same as one with `loadBalancer:` / `rateLimit:`.
 * Element names are user-chosen and kept as written.
 */
import { middlewareFactory, middlewareTypes } from '../../middlewares/registry.js';
import { UNSUPPORTED_MIDDLEWARES } from '../../middlewares/unsupported.js';
import { tcpMiddlewareSchemas } from '../../tcp/middlewares.js';
import { canonicalize, canonicalKey, renameKeys, setOwn } from './canonical.js';
import type * as z from '../zod.js';
import {
  httpProfileSchema,
  httpRouterSchema,
  httpServiceSchema,
  tcpRouterSchema,
  tcpServiceSchema,
  tlsCertificateSchema,
  tlsOptionsSchema,
} from './schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema of each element kind; kinds without one (e.g. tls.stores) keep their option names. */
const ELEMENTS: Readonly<Record<string, z.ZodType>> = {
  'http.routers': httpRouterSchema,
  'http.services': httpServiceSchema,
  'http.profiles': httpProfileSchema,
  'tcp.routers': tcpRouterSchema,
  'tcp.services': tcpServiceSchema,
  'tls.options': tlsOptionsSchema,
};

/**
 * canonicalDynamic returns `config` with canonical spellings. `sections` lists each section's
 * kinds (`http: [routers, services …]`); `chain` is the schema of the chain middleware, which has
 * no factory.
 */
export function canonicalDynamic(config: unknown, sections: Readonly<Record<string, readonly string[]>>, chain: z.ZodType): unknown {
  if (!isObj(config)) return config;
  const top = renameKeys(config, Object.keys(sections));
  for (const [name, body] of Object.entries(top)) {
    const kinds = sections[name];
    if (kinds === undefined || !isObj(body)) continue;
    const section = renameKeys(body, kinds);
    for (const [kind, elements] of Object.entries(section)) {
      const path = `${name}.${kind}`;
      if (path === 'tls.certificates') {
        if (Array.isArray(elements)) section[kind] = elements.map((c) => canonicalize(tlsCertificateSchema, c));
        continue;
      }
      if (!isObj(elements)) continue;
      // The elements are copied only from the first one that changes: 10,000 routers written
      // canonically are kept as the provider gave them.
      const names = Object.keys(elements);
      let out: Obj | null = null;
      for (let i = 0; i < names.length; i++) {
        const el = names[i]!;
        const def = elements[el];
        let c: unknown;
        if (path === 'http.middlewares') c = canonicalMiddleware(def, chain);
        else if (path === 'tcp.middlewares') c = canonicalTcpMiddleware(def);
        else c = ELEMENTS[path] !== undefined ? canonicalize(ELEMENTS[path], def) : def;
        if (out === null) {
          if (c === def) continue;
          out = {};
          for (let j = 0; j < i; j++) setOwn(out, names[j]!, elements[names[j]!]);
        }
        setOwn(out, el, c);
      }
      section[kind] = out ?? elements;
    }
    top[name] = section;
  }
  return top;
}

function canonicalTcpMiddleware(def: unknown): unknown {
  if (!isObj(def)) return def;
  const schemas = tcpMiddlewareSchemas as Record<string, z.ZodType>;
  const out: Obj = {};
  for (const [k, v] of Object.entries(renameKeys(def, Object.keys(schemas)))) setOwn(out, k, schemas[k] === undefined || v === null ? v : canonicalize(schemas[k], v));
  return out;
}

/** canonicalMiddleware spells the type key (`ratelimit` → `rateLimit`) and its options. */
function canonicalMiddleware(def: unknown, chain: z.ZodType): unknown {
  if (!isObj(def)) return def;
  const types = [...middlewareTypes(), 'chain', ...Object.keys(UNSUPPORTED_MIDDLEWARES)];
  const out: Obj = {};
  for (const [k, v] of Object.entries(def)) {
    const type = canonicalKey(k, types) ?? k;
    const schema = type === 'chain' ? chain : middlewareFactory(type)?.schema;
    setOwn(out, Object.hasOwn(def, type) && type !== k ? k : type, schema === undefined || v === null || v === undefined ? v : canonicalize(schema, v));
  }
  return out;
}
