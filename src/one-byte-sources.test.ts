/**
 * V8 keeps a module's source text for as long as the module lives, at one byte a character when
 * every character is Latin-1 and at two bytes when a single one is not. The build keeps Gantry's
 * modules one-byte: comments are removed (tsconfig), the zod bundle is escaped
 * (scripts/bundle-zod.mjs), and code writes other characters as escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...modules(p));
    else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

test('every built module is Latin-1 text, so V8 holds its source at one byte a character', () => {
  const root = fileURLToPath(new URL('.', import.meta.url));
  const files = modules(root);
  assert.ok(files.length > 100, `found ${files.length} modules under ${root}`);
  const twoByte = files.filter((f) => /[^\x00-\xff]/.test(readFileSync(f, 'utf8'))).map((f) => f.slice(root.length));
  assert.deepEqual(twoByte, []);
  assert.ok(files.some((f) => f.endsWith('config/zod.js')), 'the zod bundle is among them');
});
