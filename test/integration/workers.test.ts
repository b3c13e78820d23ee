/**
 * --workers=2: two processes serve the port, the primary and one worker it forked; a reload reaches
 * both before any request can see the old route, the API answers for both, and SIGTERM drains
 * both then exits 0.
 */
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { serviceYaml, startBackend, startWithFile, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get, getJSON } from '../helpers/http.js';

/** fresh sends `n` requests, each on a new connection, so the kernel spreads them over workers. */
async function fresh(url: string, host: string, n: number): Promise<Array<{ status: number; backend: string | undefined }>> {
  const out: Array<{ status: number; backend: string | undefined }> = [];
  for (let i = 0; i < n; i++) {
    const dispatcher = new Agent({ pipelining: 0 });
    try {
      const res = await request(url, { headers: { host, connection: 'close' }, dispatcher });
      await res.body.text();
      out.push({ status: res.statusCode, backend: res.headers['x-backend'] as string | undefined });
    } finally {
      await dispatcher.close();
    }
  }
  return out;
}

describe('--workers=2', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let file: string;
  let a: Backend;
  let b: Backend;

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    ({ g, file, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [a.url]), ['--workers=2', '--accessLog', '--accessLog.format=json', '--log.level=DEBUG', '--metrics.prometheus']));
    // Both workers have logged that they listen.
    await g.waitForLog((l) => l.msg === 'entrypoint listening', 5000, g.logs.findIndex((l) => l.msg === 'entrypoint listening') + 1);
  });
  after(async () => {
    await cleanup?.();
    await a?.close();
    await b?.close();
  });

  it('serves from two processes: the primary and its one worker', async () => {
    const replies = await fresh(g.url('/'), 'w.test', 40);
    assert.ok(replies.every((r) => r.status === 200 && r.backend === 'a'));
    await waitFor(() => g.stdout.length >= 40, 3000);
    const pids = new Set(g.stdout.map((l) => (JSON.parse(l) as { pid?: number }).pid));
    assert.equal(pids.size, 2, `access log lines came from ${[...pids].join(', ')}`);
    assert.ok(pids.has(g.proc.pid), `the primary (${g.proc.pid}) served none of ${[...pids].join(', ')}`);
    const children = readFileSync(`/proc/${g.proc.pid}/task/${g.proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    assert.equal(children.length, 1, `the primary has children ${children.join(', ')}`);
  });

  it('applies a reload in every worker: no request after it reaches the old route', async () => {
    const from = g.logs.length;
    writeAtomic(file, serviceYaml('w', 'w.test', [b.url]));
    // The primary applies it, then its worker acknowledges the same version.
    const applied = await g.waitForLog((l) => l.msg === 'configuration applied' && l['component'] === 'watcher' && !g.logs.slice(0, from).includes(l), 2000, from);
    const version = applied['version'];
    await waitFor(() => g.logs.slice(from).some((l) => l.msg === 'worker applied configuration' && l['version'] === version), 2000);
    const acks = g.logs.slice(from).filter((l) => l.msg === 'worker applied configuration' && l['version'] === version);
    const spread = Math.max(...acks.map((l) => Date.parse(String(l['time'])))) - Date.parse(String(applied['time']));
    process.stderr.write(`reload: primary applied v${version}, its worker acknowledged within ${spread} ms\n`);
    assert.equal(acks.length, 1);
    assert.ok(spread < 1000, `the worker took ${spread} ms`);
    const replies = await fresh(g.url('/'), 'w.test', 40);
    assert.deepEqual(replies.filter((r) => r.backend !== 'b'), []);
  });

  it('answers /api/stats and /metrics for both workers together', async () => {
    const before = (await getJSON<{ total: { requests: number } }>(g.api('/api/stats'))).json.total.requests;
    await fresh(g.url('/'), 'w.test', 30);
    await waitFor(async () => (await getJSON<{ total: { requests: number } }>(g.api('/api/stats'))).json.total.requests >= before + 30, 3000);
    const after = (await getJSON<{ total: { requests: number } }>(g.api('/api/stats'))).json.total.requests;
    assert.equal(after, before + 30);
    const metrics = await get(g.api('/metrics'));
    assert.equal(metrics.status, 200);
    const m = /^gantry_service_requests_total\{code="200",[^}]*service="w@file"\} (\d+)/m.exec(metrics.body);
    assert.ok(m !== null, metrics.body.slice(0, 2000));
    assert.ok(Number(m[1]) >= after - 1, `requests_total ${m[1]} vs stats ${after}`);
  });

  it('drains both workers on SIGTERM and exits 0', async () => {
    const code = await g.stop('SIGTERM');
    assert.equal(code, 0);
    await assert.rejects(get(g.url('/'), { host: 'w.test' }));
  });
});
