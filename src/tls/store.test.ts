import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import type { LoadedCertificate } from './certificate.js';
import { CertificateStore, type StoreEntry } from './store.js';

function entry(names: string[], notAfter = 1000): StoreEntry {
  const cert = { source: names.join(','), names, notAfter: new Date(notAfter) } as LoadedCertificate;
  return { cert, context: {} as tls.SecureContext };
}

test('CertificateStore: exact, then one-level wildcard, then default; the later expiry wins', () => {
  const exact = entry(['a.example.com']);
  const wild = entry(['*.example.com']);
  const old = entry(['b.test'], 1000);
  const renewed = entry(['b.test'], 2000);
  const dflt = entry(['default']);
  const s = new CertificateStore([wild, exact, renewed, old], dflt);
  const cases = [
    { desc: 'exact', name: 'a.example.com', want: exact },
    { desc: 'exact, case and trailing dot', name: 'A.Example.COM.', want: exact },
    { desc: 'wildcard', name: 'z.example.com', want: wild },
    { desc: 'wildcard covers one label only', name: 'x.y.example.com', want: dflt },
    { desc: 'wildcard does not cover the apex', name: 'example.com', want: dflt },
    { desc: 'renewal wins', name: 'b.test', want: renewed },
    { desc: 'no SNI', name: '', want: dflt },
  ];
  for (const c of cases) assert.equal(s.select(c.name), c.want.context, c.desc);
  for (const c of cases) assert.equal(s.find(c.name) ?? dflt, c.name === '' ? dflt : c.want, c.desc);
});
