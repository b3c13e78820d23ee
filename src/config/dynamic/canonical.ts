/**
 * canonicalize rewrites a raw configuration value into the spelling a zod schema expects, the way
 * Traefik's decoders read it: option names match case-insensitively (`loadbalancer`,
 * `healthcheck`, `ratelimit` load in Traefik, whose file, KV and label decoders compare field
 * names with strings.EqualFold; its JSON decoder does the same), and scalars are read as text
 * first (paerser turns every file value into a string and parses it for the field), so
 * `accessControlAllowHeaders: "*"` is a one-element list, `"a, b"` a two-element one, `"10"` a
 * number and `"true"` a boolean where the schema wants one.
 *
 * Only spellings are changed: a name that matches no option stays as written, so validation still
 * refuses it with "did you mean". User-chosen names (routers, services, header names) are never
 * touched. The input is not modified: what needs no change is returned as it is (shared), and
 * only objects and lists with a change are copied.
 */
import type * as z from '../zod.js';
import { defOf, wrapped, type ZodDef } from '../zod-def.js';


type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);


/** unwrap looks through wrappers (optional, default, lazy, pipes …) to the schema that shapes a value. */
function unwrap(schema: z.ZodType): ZodDef {
  let def = defOf(schema);
  for (let i = 0; i < 32; i++) {
    const inner = wrapped(def);
    if (inner !== null) {
      def = defOf(inner);
      continue;
    }
    switch (def.type) {
      case 'lazy':
        def = defOf(def.getter!());
        continue;
      case 'pipe':
        // A preprocess step (transform → schema) says nothing about shape: follow its output.
        def = defOf(defOf(def.in!).type === 'transform' ? def.out! : def.in!);
        continue;
      default:
        return def;
    }
  }
  return def;
}

/**
 * canonicalKey returns the canonical spelling of `key` among `names` (exact first, then
 * case-insensitive), or null when none matches.
 */
export function canonicalKey(key: string, names: Iterable<string>): string | null {
  const lower = key.toLowerCase();
  let found: string | null = null;
  for (const n of names) {
    if (n === key) return n;
    if (found === null && n.toLowerCase() === lower) found = n;
  }
  return found;
}

/**
 * renameKeys returns `obj` with each key spelled as `names` spell it. A key whose canonical name is
 * also present as written is left alone (the duplicate is then reported as unknown).
 */
export function renameKeys(obj: Obj, names: readonly string[]): Obj {
  return renameKeysWith(obj, keyIndex(names));
}

/** KeyIndex answers canonicalKey for one list of names without a scan per key. */
interface KeyIndex {
  exact: ReadonlySet<string>;
  /** Lower-cased name → the first name with that spelling. */
  folded: ReadonlyMap<string, string>;
}

function keyIndex(names: Iterable<string>): KeyIndex {
  const exact = new Set<string>();
  const folded = new Map<string, string>();
  for (const n of names) {
    exact.add(n);
    const lower = n.toLowerCase();
    if (!folded.has(lower)) folded.set(lower, n);
  }
  return { exact, folded };
}

/**
 * setOwn stores `v` as `obj`'s own property `k`. A plain assignment to `__proto__` would set the
 * object's prototype instead, and the key (a router named so, say) would vanish before validation
 * could refuse it.
 */
export function setOwn(obj: Obj, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
  else obj[k] = v;
}

function renameKeysWith(obj: Obj, index: KeyIndex): Obj {
  const out: Obj = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const c = index.exact.has(k) ? k : (index.folded.get(k.toLowerCase()) ?? null);
    setOwn(out, c !== null && (c === k || !Object.hasOwn(obj, c)) && !Object.hasOwn(out, c) ? c : k, v);
  }
  return out;
}

// An object schema's option names, indexed once: a 10,000-router apply renames 10,000 routers' keys.
const shapeIndexes = new WeakMap<object, KeyIndex>();

function shapeIndex(shape: Record<string, z.ZodType>): KeyIndex {
  let index = shapeIndexes.get(shape);
  if (index === undefined) shapeIndexes.set(shape, (index = keyIndex(Object.keys(shape))));
  return index;
}

/** canonicalize returns `value` spelled and typed as `schema` expects (see the module comment). */
export function canonicalize(schema: z.ZodType, value: unknown): unknown {
  const def = unwrap(schema);
  switch (def.type) {
    case 'object': {
      if (!isObj(value)) return value;
      const shape = def.shape!;
      const index = shapeIndex(shape);
      const keys = Object.keys(value);
      // renameKeysWith copies; an object already spelled canonically is copied only if a value changes.
      let out: Obj | null = keys.every((k) => index.exact.has(k)) ? null : renameKeysWith(value, index);
      const source = out ?? value;
      for (const k of out === null ? keys : Object.keys(out)) {
        const field = shape[k];
        if (field === undefined) continue;
        const v = source[k];
        const c = canonicalize(field, v);
        if (c === v) continue;
        out ??= { ...value };
        setOwn(out, k, c);
      }
      return out ?? value;
    }
    case 'record': {
      if (!isObj(value)) return value;
      let out: Obj | null = null;
      for (const k of Object.keys(value)) {
        const v = value[k];
        const c = canonicalize(def.valueType!, v);
        if (c === v) continue;
        out ??= { ...value };
        setOwn(out, k, c);
      }
      return out ?? value;
    }
    case 'array': {
      const elem = unwrap(def.element!).type;
      // paerser splits a scalar given for a list of scalars on commas (labels and files alike).
      if (typeof value === 'string' && SCALARS.has(elem)) {
        return value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .map((s) => canonicalize(def.element!, s));
      }
      if ((typeof value === 'number' || typeof value === 'boolean') && SCALARS.has(elem)) return [canonicalize(def.element!, value)];
      if (!Array.isArray(value)) return value;
      let out: unknown[] | null = null;
      for (let i = 0; i < value.length; i++) {
        const c = canonicalize(def.element!, value[i]);
        if (c === value[i]) continue;
        out ??= value.slice();
        out[i] = c;
      }
      return out ?? value;
    }
    case 'union': {
      // A union of an object and scalars (e.g. `true` or options): shape the object branch.
      if (!isObj(value)) return value;
      const branch = def.options!.find((o) => ['object', 'record'].includes(unwrap(o).type));
      return branch === undefined ? value : canonicalize(branch, value);
    }
    case 'string':
    case 'enum':
      return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
    case 'number':
    case 'int':
      return typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
    case 'boolean':
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return value;
    default:
      return value;
  }
}

const SCALARS = new Set(['string', 'enum', 'number', 'int', 'boolean', 'literal', 'template_literal']);
