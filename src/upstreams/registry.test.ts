import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamRegistry } from './registry.js';
import { compileServersTransport, tlsConnectOptions } from './transport.js';

test('registry: pools are keyed by origin and transport; equal transports are shared and refcounted', async () => {
  const reg = new UpstreamRegistry();
  const server = reg.acquire('http://127.0.0.1:9/');
  const a = reg.acquireTransport(compileServersTransport({ forwardingTimeouts: { dialTimeout: '1s' } }, process.cwd(), 'x', 'gantry'));
  const same = reg.acquireTransport(compileServersTransport({ forwardingTimeouts: { dialTimeout: '1s' } }, process.cwd(), 'y', 'gantry'));
  const other = reg.acquireTransport(compileServersTransport({ forwardingTimeouts: { dialTimeout: '2s' } }, process.cwd(), 'z', 'gantry'));
  assert.equal(a, same, 'same options, same transport');
  assert.equal(a.refs, 2);
  assert.notEqual(a, other);
  assert.equal(a.pool(server), a.pool(server), 'one pool per origin on a transport');
  assert.notEqual(a.pool(server), other.pool(server), 'never shared between transports');
  assert.notEqual(a.pool(server), reg.pool(server), 'nor with the default transport');
  reg.releaseTransport(a);
  assert.equal(reg.acquireTransport(a.options), a, 'still alive with one reference');
  reg.releaseTransport(a);
  reg.releaseTransport(a);
  assert.notEqual(reg.acquireTransport(a.options), a, 'the last release dropped it');
  await reg.close();
});

test('servers transport defaults and TLS options', () => {
  const cases = [
    { desc: 'Traefik defaults', cfg: {}, want: { dialTimeoutMs: 30_000, responseHeaderTimeoutMs: 0, idleConnTimeoutMs: 90_000, maxIdleConnsPerHost: 200, tls: null } },
    { desc: 'timeouts', cfg: { maxIdleConnsPerHost: -1, forwardingTimeouts: { dialTimeout: '3s', responseHeaderTimeout: '1s', idleConnTimeout: 5 } }, want: { dialTimeoutMs: 3000, responseHeaderTimeoutMs: 1000, idleConnTimeoutMs: 5000, maxIdleConnsPerHost: -1, tls: null } },
  ];
  for (const c of cases) {
    const t = compileServersTransport(c.cfg, process.cwd(), 'st', 'gantry');
    assert.deepEqual({ dialTimeoutMs: t.dialTimeoutMs, responseHeaderTimeoutMs: t.responseHeaderTimeoutMs, idleConnTimeoutMs: t.idleConnTimeoutMs, maxIdleConnsPerHost: t.maxIdleConnsPerHost, tls: t.tls }, c.want, c.desc);
  }
  const t = compileServersTransport({ serverName: 'api.internal', minVersion: 'VersionTLS12', maxVersion: 'VersionTLS13', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_FALLBACK_SCSV'] }, process.cwd(), 'st', 'gantry');
  const o = tlsConnectOptions(t, '10.0.0.1');
  assert.equal(o.servername, 'api.internal');
  assert.equal(o.minVersion, 'TLSv1.2');
  assert.equal(o.maxVersion, 'TLSv1.3');
  assert.equal(o.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(o.rejectUnauthorized, true);
  assert.equal(tlsConnectOptions({ ...t, tls: null }, '10.0.0.1').servername, undefined, 'no SNI for an IP address');
  assert.throws(() => compileServersTransport({ minVersion: 'VersionTLS13', maxVersion: 'VersionTLS12' }, process.cwd(), 'http.serversTransports.x@file', 'gantry'), /http\.serversTransports\.x@file: minVersion VersionTLS13 is above maxVersion VersionTLS12/);
  assert.throws(() => compileServersTransport({ rootCAs: ['/no/such/ca.pem'] }, process.cwd(), 'st', 'gantry'), /st\.rootCAs\[0\]: cannot read \/no\/such\/ca\.pem: ENOENT/);
});
