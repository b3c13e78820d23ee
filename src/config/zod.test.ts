import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from './zod.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('config/zod: the one way in to zod', () => {
  it('is the only module that imports zod (a second copy would fail instanceof checks and load all of zod)', () => {
    const offenders = [...sources(path.join(root, 'src')), ...sources(path.join(root, 'test'))]
      .filter((f) => !f.endsWith(path.join('src', 'config', 'zod.ts')))
      .filter((f) => /from ['"]zod(\/[^'"]*)?['"]/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(root, f));
    assert.deepEqual(offenders, []);
  });

  it('is built as one bundle that loads nothing of the zod package', () => {
    const built = fs.readFileSync(path.join(here, 'zod.js'), 'utf8');
    assert.doesNotMatch(built, /from\s*["']zod/, 'dist/src/config/zod.js still imports zod: scripts/bundle-zod.mjs did not run');
    // esbuild marks where each bundled module begins: English is the only locale kept.
    const locales = [...built.matchAll(/\/\/ node_modules\/zod\/v4\/locales\/([\w-]+)\.js/g)].map((m) => m[1]);
    assert.deepEqual(locales, ['en']);
  });

  it('validates and reports in English as zod does', () => {
    const schema = z.strictObject({ port: z.number().int().min(1), name: z.string().optional(), mode: z.enum(['a', 'b']) });
    assert.deepEqual(schema.parse({ port: 80, mode: 'a' }), { port: 80, mode: 'a' });
    const r = schema.safeParse({ port: 0, mode: 'c', extra: 1 });
    assert.equal(r.success, false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(messages.some((m) => m.startsWith('port: Too small')), messages.join('; '));
    assert.ok(messages.some((m) => m.startsWith('mode: Invalid option')), messages.join('; '));
    assert.ok(messages.some((m) => m.includes('Unrecognized key')), messages.join('; '));
  });
});
