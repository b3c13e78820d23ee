import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { compileTlsOptions } from './options.js';

test('tls options: curvePreferences, preferServerCipherSuites, alpnProtocols and disableSessionTickets', () => {
  const cases = [
    { desc: 'curves by Go names', o: { curvePreferences: ['CurveP384', 'X25519'] }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.equal(c.context.ecdhCurve, 'P-384:X25519') },
    { desc: 'server cipher order by default with suites', o: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.equal(c.context.honorCipherOrder, true) },
    { desc: 'preferServerCipherSuites false', o: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], preferServerCipherSuites: false }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.equal(c.context.honorCipherOrder, false) },
    { desc: 'alpnProtocols: acme-tls/1 is never offered for HTTP (it is answered before)', o: { alpnProtocols: ['h2', 'http/1.1', 'acme-tls/1'] }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.deepEqual(c.alpn, ['h2', 'http/1.1']) },
    { desc: 'alpnProtocols: http/1.1 only turns HTTP/2 off', o: { alpnProtocols: ['http/1.1'] }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.deepEqual(c.alpn, ['http/1.1']) },
    { desc: 'alpnProtocols with nothing Gantry serves: the default, h2 and http/1.1', o: { alpnProtocols: ['spdy/3'] }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.deepEqual(c.alpn, ['h2', 'http/1.1']) },
    { desc: 'disableSessionTickets', o: { disableSessionTickets: true }, check: (c: ReturnType<typeof compileTlsOptions>) => assert.equal(c.context.secureOptions, constants.SSL_OP_NO_TICKET) },
  ];
  for (const c of cases) c.check(compileTlsOptions('t@file', c.o, process.cwd()));
  assert.throws(() => compileTlsOptions('t@file', { curvePreferences: ['CurveP999'] }, process.cwd()), /tls\.options\.t@file\.curvePreferences\[0\]: unknown curve/);
});
