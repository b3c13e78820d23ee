#!/usr/bin/env node
// regexp.mjs: micro-benchmark of the regexp engines Gantry could use for user-supplied Go regexps
// (docs/regexp.md records the numbers and the decision). Engines: V8's RegExp (backtracking, the
// baseline that is exposed to ReDoS), re2js (pure JS port of RE2), and the native `re2` binding
// when RE2_MODULE points at an installed copy (it is not a dependency: it needs node-gyp):
//   node bench/regexp.mjs
//   RE2_MODULE=/tmp/re2native/node_modules/re2/re2.js node bench/regexp.mjs
// With a built dist/ it also measures Gantry's own wrapper (dist/src/regexp/index.js).
// Every loop is bounded by a time budget; nothing listens on the network.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RE2JS } from 're2js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET_MS = Number(process.env.BUDGET_MS ?? 150);

/** ns per call of fn over the inputs, after a warm-up, within BUDGET_MS. */
function measure(fn, inputs) {
  let sink = 0;
  for (let i = 0; i < 20000; i++) if (fn(inputs[i % inputs.length])) sink++;
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(BUDGET_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) if (fn(inputs[i % inputs.length])) sink++;
    n += 1000;
    now = process.hrtime.bigint();
  }
  if (sink < 0) console.log(sink);
  return Number(now - start) / n;
}

/** ms of one call (the slow, pathological inputs), the best of a few. */
function once(fn, input, runs = 3) {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn(input);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return best;
}

const engines = [];
engines.push({ name: 'V8 RegExp', compile: (p) => new RegExp(p, 'u'), test: (re) => (s) => re.test(s), exec: (re) => (s) => re.exec(s) !== null });
engines.push({ name: 're2js test()', compile: (p) => RE2JS.compile(p), test: (re) => (s) => re.test(s), exec: (re) => (s) => re.exec(s) !== null });
engines.push({ name: 're2js matcher().find()', compile: (p) => RE2JS.compile(p), test: (re) => (s) => re.matcher(s).find(), exec: (re) => (s) => {
  const m = re.matcher(s);
  return m.find() && m.group(m.groupCount()) !== undefined;
} });
if (process.env.RE2_MODULE) {
  const RE2 = createRequire(import.meta.url)(process.env.RE2_MODULE);
  engines.push({ name: 'native re2', compile: (p) => new RE2(p, 'u'), test: (re) => (s) => re.test(s), exec: (re) => (s) => re.exec(s) !== null });
}
const wrapper = join(REPO, 'dist/src/regexp/index.js');
if (existsSync(wrapper)) {
  const { compileGoRegexp } = await import(pathToFileURL(wrapper).href);
  engines.push({ name: 'Gantry GoRegexp', compile: (p) => compileGoRegexp(p), test: (re) => (s) => re.test(s), exec: (re) => (s) => re.findSubmatch(s) !== null });
}

// Rules as people write them (inputs 15–30 characters), matching and not matching.
const cases = [
  { desc: 'PathRegexp ^/api/v[0-9]+/users/[0-9]+$', re: '^/api/v[0-9]+/users/[0-9]+$', inputs: ['/api/v2/users/12345', '/api/v10/users/7', '/static/app.js', '/api/v2/orders/1'] },
  { desc: 'HostRegexp ^[a-z0-9-]+\\.example\\.com$', re: '^[a-z0-9-]+\\.example\\.com$', inputs: ['shop-42.example.com', 'www.example.com', 'example.org', 'a.b.example.com'] },
  { desc: 'unanchored \\.(css|js|png)$', re: '\\.(css|js|png)$', inputs: ['/assets/site/app.css', '/assets/logo.png', '/index.html', '/api/v1/items'] },
  { desc: 'named groups ^/(?P<a>[a-z]+)/(?P<b>\\d+)', re: '^/(?<a>[a-z]+)/(?<b>\\d+)', inputs: ['/users/42/profile', '/items/x'] },
  // What most tests in a route table are: rules that do not match (Gantry refuses on the literal).
  { desc: 'no match, other prefix: ^/api/v[0-9]+/', re: '^/api/v[0-9]+/', inputs: ['/static/app.js', '/index.html', '/img/logo.png'] },
  { desc: 'no match, literal absent: /svc7/[0-9]+$', re: '/svc7/[0-9]+$', inputs: ['/api/v2/users/12345', '/static/app.js', '/svc8/12'] },
];

const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Median over ROUNDS rounds, the engines interleaved in each round (the machine is shared). */
function medianRow(make) {
  const fns = engines.map(make);
  const samples = engines.map(() => []);
  for (let r = 0; r < ROUNDS; r++) fns.forEach(([fn, inputs], k) => samples[k].push(measure(fn, inputs)));
  return samples.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(0));
}

console.log(`Node ${process.version}; ns per call (lower is better), median of ${ROUNDS} rounds of ${BUDGET_MS} ms\n`);
console.log(`| case | ${engines.map((e) => e.name).join(' | ')} |`);
console.log(`| --- | ${engines.map(() => '---').join(' | ')} |`);
for (const c of cases) {
  console.log(`| test: ${c.desc} | ${medianRow((e) => [e.test(e.compile(c.re)), c.inputs]).join(' | ')} |`);
  console.log(`| exec (groups): ${c.desc} | ${medianRow((e) => [e.exec(e.compile(c.re)), c.inputs]).join(' | ')} |`);
}

// The ReDoS pattern: V8 doubles its time with each character; linear engines do not care.
console.log(`\nms for one test of ^/(a+)+$ (best of 3)\n`);
console.log(`| input | ${engines.map((e) => e.name).join(' | ')} |`);
console.log(`| --- | ${engines.map(() => '---').join(' | ')} |`);
for (const n of [20, 24, 1000, 10000]) {
  const input = '/' + 'a'.repeat(n) + '!';
  const row = engines.map((e) => {
    if (e.name === 'V8 RegExp' && n > 24) return '(hours)';
    return once(e.test(e.compile('^/(a+)+$')), input).toFixed(3);
  });
  console.log(`| /a×${n}! | ${row.join(' | ')} |`);
}
console.log(`\nms to compile ^/api/v[0-9]+/users/[0-9]+$ (best of 3)\n`);
for (const e of engines) console.log(`- ${e.name}: ${once(() => e.compile('^/api/v[0-9]+/users/[0-9]+$'), null).toFixed(3)}`);

/** ns per t.match(req): a loop of its own, so that the closures measured above do not make it polymorphic. */
function measureTable(t, req) {
  for (let i = 0; i < 20000; i++) t.match(req);
  const n = 200_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) t.match(req);
  return Number(process.hrtime.bigint() - start) / n;
}

// The route table (dist/src/router) with the rules of bench/regexp-wrk.mjs, in process.
const router = join(REPO, 'dist/src/router/index.js');
if (existsSync(router)) {
  const { RouteTable } = await import(pathToFileURL(router).href);
  const { requestFromURL } = await import(pathToFileURL(join(REPO, 'dist/src/router/matcher/testing.js')).href);
  const many = (n, f) => Array.from({ length: n }, (_, i) => f(i));
  const r = (name, rule, priority = 0) => ({ name: `${name}@file`, rule, priority, value: name });
  const tables = {
    'PathPrefix(`/api/`)': [r('t', 'PathPrefix(`/api/`)')],
    'PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)': [r('t', 'PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)')],
    'PathPrefix target + 49 PathPrefix(`/svcN/`)': [r('t', 'PathPrefix(`/api/`)'), ...many(49, (i) => r(`p${i}`, `PathPrefix(\`/svc${i}/\`)`, 100))],
    'PathRegexp target + 49 PathRegexp(`/svcN/[0-9]+$`) (literal refuses)': [r('t', 'PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)'), ...many(49, (i) => r(`r${i}`, `PathRegexp(\`/svc${i}/[0-9]+$\`)`, 100))],
    'PathRegexp target + 49 PathRegexp(`^/api/v[0-9]+/users/[0-9]+/xN$`) (engine runs)': [r('t', 'PathRegexp(`^/api/v[0-9]+/users/[0-9]+$`)'), ...many(49, (i) => r(`r${i}`, `PathRegexp(\`^/api/v[0-9]+/users/[0-9]+/x${i}$\`)`, 100))],
  };
  const req = requestFromURL('http://h/api/v2/users/12345');
  console.log(`\nns per RouteTable.match of GET /api/v2/users/12345 (median of ${ROUNDS} rounds)\n`);
  console.log('| table | ns |');
  console.log('| --- | --- |');
  for (const [desc, entries] of Object.entries(tables)) {
    const t = new RouteTable(entries);
    if (t.match(req)?.value !== 't') throw new Error(`${desc}: wrong route`);
    const xs = [];
    for (let k = 0; k < ROUNDS; k++) xs.push(measureTable(t, req));
    console.log(`| ${desc} | ${xs.sort((a, b) => a - b)[xs.length >> 1].toFixed(0)} |`);
  }
}
