/**
 * Differential raw-byte oracle: the same byte sequences go to Gantry (the real bin/gantry), nginx
 * and HAProxy, each a reverse proxy in front of one recording backend. A table shows what each
 * proxy answered and forwarded; the test asserts that Gantry never forwards what both references
 * refuse, and never forwards something other than what it routed (another Host or path, or a
 * request smuggled past it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFile, tempDir, type GantryProcess } from '../helpers/gantry.js';
import { exchange } from './client.js';
import { gantryViolations, PROXIES, summary, table, verdict, forwardedCount, type CaseResult, type ProxyName, type ProxyResult } from './compare.js';
import { gantryYaml } from './gantry-routes.js';
import { RecordingBackend } from './recording-backend.js';
import { startHaproxy, startNginx, type RunningProxy } from './reference-proxies.js';
import { loadVectors, type Vector } from './vectors.js';

// Ports 19500–19599 on 127.0.0.1 are the oracle's (Gantry's own entrypoint is on :0).
const BACKEND_PORTS: Record<ProxyName, number> = { gantry: 19500, nginx: 19501, haproxy: 19502 };
const NGINX_PORT = 19510;
const HAPROXY_PORT = 19520;
/** Per case and proxy; a proxy still waiting for bytes that never come shows as "timeout". */
const CASE_TIMEOUT_MS = 2000;
/** Quiet time after the last response byte before a kept-alive connection counts as done. */
const QUIET_MS = 60;
const SUITE_BOUND_MS = 150_000;

describe('differential oracle: Gantry, nginx and HAProxy on the same raw bytes', { timeout: SUITE_BOUND_MS + 30_000 }, () => {
  const vectors = loadVectors();
  const results: CaseResult[] = [];
  let backend: RecordingBackend | undefined;
  let nginx: RunningProxy | undefined;
  let haproxy: RunningProxy | undefined;
  let gantry: { g: GantryProcess; cleanup(): Promise<void> } | undefined;
  const tmp = tempDir('gantry-oracle-');

  before(
    async () => {
      backend = await RecordingBackend.start(BACKEND_PORTS);
      nginx = await startNginx(`${tmp.dir}/nginx`, NGINX_PORT, BACKEND_PORTS.nginx);
      haproxy = await startHaproxy(`${tmp.dir}/haproxy`, HAPROXY_PORT, BACKEND_PORTS.haproxy);
      gantry = await startWithFile(gantryYaml(`http://127.0.0.1:${BACKEND_PORTS.gantry}`));
      const ports: Record<ProxyName, number> = { gantry: gantry.g.port(), nginx: NGINX_PORT, haproxy: HAPROXY_PORT };
      const deadline = Date.now() + SUITE_BOUND_MS;
      const outcomes = new Map<string, Record<ProxyName, ProxyResult['outcome']>>();
      for (const v of vectors) {
        if (Date.now() > deadline) throw new Error(`suite bound of ${SUITE_BOUND_MS} ms reached at ${v.id}`);
        outcomes.set(v.id, await runCase(backend, v, ports));
      }
      // Records are collected last: a proxy may report a head it forwarded only when its client left.
      await settle(backend);
      for (const v of vectors) {
        const o = outcomes.get(v.id)!;
        const r = {} as Record<ProxyName, ProxyResult>;
        for (const p of PROXIES) r[p] = { outcome: o[p], forwarded: backend.forCase(v.id, p) };
        results.push({ vector: v, results: r });
      }
      process.stderr.write(`\n${table(results)}\n\n${summary(results)}\n\n`);
    },
    { timeout: SUITE_BOUND_MS + 20_000 },
  );

  after(async () => {
    await gantry?.cleanup();
    await nginx?.stop();
    await haproxy?.stop();
    await backend?.close();
    tmp.cleanup();
  });

  it('has 100+ vectors from every category, each with its source', () => {
    assert.ok(vectors.length >= 100, `${vectors.length} vectors`);
    for (const cat of ['request-line', 'header-syntax', 'framing', 'host', 'connection']) {
      assert.ok(vectors.some((v) => v.category === cat), `no ${cat} vectors`);
    }
  });

  it('all three proxies forward the control requests (the harness sees forwarding)', () => {
    const controls = results.filter((c) => c.vector.control);
    assert.ok(controls.length >= 5, `${controls.length} control vectors`);
    for (const c of controls) for (const p of PROXIES) assert.ok(forwardedCount(c.results[p]) >= 1, `${p} did not forward control ${c.vector.id}`);
  });

  it('Gantry is never more lenient than both nginx and HAProxy', () => {
    const bad = results.filter((c) => verdict(c) === 'more lenient than both').map((c) => c.vector.id);
    assert.deepEqual(bad, [], `Gantry forwarded more than both references on: ${bad.join(', ')}`);
  });

  it('Gantry forwards only what it routed', () => {
    const bad = results.filter((c) => gantryViolations(c).length > 0).map((c) => `${c.vector.id}: ${gantryViolations(c).join('; ')}`);
    assert.deepEqual(bad, []);
  });
});

/** runCase sends one vector to each proxy in turn, each on a fresh connection. */
async function runCase(backend: RecordingBackend, v: Vector, ports: Record<ProxyName, number>): Promise<Record<ProxyName, ProxyResult['outcome']>> {
  backend.label = v.id;
  const out = {} as Record<ProxyName, ProxyResult['outcome']>;
  const headFirst = v.bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
  for (const p of PROXIES) {
    out[p] = await exchange(ports[p], v.bytes, {
      timeoutMs: CASE_TIMEOUT_MS,
      quietMs: QUIET_MS,
      headFirst,
      // Done only once every request the proxy forwarded for this case has been answered.
      settled: (responses) => backend.quietFor(p, QUIET_MS) && backend.forCase(v.id, p).filter((r) => r.request !== null).length <= responses,
    });
  }
  return out;
}

/** settle waits until no backend connection holds part of a request (bounded). */
async function settle(backend: RecordingBackend): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !PROXIES.every((p) => backend.quietFor(p, 200))) await new Promise((r) => setTimeout(r, 20));
}
