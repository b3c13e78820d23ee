import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientTlsOptions } from './client-options.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('client TLS (forwardAuth.tls, rateLimit.redis.tls): ca, cert and key from files or inline, insecureSkipVerify', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-client-tls-'));
  try {
    fs.writeFileSync(path.join(dir, 'ca.pem'), PEM);
    fs.writeFileSync(path.join(dir, 'key.pem'), 'KEY');
    const cases = [
      { desc: 'nothing: the server is verified', c: {}, want: { rejectUnauthorized: true } },
      { desc: 'insecureSkipVerify', c: { insecureSkipVerify: true }, want: { rejectUnauthorized: false } },
      { desc: 'ca from a file, relative to the working directory', c: { ca: 'ca.pem' }, want: { rejectUnauthorized: true, ca: PEM } },
      { desc: 'cert inline and key from a file', c: { cert: PEM, key: 'key.pem' }, want: { rejectUnauthorized: true, cert: PEM, key: 'KEY' } },
    ];
    for (const c of cases) assert.deepEqual(clientTlsOptions(c.c, dir, 'x.tls'), c.want, c.desc);
    assert.throws(() => clientTlsOptions({ cert: PEM }, dir, 'rateLimit.redis.tls'), /rateLimit\.redis\.tls\.key: cert and key go together/);
    assert.throws(() => clientTlsOptions({ ca: 'missing.pem' }, dir, 'forwardAuth.tls'), /forwardAuth\.tls\.ca: cannot read .*missing\.pem/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
