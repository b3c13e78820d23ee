import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardAuthSchema } from './index.js';

test('forwardAuth tls.caOptional is refused with the reason (deprecated by Traefik, meaningless for a client)', () => {
  const r = forwardAuthSchema.safeParse({ address: 'http://127.0.0.1:1/auth', tls: { ca: 'ca.pem', caOptional: true } });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /deprecated by Traefik/);
  assert.equal(forwardAuthSchema.safeParse({ address: 'http://127.0.0.1:1/auth', tls: { ca: 'ca.pem' } }).success, true);
});
