/**
 * schemaLeaves lists every option a zod schema accepts, as dotted paths: `*` for a user-chosen
 * name (a map key), `[]` for the elements of a list (`http.services.*.loadBalancer.servers[].url`).
 * A leaf is a scalar, a list of scalars, a free-form value, or an object with no fields (an on/off
 * section such as `tlsChallenge: {}`). The schema-coverage test (coverage.test.ts) walks the static
 * and dynamic schemas with it, and the refused-options table (refused.ts) names paths in the same
 * syntax.
 */
import type * as z from './zod.js';
import { defOf, wrapped } from './zod-def.js';



/** schemaLeaves returns the sorted, deduplicated leaf paths of `schema` under `base`. */
export function schemaLeaves(schema: z.ZodType, base: string): string[] {
  const out = new Set<string>();
  walk(schema, base, out, new Set());
  return [...out].sort();
}

function walk(schema: z.ZodType, path: string, out: Set<string>, seen: Set<z.ZodType>): void {
  if (seen.has(schema)) return; // a recursive (lazy) schema is described once
  const def = defOf(schema);
  const inner = wrapped(def);
  if (inner !== null) return walk(inner, path, out, seen);
  switch (def.type) {
    case 'pipe': {
      // A transform's input is what users write; a pipe into another schema (lowerEnum) also has it first.
      const inDef = defOf(def.in!);
      return walk(inDef.type === 'transform' ? def.out! : def.in!, path, out, seen);
    }
    case 'lazy': {
      seen.add(schema);
      walk(def.getter!(), path, out, seen);
      seen.delete(schema);
      return;
    }
    case 'object': {
      const entries = Object.entries(def.shape!);
      if (entries.length === 0) out.add(path);
      for (const [k, v] of entries) walk(v, path === '' ? k : `${path}.${k}`, out, seen);
      return;
    }
    case 'record':
      return walk(def.valueType!, `${path}.*`, out, seen);
    case 'array': {
      const el = defOf(def.element!);
      if (isScalar(def.element!)) out.add(path);
      else walk(def.element!, `${path}[]`, out, seen);
      void el;
      return;
    }
    case 'union': {
      const structured = def.options!.filter((o) => !isScalar(o));
      if (structured.length === 0) out.add(path);
      // `false | { … }` (a section) and `string | number` (a duration) are one option each.
      for (const o of structured) walk(o, path, out, seen);
      return;
    }
    default:
      out.add(path);
  }
}

/** isScalar: the schema accepts no object with fields (a string, number, boolean, enum, literal …). */
function isScalar(schema: z.ZodType): boolean {
  const def = defOf(schema);
  const inner = wrapped(def);
  if (inner !== null) return isScalar(inner);
  switch (def.type) {
    case 'pipe':
      return isScalar(def.in!) && (defOf(def.in!).type === 'transform' || isScalar(def.out!));
    case 'union':
      return def.options!.every(isScalar);
    case 'object':
    case 'record':
    case 'array':
    case 'lazy':
    case 'unknown':
    case 'any':
      return false;
    default:
      return true;
  }
}
