import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function* sources(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.includes('test-util') && e.name !== 'testutil.ts') yield p;
  }
}

test("runtime code takes node:http from src/node-http.ts, never by an ESM value import (which loads Node's bundled undici)", () => {
  const offenders: string[] = [];
  for (const file of sources(srcDir)) {
    if (file.endsWith(path.join('src', 'node-http.ts'))) continue;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'node:http';/gms)) offenders.push(`${path.relative(srcDir, file)}: ${m[0].replace(/\s+/g, ' ')}`);
  }
  assert.deepEqual(offenders, []);
});
