/**
 * zod-def reads a zod 4 schema's definition (`_zod.def`), which the configuration code walks to
 * describe, canonicalize and list options. One place knows its shape and which schema types only
 * wrap another one.
 */
import type * as z from './zod.js';

export interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  values?: unknown[];
  getter?: () => z.ZodType;
}

export function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** Types that accept what their `innerType` accepts (plus undefined, null or a default). */
const WRAPPERS: ReadonlySet<string> = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** wrapped returns the schema a wrapper type (optional, default, …) wraps, or null for any other type. */
export function wrapped(def: ZodDef): z.ZodType | null {
  return WRAPPERS.has(def.type) ? def.innerType! : null;
}
