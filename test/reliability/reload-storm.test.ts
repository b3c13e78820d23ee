/**
 * Reload storm: 100 configuration changes per second for 30 s through the REST API, each one
 * changing the very route a steady load (wrk, 10 connections) is using — its servers, their
 * weights, a middleware — with 0 failed requests and resident memory that stays flat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { startBackend, startGantry, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

const SECONDS = 30;
const PER_SECOND = 100;

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** wrk runs the load and returns its summary counts. */
function wrk(url: string, host: string, seconds: number): Promise<{ requests: number; non2xx: number; socketErrors: number; text: string }> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c10', `-d${seconds}s`, '--timeout', '5s', '-H', `Host: ${host}`, url], { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err !== null) return reject(err);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
      const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      const socketErrors = se === null ? 0 : se.slice(1).reduce((a, b) => a + Number(b), 0);
      resolve({ requests, non2xx, socketErrors, text: stdout });
    });
  });
}

/** config n: the route `storm` over a and b with weights, servers order and a header that change every time. */
function config(n: number, a: Backend, b: Backend): string {
  const servers = n % 2 === 0 ? [a, b] : [b, a];
  return JSON.stringify({
    http: {
      routers: {
        storm: { rule: 'Host(`storm.test`)', service: 'storm', middlewares: n % 3 === 0 ? ['tag'] : [] },
        [`extra${n % 10}`]: { rule: `Host(\`extra${n % 10}.test\`)`, service: 'storm' },
      },
      middlewares: { tag: { headers: { customResponseHeaders: { 'x-reload': String(n) } } } },
      services: { storm: { loadBalancer: { servers: servers.map((s, i) => ({ url: s.url, weight: 1 + ((n + i) % 3) })) } } },
    },
  });
}

describe('reload storm', { timeout: 120_000 }, () => {
  let g: GantryProcess;
  let a: Backend;
  let b: Backend;

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', '--providers.providersThrottleDuration=1ms', '--metrics.prometheus=true']);
    const r = await get(g.api('/api/providers/rest'), { 'content-type': 'application/json' }, 'PUT', config(0, a, b));
    assert.equal(r.status, 200, r.body);
  });
  after(async () => {
    await g?.stop();
    await a?.close();
    await b?.close();
  });

  it(`applies ${PER_SECOND} reloads/s for ${SECONDS} s under load with no failed request and flat memory`, async () => {
    const reloads = async () => (await get(g.api('/metrics'))).body.match(/^gantry_config_reloads_total (\d+)/m)?.[1];
    const before = Number(await reloads());
    const load = wrk(g.url('/'), 'storm.test', SECONDS);
    const samples: number[] = [];
    let sent = 0;
    let refused = 0;
    const start = Date.now();
    // Up to four PUTs in flight keep the pace when the load slows each one down.
    const putter = async () => {
      while (Date.now() - start < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - start) / 1000) * PER_SECOND);
        if (sent >= due) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        const n = ++sent;
        const r = await get(g.api('/api/providers/rest'), { 'content-type': 'application/json' }, 'PUT', config(n, a, b));
        if (r.status !== 200) refused++;
      }
    };
    const sampler = setInterval(() => samples.push(rssMiB(g.proc.pid!)), 1000);
    await Promise.all([putter(), putter(), putter(), putter()]);
    clearInterval(sampler);
    const result = await load;
    const applied = Number(await reloads()) - before;
    // Memory: it rises while the heap and pools grow to their working size, then stays there (the
    // old snapshots are garbage at once). Before that was so, it climbed by ~3 MiB a second. The
    // heap grows in steps (one jump of 15–25 MiB, at 5 s in one run and 21 s in another), so the
    // trend is the median of the per-second increments after the first 5 s, which a step does not
    // move: 0.2–0.5 MiB/s measured, ~3 MiB/s with the leak.
    process.stderr.write(`RSS samples (MiB, 1 s apart): ${samples.map((x) => x.toFixed(0)).join(' ')}\n`);
    const steps = samples.slice(5).map((x, i, xs) => (i === 0 ? null : x - xs[i - 1]!)).filter((d): d is number => d !== null).sort((p, q) => p - q);
    const trend = steps[Math.floor(steps.length / 2)]!;
    process.stderr.write(
      `reload storm: ${sent} PUTs (${refused} refused), ${applied} reloads applied in ${SECONDS} s; wrk ${result.requests} requests, ${result.non2xx} non-2xx, ${result.socketErrors} socket errors; RSS ${samples[0]!.toFixed(0)} → ${samples.at(-1)!.toFixed(0)} MiB (median increment ${trend.toFixed(2)} MiB/s)\n`,
    );
    assert.equal(refused, 0);
    // The pace reached depends on the CPU the load leaves (2,997–2,999 of 3,000 on an idle 2-core
    // machine); two thirds of it still means a reload every 15 ms under load.
    assert.ok(applied >= (SECONDS * PER_SECOND * 2) / 3, `only ${applied} reloads applied`);
    assert.ok(result.requests > 1000, result.text);
    assert.equal(result.non2xx, 0, result.text);
    assert.equal(result.socketErrors, 0, result.text);
    assert.ok(trend < 1.5, `RSS kept growing: ${trend.toFixed(2)} MiB a second (median)`);
  });
});
