/**
 * decodeFlat turns flat keys (`gantry.http.routers.web.rule`, Docker labels or etcd keys) into the
 * typed dynamic model, as Traefik's `pkg/config/label` does: key segments are matched
 * case-insensitively and written in their canonical casing, list indices may be written
 * `servers[0].url` or `servers.0.url`, a list of scalars may be one comma-separated value, and
 * values are coerced to numbers and booleans where the model expects them.
 *
 * A label that does not fit the model is reported with its full key, and the element it belongs to
 * (`http.routers.web`) is left out, so one typo never ships a half-configured router.
 */
import type { DynamicConfig } from '../dynamic/schema.js';
import type { ProviderError } from '../../providers/provider.js';
import { ROOT, type ModelNode, type Scalar } from './model.js';

export interface DecodeResult {
  config: DynamicConfig;
  errors: ProviderError[];
}

/** Top-level sections of the model; other keys under the prefix (`enable`, `docker.*` …) are not config. */
const SECTIONS = new Set(['http', 'tcp', 'udp']);

class LabelError extends Error {}

/**
 * decodeFlat decodes every entry whose key starts with `<prefix>.` followed by `http`, `tcp` or
 * `udp`. Other keys under the prefix (`gantry.enable`, `traefik.docker.network`, Traefik v1 keys)
 * are ignored here; the dialect layer reads them.
 */
export function decodeFlat(entries: Record<string, string>, prefix: string): DecodeResult {
  const out: Record<string, unknown> = {};
  const errors: ProviderError[] = [];
  const failed = new Set<string>();
  const p = prefix.toLowerCase() + '.';
  for (const key of Object.keys(entries).sort()) {
    if (key.length <= p.length || key.slice(0, p.length).toLowerCase() !== p) continue;
    const segments = splitKey(key.slice(p.length));
    if (segments === null) {
      const first = key.slice(p.length).split('.')[0]!.toLowerCase();
      if (SECTIONS.has(first)) errors.push({ source: key, message: `label "${key}": malformed key` });
      continue;
    }
    if (!SECTIONS.has(segments[0]!.toLowerCase())) continue;
    const element = elementPath(segments);
    try {
      if (segments.length < 4) throw new LabelError('too short: expected e.g. http.routers.<name>.rule');
      // Written into a plain object, this name would reach Object.prototype and every object of
      // the process (a router named so would give every object a `rule`).
      if (segments.includes('__proto__')) throw new LabelError('"__proto__" is reserved and cannot name anything');
      set(out, ROOT, segments, 0, entries[key]!);
    } catch (err) {
      if (!(err instanceof LabelError)) throw err;
      errors.push({ path: element, source: key, message: `label "${key}": ${err.message}` });
      if (element) failed.add(element);
    }
  }
  for (const element of failed) {
    const [section, kind, name] = element.split('.') as [string, string, string];
    const group = (out[section] as Record<string, Record<string, unknown>> | undefined)?.[kind];
    if (group) {
      delete group[name];
      if (Object.keys(group).length === 0) delete (out[section] as Record<string, unknown>)[kind];
      if (Object.keys(out[section] as object).length === 0) delete out[section];
    }
  }
  compact(out);
  return { config: out as DynamicConfig, errors };
}

/** splitKey splits `a.b[0].c` into ['a','b','0','c']; null when a segment is empty. */
export function splitKey(key: string): string[] | null {
  const out: string[] = [];
  for (const part of key.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) return null;
    if (m[1] !== '') out.push(m[1]!);
    if (m[2]) for (const idx of m[2].slice(1, -1).split('][')) out.push(idx);
  }
  return out.length > 0 ? out : null;
}

function elementPath(segments: string[]): string | undefined {
  if (segments.length < 3) return undefined;
  const section = segments[0]!.toLowerCase();
  const kindNode = ROOT.kind === 'object' ? ROOT.fields.get(section) : undefined;
  const kind = kindNode?.node.kind === 'object' ? kindNode.node.fields.get(segments[1]!.toLowerCase()) : undefined;
  if (!kind) return undefined;
  return `${section}.${kind.name}.${segments[2]}`;
}

type Container = Record<string, unknown> | unknown[];

/** set writes value at segments[i..] below container, whose shape is node. */
function set(container: Container, node: ModelNode, segments: string[], i: number, value: string): void {
  const seg = segments[i]!;
  let key: string | number;
  let child: ModelNode;
  let rest = i + 1;
  let sliceAsStruct = false;
  switch (node.kind) {
    case 'object': {
      const f = node.fields.get(seg.toLowerCase());
      if (!f) throw new LabelError(`unknown option "${seg}"`);
      key = f.name;
      child = f.node;
      sliceAsStruct = f.sliceAsStruct === true;
      break;
    }
    case 'map':
      key = seg;
      child = node.value;
      break;
    case 'array':
      if (!/^\d+$/.test(seg)) throw new LabelError(`"${seg}" is not a list index`);
      key = Number(seg);
      if (key > 1000) throw new LabelError(`list index ${seg} is too large`);
      child = node.item;
      break;
    case 'scalar':
      if (node.type !== 'any') throw new LabelError(`"${segments[i - 1]}" takes a value, not "${seg}"`);
      key = seg;
      child = node;
      break;
  }
  if (sliceAsStruct) {
    // `server.port` is `servers[0].port`.
    const list = ensure(container, key, 'array') as unknown[];
    if (rest === segments.length) throw new LabelError(`"${seg}" needs an option, e.g. ${seg}.port`);
    set(list, child, [...segments.slice(0, rest), '0', ...segments.slice(rest)], rest, value);
    return;
  }
  if (rest === segments.length) {
    assign(container, key, coerce(child, value));
    return;
  }
  const nextKind = child.kind === 'array' ? 'array' : 'object';
  set(ensure(container, key, nextKind), child, segments, rest, value);
}

function ensure(container: Container, key: string | number, kind: 'array' | 'object'): Container {
  const c = container as Record<string | number, unknown>;
  // Own properties only: an inherited one (`constructor`) is not a value a label set.
  const cur = Object.hasOwn(c, key) ? c[key] : undefined;
  if (cur === undefined) {
    c[key] = kind === 'array' ? [] : {};
    return c[key] as Container;
  }
  if (kind === 'array' ? Array.isArray(cur) : isObject(cur)) return cur as Container;
  throw new LabelError(`conflicts with another label setting "${String(key)}" to a value`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function assign(container: Container, key: string | number, value: unknown): void {
  const c = container as Record<string | number, unknown>;
  const cur = Object.hasOwn(c, key) ? c[key] : undefined;
  if (cur !== undefined && typeof cur === 'object' && cur !== null && !(typeof value === 'object' && value !== null)) {
    throw new LabelError(`conflicts with other labels setting options below "${String(key)}"`);
  }
  // `tls=true` after `tls.certresolver=le` keeps the options.
  if (cur !== undefined && typeof cur === 'object' && typeof value === 'object' && !Array.isArray(value)) return;
  c[key] = value;
}

function coerce(node: ModelNode, value: string): unknown {
  switch (node.kind) {
    case 'scalar':
      return scalar(node.type, value);
    case 'array':
      if (node.item.kind !== 'scalar') throw new LabelError('is a list of objects: set its items, e.g. [0].<option>');
      return value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map((v) => scalar((node.item as { type: Scalar }).type, v));
    case 'object': {
      // `tls=true` (or `sticky.cookie=true`) switches the option on with its defaults.
      const b = value.trim().toLowerCase();
      if (b === 'true') return {};
      throw new LabelError(`takes options below it or "true", not ${JSON.stringify(value)}`);
    }
    case 'map':
      throw new LabelError('takes named entries below it, not a value');
  }
}

function scalar(type: Scalar, value: string): unknown {
  switch (type) {
    case 'number': {
      const t = value.trim();
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) throw new LabelError(`${JSON.stringify(value)} is not a number`);
      return n;
    }
    case 'boolean': {
      const t = value.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      throw new LabelError(`${JSON.stringify(value)} is not true or false`);
    }
    default:
      return value;
  }
}

/** compact removes the holes a sparse index (`servers[2]` alone) leaves in lists. */
function compact(v: unknown): void {
  if (Array.isArray(v)) {
    for (let i = v.length - 1; i >= 0; i--) if (v[i] === undefined) v.splice(i, 1);
    for (const x of v) compact(x);
  } else if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) compact(x);
  }
}
