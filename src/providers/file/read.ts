/**
 * Reading the file provider's sources: one file, or every .yaml/.yml/.toml file under a
 * directory merged into one configuration. An element defined differently in two files is
 * dropped and reported with both file names; identical definitions are accepted.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import { isConfigFileName, parseConfigText } from '../../config/parse.js';
import { ConfigError } from '../../errors.js';
import type { ProviderError } from '../provider.js';

export interface ReadResult {
  config: DynamicConfig;
  errors: ProviderError[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** readConfigFile reads and parses one file; it throws a ParseError or a ConfigError naming the file. */
export async function readConfigFile(file: string): Promise<Obj> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(file, `cannot read: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  const data = parseConfigText(text, file);
  if (!isObj(data)) throw new ConfigError(file, 'expected a mapping (http, tcp, tls) at the top level');
  return data;
}

export async function readSingle(file: string): Promise<ReadResult> {
  return { config: (await readConfigFile(file)) as DynamicConfig, errors: [] };
}

/**
 * listConfigFiles returns the configuration files under dir, sorted, skipping hidden entries
 * (editor lock files like `.#a.yaml`, Kubernetes' `..data` links) so nothing is read twice.
 */
export async function listConfigFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(dir, `cannot read directory: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  }
  return entries
    .filter((rel) => isConfigFileName(rel) && !rel.split(/[\\/]/).some((seg) => seg.startsWith('.') || seg.startsWith('#')))
    .sort()
    .map((rel) => join(dir, rel));
}

export async function readDirectory(dir: string): Promise<ReadResult> {
  const files = await listConfigFiles(dir);
  const parsed: [string, Obj][] = [];
  for (const f of files) parsed.push([f, await readConfigFile(f)]);
  return mergeFiles(parsed);
}

/** mergeFiles merges parsed files in order; the same element defined differently twice is an error. */
export function mergeFiles(files: readonly (readonly [string, Obj])[]): ReadResult {
  const out: Obj = {};
  const definedIn = new Map<string, string>();
  const conflicts = new Map<string, Set<string>>();
  for (const [file, data] of files) {
    for (const [section, body] of Object.entries(data)) {
      if (!isObj(body)) {
        // Not a mapping (or an unknown shape): kept as first seen so validation reports it.
        if (!(section in out)) out[section] = body;
        continue;
      }
      const outSection = (isObj(out[section]) ? out[section] : (out[section] = {})) as Obj;
      for (const [kind, elements] of Object.entries(body)) {
        if (section === 'tls' && kind === 'certificates' && Array.isArray(elements)) {
          outSection[kind] = [...((outSection[kind] as unknown[] | undefined) ?? []), ...elements];
          continue;
        }
        if (!isObj(elements)) {
          if (!(kind in outSection)) outSection[kind] = elements;
          continue;
        }
        const target = (isObj(outSection[kind]) ? outSection[kind] : (outSection[kind] = {})) as Obj;
        for (const [name, def] of Object.entries(elements)) {
          const path = `${section}.${kind}.${name}`;
          const first = definedIn.get(path);
          if (first === undefined) {
            definedIn.set(path, file);
            target[name] = def;
          } else if (!isDeepStrictEqual(target[name], def)) {
            const set = conflicts.get(path) ?? new Set([first]);
            set.add(file);
            conflicts.set(path, set);
          }
        }
      }
    }
  }
  const errors: ProviderError[] = [];
  for (const [path, fileSet] of conflicts) {
    const [section, kind, name] = splitPath(path);
    delete ((out[section] as Obj)[kind] as Obj)[name];
    const names = [...fileSet];
    errors.push({
      path,
      source: names.join(', '),
      message: `${path}: defined differently in ${names.map((f) => basename(f)).join(' and ')} (${names.join(', ')}); skipped`,
    });
  }
  return { config: out as DynamicConfig, errors };
}

function splitPath(path: string): [string, string, string] {
  const a = path.indexOf('.');
  const b = path.indexOf('.', a + 1);
  return [path.slice(0, a), path.slice(a + 1, b), path.slice(b + 1)];
}
