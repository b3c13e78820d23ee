/**
 * parseConfigText reads a configuration file's text as YAML or TOML (chosen by the file name's
 * extension: .toml is TOML, anything else YAML) and returns the plain data. Any syntax error,
 * including a duplicated YAML key, is a ParseError with the 1-based line and column.
 *
 * The two parsers are loaded on first use (yaml is ~70 modules, ~290 KB of source): a proxy
 * configured by flags and labels alone, or by TOML alone, never carries the other. `require` keeps
 * the call sites synchronous; both packages ship a CommonJS build.
 */
import { createRequire } from 'node:module';
import type * as Toml from 'smol-toml';
import type * as Yaml from 'yaml';
import { ParseError } from '../errors.js';

const requireHere = createRequire(import.meta.url);
let yaml: typeof Yaml | null = null;
let toml: typeof Toml | null = null;

/** yamlLib is the yaml package, loaded on first use (also for writing YAML out). */
export function yamlLib(): typeof Yaml {
  return (yaml ??= requireHere('yaml') as typeof Yaml);
}

function tomlLib(): typeof Toml {
  return (toml ??= requireHere('smol-toml') as typeof Toml);
}

export type ConfigFormat = 'yaml' | 'toml';

/** configFormat picks the parser from the file name; YAML is the default. */
export function configFormat(fileName: string): ConfigFormat {
  return /\.toml$/i.test(fileName) ? 'toml' : 'yaml';
}

/** isConfigFileName tells whether a directory entry is a configuration file (.yaml, .yml, .toml). */
export function isConfigFileName(fileName: string): boolean {
  return /\.(ya?ml|toml)$/i.test(fileName);
}

/** parseConfigText returns the document's data; an empty document is an empty object. */
export function parseConfigText(text: string, fileName: string): unknown {
  const data = configFormat(fileName) === 'toml' ? parseTomlText(text, fileName) : parseYamlText(text, fileName);
  return data ?? {};
}

function parseYamlText(text: string, fileName: string): unknown {
  const y = yamlLib();
  const lineCounter = new y.LineCounter();
  // The package's own uniqueKeys check compares each key with every earlier one of its map: 10,000
  // routers took ~0.5 s in it alone. Duplicates are found below with a set per map instead.
  const doc = y.parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    throw new ParseError(fileName, pos.line, pos.col, firstLine(err.message).replace(/ at line \d+, column \d+:?$/, ''));
  }
  const dup = firstDuplicateKey(y, doc);
  if (dup !== null) {
    const pos = lineCounter.linePos(dup.offset);
    throw new ParseError(fileName, pos.line, pos.col, `map keys must be unique: ${JSON.stringify(dup.key)} is defined twice`);
  }
  return doc.toJS({ maxAliasCount: 1000 });
}

/**
 * firstDuplicateKey finds, in document order, a key that repeats an earlier key of the same
 * mapping. Keys compare as the object keys they become (`1` and `"1"` are the same key), which
 * is stricter than the package's check and never lets a later key silently win.
 */
function firstDuplicateKey(y: typeof Yaml, doc: Yaml.Document.Parsed): { key: string; offset: number } | null {
  let found: { key: string; offset: number } | null = null;
  y.visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key;
        if (!y.isScalar(k)) continue;
        const name = String(k.value);
        if (seen.has(name)) {
          found = { key: name, offset: k.range?.[0] ?? 0 };
          return y.visit.BREAK;
        }
        seen.add(name);
      }
      return undefined;
    },
  });
  return found;
}

function parseTomlText(text: string, fileName: string): unknown {
  try {
    return plain(tomlLib().parse(text));
  } catch (e) {
    const err = e as { line?: number; column?: number; message?: string };
    const message = firstLine(String(err.message ?? e)).replace(/^Invalid TOML document: /, '');
    throw new ParseError(fileName, err.line ?? 1, err.column ?? 1, message);
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).trim();
}

/** plain copies TOML's null-prototype tables into ordinary objects, like YAML's, for deep equality. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
