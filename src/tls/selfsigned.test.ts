import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { generateSelfSigned } from './selfsigned.js';
import { oid, time, integer } from './der.js';

test('the default certificate parses, is self-signed by its key, and says what Traefik\'s says', async () => {
  const { certPem, keyPem } = await generateSelfSigned('GANTRY DEFAULT CERT', 365);
  const c = new X509Certificate(certPem);
  assert.equal(c.subject, 'CN=GANTRY DEFAULT CERT');
  assert.equal(c.issuer, 'CN=GANTRY DEFAULT CERT');
  assert.equal(c.ca, false);
  assert.ok(c.verify(c.publicKey), 'the signature verifies with the certificate\'s own key');
  assert.ok(c.checkPrivateKey(createPrivateKey(keyPem)));
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const days = (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000;
  assert.ok(days > 364.9 && days < 365.1, `validity ${days} days`);
  assert.ok(Date.parse(c.validFrom) <= Date.now());
  assert.doesNotThrow(() => createSecureContext({ cert: certPem, key: keyPem }));
  // Two certificates get different serials.
  assert.notEqual(new X509Certificate((await generateSelfSigned()).certPem).serialNumber, c.serialNumber);
});

test('DER pieces encode as X.690 says', () => {
  assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  assert.equal(integer(Buffer.from([0x80])).toString('hex'), '02020080');
  assert.equal(integer(Buffer.from([0, 0, 5])).toString('hex'), '020105');
  assert.equal(time(new Date('2026-12-03T10:20:30Z')).toString('ascii').slice(2), '261203102030Z');
  assert.equal(time(new Date('2051-01-02T03:04:05Z'))[0], 0x18);
});
