import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDynamic } from './validate.js';

const messages = (config: unknown) => validateDynamic(config).errors.map((e) => e.message);

test('servers transports, TLS stores: what is accepted and what is refused, with the path', () => {
  const cases = [
    { desc: 'a full HTTP servers transport', config: { http: { serversTransports: { t: { serverName: 'x', insecureSkipVerify: false, rootCAs: ['ca.pem'], certificates: [{ certFile: 'c.pem', keyFile: 'k.pem' }], cipherSuites: ['TLS_AES_128_GCM_SHA256'], minVersion: 'VersionTLS12', maxVersion: 'VersionTLS13', maxIdleConnsPerHost: -1, forwardingTimeouts: { dialTimeout: '1s', responseHeaderTimeout: 2, idleConnTimeout: '90s', readIdleTimeout: '1s', pingTimeout: '1s' }, disableHTTP2: true, peerCertURI: 'spiffe://x' } } } }, want: [] },
    { desc: 'a full TCP servers transport', config: { tcp: { serversTransports: { t: { dialTimeout: '1s', dialKeepAlive: '-1s', terminationDelay: -1, proxyProtocol: { version: 1 }, tls: { serverName: 'x', rootCAs: ['ca.pem'], insecureSkipVerify: true, peerCertURI: 'u', certificates: [{ certFile: 'c', keyFile: 'k' }] } } } } }, want: [] },
    { desc: 'unknown TLS version', config: { http: { serversTransports: { t: { minVersion: 'TLS1.2' } } } }, want: [/http\.serversTransports\.t\.minVersion: unknown TLS version/] },
    { desc: 'two client certificates', config: { http: { serversTransports: { t: { certificates: [{ certFile: 'a', keyFile: 'b' }, { certFile: 'c', keyFile: 'd' }] } } } }, want: [/http\.serversTransports\.t\.certificates: one client certificate at most/] },
    { desc: 'SPIFFE is refused', config: { http: { serversTransports: { t: { spiffe: { ids: ['x'] } } } } }, want: [/http\.serversTransports\.t\.spiffe: not supported yet \(SPIFFE workload API\)/] },
    { desc: 'TCP SPIFFE is refused', config: { tcp: { serversTransports: { t: { tls: { spiffe: { trustDomain: 'x' } } } } } }, want: [/tcp\.serversTransports\.t\.tls\.spiffe: not supported yet/] },
    { desc: 'the default store', config: { tls: { stores: { default: { defaultCertificate: { certFile: 'c', keyFile: 'k' } } } } }, want: [] },
    { desc: 'another store', config: { tls: { stores: { other: {} } } }, want: [/tls\.stores\.other: only the store named "default" exists/] },
    { desc: 'a certificate for the default store', config: { tls: { certificates: [{ certFile: 'c', keyFile: 'k', stores: ['default'] }] } }, want: [] },
    { desc: 'a certificate for another store', config: { tls: { certificates: [{ certFile: 'c', keyFile: 'k', stores: ['other'] }] } }, want: [/tls\.certificates\[0\]\.stores\[0\]: only the store named "default" exists/] },
  ];
  for (const c of cases) {
    const got = messages(c.config);
    assert.equal(got.length, c.want.length, `${c.desc}: ${got.join('; ')}`);
    c.want.forEach((re, i) => assert.match(got[i]!, re, c.desc));
  }
});
