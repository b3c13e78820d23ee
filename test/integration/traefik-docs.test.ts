/**
 * Traefik's own documentation, example by example, through the real `gantry check`: every YAML
 * dynamic-configuration example of Traefik v3.7's routing reference (and of the v3.6 middleware
 * pages) that needs no Kubernetes is in testdata/traefik-docs/, one file each with its source on
 * the first line (scripts/traefik-docs-extract.mjs wrote them). Each is completed with stubs for
 * what it references but does not define (test/helpers/traefik-docs.ts lists the rules) and must
 * load — or be refused, every error of it a "not supported yet (<why>)" listed in REFUSED, or be
 * one of the documentation mistakes that Traefik itself rejects (DOC_ERRORS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { gantryBin, repoRoot, tempDir } from '../helpers/gantry.js';
import { completeExample } from '../helpers/traefik-docs.js';

const DATA = path.join(repoRoot, 'test/integration/testdata/traefik-docs');

/** Examples Gantry refuses on purpose: file → the refusals `gantry check` must print (all of them). */
const REFUSED: Readonly<Record<string, readonly RegExp[]>> = {};

/**
 * Documentation mistakes: examples that Traefik's own decoder or rule parser rejects as well, with
 * the reason. They must fail here too, with the message given.
 */
const DOC_ERRORS: Readonly<Record<string, { why: string; message: RegExp }>> = {};

interface Result {
  ok: boolean;
  lines: string[];
}

/** runCheck checks every file with one `gantry check` and splits its output by file. */
function runCheck(files: string[]): Map<string, Result> {
  const r = spawnSync(process.execPath, [gantryBin, 'check', ...files], { encoding: 'utf8', maxBuffer: 16 << 20 });
  assert.equal(r.signal, null, r.stderr);
  const out = new Map<string, Result>();
  let current: Result | null = null;
  for (const line of r.stdout.split('\n')) {
    const file = files.find((f) => line.startsWith(`${f}:`));
    if (file !== undefined) {
      current = { ok: line.startsWith(`${file}: ok (`), lines: [line.slice(file.length + 2)] };
      out.set(path.basename(file), current);
    } else if (current !== null && line.trim() !== '') {
      current.lines.push(line.trim());
    }
  }
  return out;
}

test("Traefik's documentation examples load with gantry check, or are refused with the reason", (t) => {
  const names = fs.readdirSync(DATA).filter((f) => f.endsWith('.yml')).sort();
  // A broken extraction must not pass as "nothing failed".
  assert.ok(names.length >= 190, `only ${names.length} examples in ${DATA}`);
  const tmp = tempDir('gantry-traefik-docs-');
  try {
    const files: string[] = [];
    const added = new Map<string, string[]>();
    for (const name of names) {
      const text = fs.readFileSync(path.join(DATA, name), 'utf8');
      assert.match(text, /^# source: traefik\/traefik v3\.\d+\.\d+ /, `${name}: no source line`);
      const { doc, added: a } = completeExample(YAML.parse(text) as Record<string, unknown>);
      added.set(name, a);
      const file = path.join(tmp.dir, name);
      fs.writeFileSync(file, YAML.stringify(doc));
      files.push(file);
    }
    const results = runCheck(files);
    const problems: string[] = [];
    let loaded = 0;
    let refused = 0;
    let docErrors = 0;
    for (const name of names) {
      const r = results.get(name);
      if (r === undefined) {
        problems.push(`${name}: no output from gantry check`);
        continue;
      }
      const errors = r.lines.slice(1);
      const why = `${name} (stubs: ${added.get(name)!.join(', ') || 'none'}):\n    ${r.lines.join('\n    ')}`;
      if (DOC_ERRORS[name] !== undefined) {
        docErrors++;
        if (r.ok || !errors.some((e) => DOC_ERRORS[name]!.message.test(e))) problems.push(`documentation mistake not reported: ${why}`);
      } else if (REFUSED[name] !== undefined) {
        refused++;
        const expected = REFUSED[name]!;
        const unexplained = errors.filter((e) => !/not supported yet \(.+\)/.test(e) || !expected.some((re) => re.test(e)));
        const missing = expected.filter((re) => !errors.some((e) => re.test(e)));
        if (r.ok || unexplained.length > 0 || missing.length > 0) problems.push(`refusal changed: ${why}`);
      } else if (r.ok) {
        loaded++;
      } else {
        problems.push(why);
      }
    }
    t.diagnostic(`${names.length} examples: ${loaded} load, ${refused} refused as not supported yet, ${docErrors} documentation mistakes`);
    assert.deepEqual(problems, [], `${problems.length} examples do not load:\n${problems.join('\n')}`);
  } finally {
    tmp.cleanup();
  }
});
