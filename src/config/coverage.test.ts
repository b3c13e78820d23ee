/**
 * The schema-coverage test (issue 16): every option the static and dynamic schemas accept — walked
 * from the zod schemas themselves, middleware options from each registered factory — is either
 * covered by a test (coverage-table.ts) or refused with a reason (refused.ts), never both, never
 * neither. A covered option's test file must exist and name it; a refused one must really be
 * refused by `gantry check`'s validators with its message. Adding an option to a schema without
 * an entry fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from './zod.js';
import { schemaLeaves } from './leaves.js';
import { COVERED, type Coverage } from './coverage-table.js';
import { REFUSED, refusalMessage, type Refusal } from './refused.js';
import { staticSchema } from './static/schema.js';
import { checkStaticData } from './static/index.js';
import * as dyn from './dynamic/schema.js';
import * as transports from './dynamic/transports.js';
import { DYNAMIC_SECTIONS, validateDynamic } from './dynamic/validate.js';
import { middlewareFactory, middlewareTypes } from '../middlewares/registry.js';
import '../middlewares/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The schema of each dynamic section's elements; sections without one are leaves themselves (and refused). */
const ELEMENT_SCHEMAS: Record<string, z.ZodType | null> = {
  'http.routers.*': dyn.httpRouterSchema,
  'http.services.*': dyn.httpServiceSchema,
  'http.middlewares.*': null, // one schema per middleware type, below
  'http.serversTransports.*': transports.serversTransportSchema,
  'http.profiles.*': dyn.httpProfileSchema,
  'tcp.routers.*': dyn.tcpRouterSchema,
  'tcp.services.*': dyn.tcpServiceSchema,
  'tcp.middlewares': null,
  'tcp.serversTransports.*': transports.tcpServersTransportSchema,
  'udp.routers': null,
  'udp.services': null,
  'tls.certificates[]': dyn.tlsCertificateSchema,
  'tls.options.*': dyn.tlsOptionsSchema,
  'tls.stores.*': transports.tlsStoreSchema,
};

/** allLeaves lists every option of the static and dynamic configuration. */
export function allLeaves(extraStatic: z.ZodType = staticSchema): string[] {
  const out = schemaLeaves(extraStatic, '');
  for (const [at, schema] of Object.entries(ELEMENT_SCHEMAS)) {
    if (at === 'http.middlewares.*') {
      for (const type of middlewareTypes()) out.push(...schemaLeaves(middlewareFactory(type)!.schema, `http.middlewares.*.${type}`));
    } else if (schema === null) out.push(at);
    else out.push(...schemaLeaves(schema, at));
  }
  return out;
}

const isUnder = (leaf: string, prefix: string) => leaf === prefix || leaf.startsWith(`${prefix}.`) || leaf.startsWith(`${prefix}[]`);

function refusalOf(leaf: string, table: readonly Refusal[]): Refusal | undefined {
  return table.find((r) => isUnder(leaf, r.path));
}

function coverageOf(leaf: string, table: Readonly<Record<string, Coverage>>): { key: string; cov: Coverage; wildcard: boolean } | undefined {
  if (table[leaf] !== undefined) return { key: leaf, cov: table[leaf]!, wildcard: false };
  for (const [key, cov] of Object.entries(table)) if (key.endsWith('.**') && isUnder(leaf, key.slice(0, -3))) return { key, cov, wildcard: true };
  return undefined;
}

/** problems classifies every leaf; the empty list means the tables are complete and consistent. */
export function problems(leaves: readonly string[], covered: Readonly<Record<string, Coverage>>, refused: readonly Refusal[]): string[] {
  const out: string[] = [];
  for (const leaf of leaves) {
    const r = refusalOf(leaf, refused);
    const c = coverageOf(leaf, covered);
    // A `.**` entry covers what its area implements; refused options below it stay refused.
    if (r !== undefined && c !== undefined && !c.wildcard) out.push(`${leaf}: both covered (${c.key}) and refused (${r.path})`);
    if (r === undefined && c === undefined) out.push(`${leaf}: neither covered by a test (coverage-table.ts) nor refused (refused.ts)`);
  }
  for (const key of Object.keys(covered)) {
    const hit = key.endsWith('.**') ? leaves.some((l) => isUnder(l, key.slice(0, -3))) : leaves.includes(key);
    if (!hit) out.push(`coverage-table.ts: ${key} is no option of the schemas`);
  }
  for (const r of refused) if (!leaves.some((l) => isUnder(l, r.path))) out.push(`refused.ts: ${r.path} is no option of the schemas`);
  return out;
}

test('every schema option is covered by a test or refused, and no table entry is stale', () => {
  assert.deepEqual(problems(allLeaves(), COVERED, REFUSED), []);
});

test('the dynamic sections the validator knows are all walked', () => {
  const sections = Object.entries(DYNAMIC_SECTIONS).flatMap(([s, subs]) => subs.map((sub) => `${s}.${sub}`));
  const walked = Object.keys(ELEMENT_SCHEMAS).map((k) => k.replace(/(\.\*|\[\])$/, ''));
  assert.deepEqual([...walked].sort(), [...sections].sort());
});

test('each covering test file exists and names the option', () => {
  const texts = new Map<string, string>();
  const read = (f: string): string | null => {
    if (!texts.has(f)) texts.set(f, fs.existsSync(path.join(repoRoot, f)) ? fs.readFileSync(path.join(repoRoot, f), 'utf8').toLowerCase() : '');
    return texts.get(f) || null;
  };
  const missing: string[] = [];
  for (const leaf of allLeaves()) {
    if (refusalOf(leaf, REFUSED) !== undefined) continue;
    const c = coverageOf(leaf, COVERED);
    if (c === undefined) continue; // reported by the first test
    const [file, token] = typeof c.cov === 'string' ? [c.cov, null] : c.cov;
    const text = read(file);
    if (text === null) {
      missing.push(`${leaf}: ${file} does not exist`);
      continue;
    }
    const name = (token ?? leaf.split('.').filter((s) => s !== '*' && s !== '**').at(-1)!.replace('[]', '')).toLowerCase();
    const re = new RegExp(`(?<![a-z0-9])${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?![a-z0-9])`);
    if (!re.test(text)) missing.push(`${leaf}: ${file} does not name ${name}`);
  }
  assert.deepEqual(missing, []);
});

/** sample builds a configuration that sets `path` (leaves.ts syntax) to `value`. */
function sample(p: string, value: unknown): Record<string, unknown> {
  const segs = p.split('.');
  const root: Record<string, unknown> = {};
  let at: Record<string, unknown> = root;
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    const list = seg.endsWith('[]');
    const key = seg === '*' ? 'sample' : seg.replace('[]', '');
    const child: Record<string, unknown> = {};
    if (list) {
      at[key] = [last ? value : child];
    } else at[key] = last ? value : child;
    at = child;
  });
  return root;
}

test('every refused option is refused with its message by the validators gantry check and start-up use', () => {
  const staticRoots = Object.keys(staticSchema.shape);
  const silent: string[] = [];
  for (const r of REFUSED) {
    const value = 'x'; // no `allows` accepts it
    const data = sample(r.path, value);
    const root = r.path.split('.')[0]!;
    const messages = staticRoots.includes(root) ? checkStaticData(data, 'sample.yaml').map((e) => e.message) : validateDynamic(data).errors.map((e) => e.message);
    if (!messages.some((m) => m.includes(refusalMessage(r)))) silent.push(`${r.path}: not refused (${messages.join('; ') || 'no error'})`);
  }
  assert.deepEqual(silent, []);
});

test('the coverage check fails for an option added without an entry, or listed in both tables', () => {
  const extended = staticSchema.extend({ brandNew: z.strictObject({ knob: z.boolean().optional() }).optional() });
  const leaves = allLeaves(extended);
  assert.deepEqual(problems(leaves, COVERED, REFUSED), ['brandNew.knob: neither covered by a test (coverage-table.ts) nor refused (refused.ts)']);
  const both = problems(allLeaves(), { ...COVERED, 'providers.consulCatalog.connectAware': 'test/integration/etcd.test.ts' }, REFUSED);
  assert.deepEqual(both, ['providers.consulCatalog.connectAware: both covered (providers.consulCatalog.connectAware) and refused (providers.consulCatalog.connectAware)']);
  assert.deepEqual(problems(allLeaves(), { ...COVERED, 'no.such.option': 'x' }, REFUSED), ['coverage-table.ts: no.such.option is no option of the schemas']);
});
