/**
 * zodtree describes a zod schema as a plain tree of objects, user-named maps and leaves, so that
 * configuration coming from flags, environment variables and files can be matched to the schema's
 * canonical names case-insensitively and coerced from text before zod validates it. It also turns
 * zod issues into messages that name the full path and suggest the closest valid option.
 */
import type * as z from '../zod.js';
import { didYouMean } from '../suggest.js';
import { defOf, wrapped, type ZodDef } from '../zod-def.js';

export type LeafType = 'string' | 'number' | 'boolean' | 'list' | 'any';

export interface FieldRef {
  readonly name: string;
  readonly node: SchemaNode;
}

/** A section accepts `true`/`false` besides its options (`--providers.docker` enables it with defaults). */
export type SchemaNode =
  | { readonly kind: 'object'; readonly fields: Map<string, FieldRef>; readonly section: boolean }
  | { readonly kind: 'map'; readonly value: SchemaNode; readonly section: boolean }
  | { readonly kind: 'leaf'; readonly type: LeafType; readonly elem: LeafType | null; readonly section: false };


const cache = new WeakMap<object, SchemaNode>();
const ANY: SchemaNode = { kind: 'leaf', type: 'any', elem: null, section: false };


/** describe walks a zod schema once (cached) and returns its tree. */
export function describe(schema: z.ZodType): SchemaNode {
  const hit = cache.get(schema);
  if (hit) return hit;
  const node = build(schema);
  cache.set(schema, node);
  return node;
}

function build(schema: z.ZodType): SchemaNode {
  const def = defOf(schema);
  const inner = wrapped(def);
  if (inner !== null) return describe(inner);
  switch (def.type) {
    case 'pipe':
      return describe(def.in!);
    case 'lazy':
      return describe(def.getter!());
    case 'object': {
      const fields = new Map<string, FieldRef>();
      for (const [name, s] of Object.entries(def.shape!)) fields.set(name.toLowerCase(), { name, node: describe(s) });
      return { kind: 'object', fields, section: false };
    }
    case 'record':
      return { kind: 'map', value: describe(def.valueType!), section: false };
    case 'array': {
      const elem = describe(def.element!);
      return { kind: 'leaf', type: 'list', elem: elem.kind === 'leaf' ? elem.type : 'any', section: false };
    }
    case 'union':
      return union(def.options!.map(describe), def.options!.map(defOf));
    case 'boolean':
      return { kind: 'leaf', type: 'boolean', elem: null, section: false };
    case 'number':
    case 'int':
      return { kind: 'leaf', type: 'number', elem: null, section: false };
    case 'string':
    case 'enum':
    case 'template_literal':
      return { kind: 'leaf', type: 'string', elem: null, section: false };
    case 'literal': {
      const v = def.values?.[0];
      const type: LeafType = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
      return { kind: 'leaf', type, elem: null, section: false };
    }
    default:
      return ANY;
  }
}

function union(nodes: SchemaNode[], defs: ZodDef[]): SchemaNode {
  const boolish = defs.some((d) => d.type === 'boolean' || (d.type === 'literal' && typeof d.values?.[0] === 'boolean'));
  const structured = nodes.find((n) => n.kind !== 'leaf');
  if (structured) return { ...structured, section: boolish };
  const types = new Set(nodes.map((n) => (n.kind === 'leaf' ? n.type : 'any')));
  const list = nodes.find((n) => n.kind === 'leaf' && n.type === 'list');
  if (list) return list;
  if (types.size === 1) return nodes[0]!;
  if (types.has('string')) return { kind: 'leaf', type: 'string', elem: null, section: false };
  return ANY;
}

/** nodeAt follows a path (map names and array indexes included) down the tree. */
export function nodeAt(root: SchemaNode, path: readonly PropertyKey[]): SchemaNode | null {
  let node: SchemaNode = root;
  for (const seg of path) {
    if (node.kind === 'object') {
      const f = node.fields.get(String(seg).toLowerCase());
      if (!f) return null;
      node = f.node;
    } else if (node.kind === 'map') {
      node = node.value;
    } else if (node.type === 'list' && typeof seg === 'number') {
      // Elements of a list of objects are not described further; the caller only needs objects' fields.
      return null;
    } else {
      return null;
    }
  }
  return node;
}

/** formatPath renders ['servers', 0, 'url'] after `base` as `base.servers[0].url`. */
export function formatPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export interface IssueText {
  /** The zod path of the problem below the validated value. */
  readonly path: PropertyKey[];
  /** The message, without the path. */
  readonly message: string;
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  values?: unknown[];
  expected?: string;
  errors?: ZodIssueLike[][];
}

/**
 * explainIssues turns zod issues into one message per problem. Unknown keys get a "did you mean"
 * among the keys valid at that place, found by walking `schema` (any zod schema, objects nested
 * in arrays included).
 */
export function explainIssues(schema: z.ZodType, issues: readonly unknown[], base: PropertyKey[] = []): IssueText[] {
  const out: IssueText[] = [];
  for (const raw of issues) {
    const issue = raw as ZodIssueLike;
    const path = [...base, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = objectKeysAt(schema, path);
        for (const key of issue.keys ?? []) out.push({ path: [...path, key], message: `unknown option${didYouMean(key, allowed)}` });
        break;
      }
      case 'invalid_union': {
        const branch = pickBranch(issue.errors ?? []);
        if (branch) out.push(...explainIssues(schema, branch, path));
        else out.push({ path, message: cleanMessage(issue.message) });
        break;
      }
      case 'invalid_value':
        out.push({ path, message: `expected ${issue.values?.map((v) => JSON.stringify(v)).join(' or ') ?? 'another value'}` });
        break;
      default:
        out.push({ path, message: cleanMessage(issue.message) });
    }
  }
  return out;
}

/** pickBranch chooses the union member whose errors say most about the input (the object, not `false`). */
function pickBranch(branches: ZodIssueLike[][]): ZodIssueLike[] | null {
  const informative = branches.filter((b) => !(b.length === 1 && b[0]!.path.length === 0 && (b[0]!.code === 'invalid_type' || b[0]!.code === 'invalid_value')));
  if (informative.length >= 1) return informative[0]!;
  return null;
}

function cleanMessage(m: string): string {
  if (/received undefined/.test(m)) return 'required';
  return m.replace(/^Invalid input: /, '').replace(/, received /, ', got ');
}

/** objectKeysAt lists the option names valid at `path` (through arrays, maps, optionals …). */
export function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let i = 0;
  for (;;) {
    if (!s) return [];
    const def = defOf(s);
    const inner = wrapped(def);
    if (inner !== null) {
      s = inner;
      continue;
    }
    switch (def.type) {
      case 'pipe':
        s = def.in;
        continue;
      case 'lazy':
        s = def.getter!();
        continue;
      case 'union': {
        const objs = def.options!.filter((o) => objectKeysAt(o, []).length > 0 || defOf(o).type === 'object');
        if (objs.length === 0) return [];
        s = objs[0];
        continue;
      }
      case 'object':
        if (i === path.length) return Object.keys(def.shape!);
        s = def.shape![String(path[i])] ?? Object.entries(def.shape!).find(([k]) => k.toLowerCase() === String(path[i]).toLowerCase())?.[1];
        i++;
        continue;
      case 'record':
        if (i === path.length) return [];
        s = def.valueType;
        i++;
        continue;
      case 'array':
        if (i === path.length) return [];
        s = def.element;
        i++;
        continue;
      default:
        return [];
    }
  }
}
