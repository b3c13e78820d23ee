/**
 * tree builds one static-configuration source (flags, environment or a file) into a tree keyed by
 * the schema's canonical names. Names are matched case-insensitively (Traefik's flags and
 * environment variables are case-insensitive); text values are coerced to the schema's types; an
 * unknown name is a problem that names its full path and suggests the closest valid one. Each
 * tree remembers where each value came from, so that later errors can point at the source.
 */
import { closest, didYouMean } from '../suggest.js';
import type { SchemaNode } from './zodtree.js';

/** Origin is where a value was given, used to word error messages in the user's own terms. */
export type Origin =
  | { readonly kind: 'flag'; readonly spelled: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'file'; readonly file: string };

/** Problem is one mistake: `where` is how the user wrote the option (`--entrypoints.web.adress`). */
export interface Problem {
  readonly where: string;
  readonly message: string;
}

type Obj = Record<string, unknown>;

export class SourceTree {
  readonly data: Obj = {};
  /** Lower-cased canonical path (segments joined by \x1f) → where its value came from. */
  readonly origins = new Map<string, Origin>();
  readonly problems: Problem[] = [];
}

const SEP = '\x1f';
const key = (path: readonly string[]) => path.join(SEP).toLowerCase();

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** findName returns the existing key of `obj` equal to `name` ignoring case, else null. */
function findName(obj: Obj, name: string): string | null {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return k;
  return null;
}

/** TextEntry is one flag or environment variable, already split into path segments. */
export interface TextEntry {
  readonly segments: readonly string[];
  /** null for a bare flag (`--providers.docker`). */
  readonly value: string | null;
  readonly origin: 'flag' | 'env';
  /** The environment variable's name, for messages. */
  readonly envName?: string;
}

/**
 * addText puts one flag or environment variable into the tree. Map names (entry point and
 * resolver names) keep the flag's spelling; from the environment, where names are upper-case by
 * custom, they are lower-cased unless the tree already has the name in another case.
 */
export function addText(tree: SourceTree, root: SchemaNode, entry: TextEntry): void {
  const segs = entry.segments;
  const where = (n: number) => (entry.origin === 'flag' ? `--${segs.slice(0, n).join('.')}` : entry.envName!);
  const origin = (n: number): Origin =>
    entry.origin === 'flag' ? { kind: 'flag', spelled: segs.slice(0, n).join('.') } : { kind: 'env', name: entry.envName! };
  const suggestion = (i: number, candidates: string[]): string => {
    const c = closest(segs[i]!, candidates);
    if (c === null) return '';
    if (entry.origin === 'flag') return ` (did you mean ${c}?)`;
    const fixed = [...segs.slice(0, i), c, ...segs.slice(i + 1)].join('_').toUpperCase();
    return ` (did you mean GANTRY_${fixed}?)`;
  };

  if (segs.length === 0 || segs.some((s) => s === '')) {
    tree.problems.push({ where: where(segs.length), message: 'malformed option name' });
    return;
  }
  // Resolve the whole path first, so that a mistake deep in it leaves nothing half-created.
  let node = root;
  let probe: Obj | null = tree.data;
  const canon: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (node.kind === 'object') {
      const f = node.fields.get(seg.toLowerCase());
      if (!f) {
        tree.problems.push({ where: where(i + 1), message: `unknown option${suggestion(i, [...node.fields.values()].map((x) => x.name))}` });
        return;
      }
      canon.push(f.name);
      node = f.node;
    } else if (node.kind === 'map') {
      // As a key of a plain object it would reach Object.prototype, not name an entry point.
      if (seg === '__proto__') {
        tree.problems.push({ where: where(i + 1), message: 'the name "__proto__" is reserved: choose another' });
        return;
      }
      canon.push((probe && findName(probe, seg)) ?? (entry.origin === 'env' ? seg.toLowerCase() : seg));
      node = node.value;
    } else {
      tree.problems.push({ where: where(i + 1), message: `unknown option (${canon.join('.')} takes a value, not options)` });
      return;
    }
    const next: unknown = probe?.[canon[i]!];
    probe = isObj(next) ? next : null;
  }
  const coerced = coerce(entry.value, node);
  if ('error' in coerced) {
    tree.problems.push({ where: where(segs.length), message: coerced.error });
    return;
  }
  let obj = tree.data;
  for (let i = 0; i < canon.length - 1; i++) {
    tree.origins.set(key(canon.slice(0, i + 1)), origin(i + 1));
    if (!isObj(obj[canon[i]!])) obj[canon[i]!] = {};
    obj = obj[canon[i]!] as Obj;
  }
  tree.origins.set(key(canon), origin(canon.length));
  assign(obj, canon[canon.length - 1]!, coerced.value);
}

/** assign sets a value; enabling a section that already has options keeps them. */
function assign(obj: Obj, name: string, value: unknown): void {
  if (isObj(value) && Object.keys(value).length === 0 && isObj(obj[name])) return;
  obj[name] = value;
}

const TRUE = new Set(['true', '1', 'yes', 'on', '']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** coerce turns a flag's or variable's text into the type the schema wants there. */
export function coerce(text: string | null, node: SchemaNode): { value: unknown } | { error: string } {
  if (node.kind !== 'leaf') {
    if (!node.section) return { error: text === null ? 'needs options, not a bare flag' : `is a group of options, not a value (got "${text}")` };
    const t = (text ?? '').toLowerCase();
    if (TRUE.has(t)) return { value: {} };
    if (FALSE.has(t)) return { value: false };
    return { error: `expected true or false to switch it on or off (got "${text}")` };
  }
  switch (node.type) {
    case 'boolean': {
      const t = (text ?? '').toLowerCase();
      if (TRUE.has(t)) return { value: true };
      if (FALSE.has(t)) return { value: false };
      return { error: `expected true or false (got "${text}")` };
    }
    case 'number': {
      if (text === null) return { error: 'needs a value' };
      const n = Number(text.trim());
      return text.trim() !== '' && Number.isFinite(n) ? { value: n } : { error: `expected a number (got "${text}")` };
    }
    case 'list': {
      if (text === null) return { error: 'needs a value' };
      const items = splitList(text);
      if (node.elem !== 'number') return { value: items };
      const nums = items.map(Number);
      return nums.every(Number.isFinite) ? { value: nums } : { error: `expected numbers separated by commas (got "${text}")` };
    }
    default:
      return text === null ? { error: 'needs a value' } : { value: text };
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * addData puts a parsed file's data into the tree, matching names case-insensitively and
 * reporting unknown ones with their full path.
 */
export function addData(tree: SourceTree, root: SchemaNode, data: unknown, file: string): void {
  if (data === null || data === undefined) return;
  if (!isObj(data)) {
    tree.problems.push({ where: file, message: 'expected a mapping of options at the top level' });
    return;
  }
  walkData(tree, root, data, tree.data, [], file);
}

const DYNAMIC_SECTIONS = new Set(['http', 'tcp', 'udp', 'tls']);

function walkData(tree: SourceTree, node: SchemaNode, data: Obj, target: Obj, canon: string[], file: string): void {
  for (const [rawName, value] of Object.entries(data)) {
    let name: string;
    let child: SchemaNode;
    if (node.kind === 'object') {
      const f = node.fields.get(rawName.toLowerCase());
      if (!f) {
        const path = [...canon, rawName].join('.');
        const hint =
          canon.length === 0 && DYNAMIC_SECTIONS.has(rawName.toLowerCase())
            ? ' (this is dynamic configuration: give its file to --providers.file.filename)'
            : didYouMean(rawName, [...node.fields.values()].map((x) => x.name));
        tree.problems.push({ where: `${file}: ${path}`, message: `unknown option${hint}` });
        continue;
      }
      name = f.name;
      child = f.node;
    } else if (node.kind === 'map') {
      if (rawName === '__proto__') {
        tree.problems.push({ where: `${file}: ${[...canon, rawName].join('.')}`, message: 'the name "__proto__" is reserved: choose another' });
        continue;
      }
      name = findName(target, rawName) ?? rawName;
      child = node.value;
    } else {
      continue;
    }
    const path = [...canon, name];
    tree.origins.set(key(path), { kind: 'file', file });
    if (child.kind === 'leaf') {
      // A comma-separated string where a list is expected is accepted, as on the command line.
      target[name] = child.type === 'list' && typeof value === 'string' ? splitList(value) : value;
      continue;
    }
    if (value === null || value === true) {
      // `docker:` with nothing under it, or `docker: true`, switches a section on with its defaults.
      if (child.section || value === null) assign(target, name, {});
      else target[name] = value;
      continue;
    }
    if (value === false && child.section) {
      target[name] = false;
      continue;
    }
    if (!isObj(value)) {
      target[name] = value; // zod reports the wrong type with its path.
      continue;
    }
    if (!isObj(target[name])) target[name] = {};
    walkData(tree, child, value, target[name] as Obj, path, file);
  }
}

/** merge lays `src` over `dst` (later source wins) following the schema. */
export function merge(dst: SourceTree, src: SourceTree, root: SchemaNode): void {
  mergeObj(dst.data, src.data, root);
  for (const [k, v] of src.origins) dst.origins.set(k, v);
  dst.problems.push(...src.problems);
}

function mergeObj(dst: Obj, src: Obj, node: SchemaNode): void {
  for (const [rawName, value] of Object.entries(src)) {
    const name = node.kind === 'map' ? (findName(dst, rawName) ?? rawName) : rawName;
    const child = node.kind === 'object' ? node.fields.get(name.toLowerCase())?.node : node.kind === 'map' ? node.value : undefined;
    if (child && child.kind !== 'leaf' && isObj(value) && isObj(dst[name])) mergeObj(dst[name] as Obj, value, child);
    else dst[name] = isObj(value) ? structuredClone(value) : value;
  }
}

/** describeWhere words a problem found at a canonical path in the merged tree, in its source's terms. */
export function describeWhere(tree: SourceTree, path: readonly PropertyKey[]): string {
  const segs = path.map(String);
  const canonical = formatCanonical(path);
  for (let n = segs.length; n > 0; n--) {
    const o = tree.origins.get(key(segs.slice(0, n)));
    if (!o) continue;
    if (o.kind === 'flag') return `--${[o.spelled, ...segs.slice(n)].join('.')}`;
    if (o.kind === 'env') return `${o.name} (${canonical})`;
    return `${o.file}: ${canonical}`;
  }
  return canonical;
}

function formatCanonical(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  return out;
}
