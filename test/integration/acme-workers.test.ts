/**
 * ACME with `--workers=2` (the default is one process per core): two processes serve the ports,
 * the primary and one worker. The primary is the only process that talks to the CA, so each name
 * is ordered once; the challenge answers reach the worker before Pebble validates, so validation
 * succeeds whichever process Pebble's connections land on; and the certificate is served by both,
 * including by a worker started after the order.
 * Pebble validates on 127.0.0.1:18880 / :18443: only one ACME test process may run at a time.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startBackend, startGantry, tempDir, waitFor, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { loadTestbed, requireComponent } from '../helpers/testbed.js';
import { httpsGet } from '../fixtures/tls/https-get.js';

const skip = requireComponent('pebble');
const tb = loadTestbed();
const tmp = tempDir('gantry-acme-workers-');
let g: GantryProcess | undefined;
let backend: Backend;
let trust: string[] = [];

before(async () => {
  backend = await startBackend('acme-workers-app');
  if (skip !== undefined) return;
  const listenerCa = fs.readFileSync(tb.pebble!.listenerCa, 'utf8');
  const get = (p: string) =>
    new Promise<string>((resolve, reject) => {
      https.get(`${tb.pebble!.mgmtUrl}${p}`, { ca: listenerCa }, (res) => {
        let b = '';
        res.setEncoding('utf8').on('data', (d: string) => (b += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`${p}: ${res.statusCode}`))));
      }).on('error', reject);
    });
  trust = [await get('/roots/0'), await get('/intermediates/0')];
});

after(async () => {
  await g?.stop();
  await backend?.close();
  tmp.cleanup();
});

/** accessPids are the pids that wrote access log lines (JSON on stdout) since line `from`. */
function accessPids(p: GantryProcess, from = 0): Set<number> {
  const out = new Set<number>();
  for (const l of p.stdout.slice(from)) {
    try {
      const pid = (JSON.parse(l) as { pid?: number }).pid;
      if (typeof pid === 'number') out.add(pid);
    } catch {
      // not an access log line
    }
  }
  return out;
}

/** freshGets makes `n` HTTPS requests, each on a new TLS connection, verified against Pebble's root. */
async function freshGets(p: GantryProcess, host: string, n: number): Promise<string[]> {
  const prints: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await httpsGet(p.port('websecure'), host, `/n${i}`, trust);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).backend, 'acme-workers-app');
    prints.push(r.cert.fingerprint256);
  }
  return prints;
}

test('--workers=2: one order per name, challenges answered by any worker, the certificate served by all', { skip }, async () => {
  const p = tb.pebble!;
  const suffix = randomBytes(3).toString('hex');
  const httpHosts = [0, 1, 2].map((i) => `w${i}-${suffix}.test`);
  const alpnHost = `wa-${suffix}.test`;
  const file = path.join(tmp.dir, 'dyn.yaml');
  const routers = [...httpHosts.map((h, i) => ({ name: `h${i}`, host: h, resolver: 'le' })), { name: 'alpn', host: alpnHost, resolver: 'alpn' }];
  fs.writeFileSync(
    file,
    `http:\n  routers:\n${routers.map((r) => `    ${r.name}:\n      rule: Host(\`${r.host}\`)\n      service: app\n      tls: { certResolver: ${r.resolver} }\n`).join('')}  services:\n    app:\n      loadBalancer:\n        servers: [{ url: "${backend.url}" }]\n`,
  );
  const storage = path.join(tmp.dir, 'acme.json');
  g = await startGantry(
    [
      '--workers=2',
      '--log.level=DEBUG',
      '--accessLog',
      '--accessLog.format=json',
      `--entrypoints.web.address=127.0.0.1:${p.httpPort}`,
      `--entrypoints.websecure.address=127.0.0.1:${p.tlsPort}`,
      '--api.address=127.0.0.1:0',
      `--providers.file.filename=${file}`,
      `--certificatesResolvers.le.acme.caServer=${p.url}`,
      `--certificatesResolvers.le.acme.storage=${storage}`,
      '--certificatesResolvers.le.acme.httpChallenge.entryPoint=web',
      `--certificatesResolvers.alpn.acme.caServer=${p.url}`,
      `--certificatesResolvers.alpn.acme.storage=${storage}`,
      '--certificatesResolvers.alpn.acme.tlsChallenge=true',
    ],
    { entrypoints: ['web', 'websecure'], env: { NODE_EXTRA_CA_CERTS: p.listenerCa } },
  );
  const gp = g;
  for (const h of [...httpHosts, alpnHost]) {
    await gp.waitForLog((l) => l.msg === 'acme: certificate obtained' && String(l['domains']) === h, 30_000);
  }
  // A failed order is retried and logged as a second order: check failures first, so that such a
  // run shows its cause (the log) rather than only a name ordered twice.
  assert.equal(gp.logs.filter((l) => l.msg === 'acme: certificate order failed').length, 0, gp.logText());
  // One order per name: only the primary talks to the CA (before, each worker ordered its own).
  const orders = gp.logs.filter((l) => l.msg === 'acme: ordering certificate').map((l) => String(l['domains'])).sort();
  assert.deepEqual(orders, [...httpHosts, alpnHost].sort(), gp.logText());
  // Every validation request Pebble made found its answer, in whichever process it landed.
  const answered = gp.logs.filter((l) => l.msg === 'acme: answered an HTTP-01 challenge');
  assert.ok(answered.length >= httpHosts.length, `HTTP-01 answers: ${answered.length}`);
  assert.deepEqual(gp.logs.filter((l) => l.msg === 'acme: no answer for an HTTP-01 challenge'), []);
  const answering = new Set(answered.map((l) => Number(l['pid'])));

  // Many fresh TLS connections: the kernel spreads them over both processes, and all get Pebble's certificate.
  const from = gp.stdout.length;
  const prints = await freshGets(gp, httpHosts[0]!, 40);
  assert.equal(new Set(prints).size, 1, 'one certificate, the same in every worker');
  await waitFor(() => gp.stdout.length - from >= 40, 3000);
  const serving = accessPids(gp, from);
  assert.equal(serving.size, 2, `served by ${[...serving].join(', ')}`);
  assert.ok(serving.has(gp.proc.pid!), `the primary (${gp.proc.pid}) served none of ${[...serving].join(', ')}`);
  const alpn = await httpsGet(gp.port('websecure'), alpnHost, '/', trust);
  assert.equal(alpn.cert.subjectaltname, `DNS:${alpnHost}`);
  process.stderr.write(`# HTTP-01 validations answered by pids ${[...answering].join(', ')} (of ${[...serving].join(', ')}; primary ${gp.proc.pid})\n`);

  // A worker started after the order (a replacement) gets the current certificates from the primary.
  const victim = [...serving].find((pid) => pid !== gp.proc.pid)!;
  const exitedAt = gp.logs.length;
  process.kill(victim, 'SIGKILL');
  await gp.waitForLog((l) => l.msg === 'entrypoint listening' && l['entryPoint'] === 'websecure', 10_000, exitedAt);
  const from2 = gp.stdout.length;
  const prints2 = await freshGets(gp, httpHosts[0]!, 40);
  assert.deepEqual(new Set(prints2), new Set(prints));
  await waitFor(() => gp.stdout.length - from2 >= 40, 3000);
  const after2 = accessPids(gp, from2);
  assert.equal(after2.size, 2, `served by ${[...after2].join(', ')}`);
  assert.ok(!after2.has(victim));
  assert.equal(gp.logs.filter((l) => l.msg === 'acme: ordering certificate').length, orders.length, 'no new order for the new worker');
});
