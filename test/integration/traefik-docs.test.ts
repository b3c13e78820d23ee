/**
 * Traefik's own documentation, example by example, through the real `gantry check`: every YAML
 * dynamic-configuration example of Traefik v3.7's routing reference (and of the v3.6 middleware
 * pages) that needs no Kubernetes is in testdata/traefik-docs/, one file each with its source on
 * the first line (scripts/traefik-docs-extract.mjs wrote them). Each is completed with stubs for
 * what it references but does not define (test/helpers/traefik-docs.ts lists the rules) and must
 * load — or be refused, every error of it a "not supported yet (<why>)" listed in REFUSED, or be
 * one of the documentation mistakes that Traefik itself rejects (DOC_ERRORS). PENDING lists what
 * other slices of issue 16 implement on their own branches: the test fails when one of them
 * starts loading, so that merging removes its line.
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

const UDP = /^udp\.(routers|services)\.[^:]+: not supported yet \(Gantry routes HTTP and TCP; UDP routers and services are not implemented\)$/;

/** Examples Gantry refuses on purpose: file → the refusals `gantry check` must print (all of them). */
const REFUSED: Readonly<Record<string, readonly RegExp[]>> = {
  'http-load-balancing-serverstransport-01.yml': [/\.spiffe: not supported yet \(SPIFFE workload API\)/],
  'tcp-serverstransport-01.yml': [/\.spiffe: not supported yet \(SPIFFE workload API\)/],
  'mw-http-buffering-20.yml': [/buffering\.memResponseBodyBytes: not supported yet/],
  'mw-http-buffering-24.yml': [/buffering\.retryExpression: not supported yet/],
  'http-middlewares-contenttype-01.yml': [/\.contentType: not supported yet \(Gantry does not guess a Content-Type/],
  'mw-http-contenttype-04.yml': [/\.contentType: not supported yet \(Gantry does not guess a Content-Type/],
  // The all-options example lists two endpoints, which Traefik's go-redis reads as a Redis Cluster.
  'http-middlewares-ratelimit-01.yml': [/rateLimit\.redis\.endpoints: not supported yet \(several endpoints make a Redis Cluster client/],
  'udp-routing-router-01.yml': [UDP],
  'udp-routing-rules-priority-01.yml': [UDP],
  'udp-routing-rules-priority-03.yml': [UDP],
  'udp-service-01.yml': [UDP],
  'udp-service-02.yml': [UDP],
};

/**
 * Documentation mistakes: examples that Traefik's own decoder or rule parser rejects as well, with
 * the reason. They must fail here too, with the message given.
 */
const DOC_ERRORS: Readonly<Record<string, { why: string; message: RegExp }>> = {
  'http-routing-router-01.yml': {
    why: 'the "all options" router sets parentRefs together with entryPoints, tls and observability; Traefik disables it ("non-root router cannot have TLS configuration", pkg/server/router/router.go)',
    message: /my-router\.entryPoints: a router with parentRefs must not have entryPoints/,
  },
  'mw-http-ipallowlist-16.yml': {
    why: 'ipAllowList has no sourceCriterion (the page means ipStrategy); Traefik\'s decoder fails with "field not found"',
    message: /ipAllowList\.sourceCriterion: unknown option/,
  },
  'mw-http-ipwhitelist-16.yml': {
    why: 'ipWhiteList has no sourceCriterion (the page means ipStrategy); Traefik\'s decoder fails with "field not found"',
    message: /ipWhiteList\.sourceCriterion: unknown option/,
  },
  'mw-http-ratelimit-56.yml': {
    why: 'the example lost an indentation level: `redis` sits beside `rateLimit` as a second middleware type, which Traefik refuses too',
    message: /unknown middleware type "redis"/,
  },
  'mw-tcp-overview-04.yml': {
    why: 'a TCP router with the HTTP matcher Host; Traefik\'s TCP rule parser has no Host',
    message: /tcp\.routers\.router1\.rule: unknown matcher "Host"/,
  },
  'tcp-middlewares-overview-01.yml': {
    why: 'a TCP router with the HTTP matcher Host; Traefik\'s TCP rule parser has no Host',
    message: /tcp\.routers\.router1\.rule: unknown matcher "Host"/,
  },
};

/** Owned by other slices of issue 16 (their own branches): file → what main still says about it. */
const PENDING: Readonly<Record<string, RegExp>> = {};

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
    let pending = 0;
    for (const name of names) {
      const r = results.get(name);
      if (r === undefined) {
        problems.push(`${name}: no output from gantry check`);
        continue;
      }
      const errors = r.lines.slice(1);
      const why = `${name} (stubs: ${added.get(name)!.join(', ') || 'none'}):\n    ${r.lines.join('\n    ')}`;
      if (PENDING[name] !== undefined) {
        pending++;
        if (r.ok || !errors.every((e) => PENDING[name]!.test(e))) problems.push(`another slice's example changed (update PENDING): ${why}`);
      } else if (DOC_ERRORS[name] !== undefined) {
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
    t.diagnostic(`${names.length} examples: ${loaded} load, ${refused} refused as not supported yet, ${docErrors} documentation mistakes, ${pending} left to other slices`);
    for (const table of [REFUSED, DOC_ERRORS, PENDING]) for (const f of Object.keys(table)) if (!names.includes(f)) problems.push(`${f} is listed but not in ${DATA}`);
    assert.deepEqual(problems, [], `${problems.length} examples do not load:\n${problems.join('\n')}`);
  } finally {
    tmp.cleanup();
  }
});
