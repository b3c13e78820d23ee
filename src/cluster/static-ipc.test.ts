/**
 * The primary sends its resolved static configuration to every worker over the cluster channel,
 * which carries JSON. This walks a configuration that sets every section and checks that each
 * value survives JSON as it is: no function, class instance or non-finite number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStaticConfig } from '../config/static/index.js';

/** jsonUnsafe lists the paths whose value JSON would lose or change (functions, class instances, non-finite numbers). */
function jsonUnsafe(v: unknown, at: string, out: string[]): string[] {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return out;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) out.push(at);
    return out;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => jsonUnsafe(x, `${at}[${i}]`, out));
    return out;
  }
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const [k, x] of Object.entries(v)) jsonUnsafe(x, at === '' ? k : `${at}.${k}`, out);
    return out;
  }
  out.push(at);
  return out;
}

test('a static configuration with every section is JSON-safe', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'gantry-static-ipc-'));
  try {
    writeFileSync(
      join(cwd, 'gantry.yaml'),
      `workers: 2
entryPoints:
  web:
    address: 127.0.0.1:8080
    forwardedHeaders: { trustedIPs: [10.0.0.0/8] }
    proxyProtocol: { trustedIPs: [127.0.0.1] }
    http: { redirections: { entryPoint: { to: websecure, scheme: https } } }
    transport: { respondingTimeouts: { readTimeout: 5s }, lifeCycle: { graceTimeOut: 3s } }
  websecure:
    address: 127.0.0.1:8443
    http: { tls: { certResolver: le } }
api: { address: 127.0.0.1:8081, dashboard: true }
providers:
  file: { filename: dynamic.yaml }
  docker: { constraints: "Label(\`a\`, \`b\`)" }
  etcd: { endpoints: [127.0.0.1:2379] }
certificatesResolvers:
  le: { acme: { email: a@b.c, storage: acme.json, httpChallenge: { entryPoint: web }, renewBefore: 720h } }
serversTransport: { maxIdleConnsPerHost: 64, forwardingTimeouts: { dialTimeout: 2s } }
lifecycle: { graceTimeout: 4s }
log: { level: DEBUG, format: json }
accessLog: { format: json, filters: { statusCodes: ["500-599"], minDuration: 10ms }, fields: { headers: { names: { User-Agent: keep } } } }
metrics: { prometheus: { buckets: [0.1, 1], addRoutersLabels: true } }
`,
    );
    const config = await loadStaticConfig({ argv: [], env: {}, cwd, isRoot: false, dockerAvailable: () => false, cpus: 2 });
    assert.equal(config.certificatesResolvers.le?.acme.httpChallenge?.entryPoint, 'web');
    assert.equal(config.providers.docker?.constraints, 'Label(`a`, `b`)');
    assert.deepEqual(jsonUnsafe(config, '', []), []);
    // The walk itself sees what JSON would lose.
    assert.deepEqual(jsonUnsafe({ a: { f: () => 1, n: Infinity, r: /x/, ok: [1, 'x', null] } }, '', []), ['a.f', 'a.n', 'a.r']);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
