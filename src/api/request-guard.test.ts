import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestGuard } from './request-guard.js';

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

describe('RequestGuard', () => {
  const guard = new RequestGuard(['gantry.example', '*.ops.example'], 'node-1');
  const hosts = [
    { desc: 'IPv4 with port', host: '127.0.0.1:8080', ok: true },
    { desc: 'IPv6 literal', host: '[::1]:8080', ok: true },
    { desc: 'localhost', host: 'localhost:8080', ok: true },
    { desc: 'a .localhost name', host: 'api.localhost', ok: true },
    { desc: 'a single-label (service) name', host: 'proxy:8080', ok: true },
    { desc: "the machine's hostname", host: 'NODE-1:8080', ok: true },
    { desc: 'an allowed name', host: 'gantry.example', ok: true },
    { desc: 'an allowed name with a trailing dot', host: 'gantry.example.:8080', ok: true },
    { desc: 'a subdomain of a wildcard', host: 'a.b.ops.example', ok: true },
    { desc: 'the wildcard domain itself', host: 'ops.example', ok: false },
    { desc: 'a look-alike suffix', host: 'evilops.example', ok: false },
    { desc: 'any other name', host: 'attacker.example:8080', ok: false },
    { desc: 'an empty Host', host: '', ok: false },
    { desc: 'a broken IPv6 literal', host: '[::1', ok: false },
  ];
  for (const c of hosts) {
    it(`Host ${c.desc}: ${c.ok ? 'known' : 'refused'}`, () => assert.equal(guard.knownHost(c.host), c.ok));
  }
  const writes: Array<{ desc: string; method: string; path: string; headers: Record<string, string>; refused: boolean }> = [
    { desc: 'a program (no Origin, no Sec-Fetch-Site)', method: 'PUT', path: '/api/providers/rest', headers: {}, refused: false },
    { desc: 'a same-origin page', method: 'DELETE', path: '/api/providers/rest/x', headers: { origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }, refused: false },
    { desc: 'a cross-site page', method: 'POST', path: '/api/providers/rest', headers: { 'sec-fetch-site': 'cross-site' }, refused: true },
    { desc: 'another origin', method: 'PATCH', path: '/api/providers/rest', headers: { origin: 'http://127.0.0.1:9999' }, refused: true },
    { desc: 'a cross-site GET reconfigure', method: 'GET', path: '/v1/docker-flow-proxy/reconfigure', headers: { 'sec-fetch-site': 'cross-site' }, refused: true },
    { desc: 'a cross-site GET remove', method: 'GET', path: '/v1/docker-flow-proxy/remove/', headers: { origin: 'https://a.example' }, refused: true },
    { desc: 'a cross-site read', method: 'GET', path: '/api/rawdata', headers: { 'sec-fetch-site': 'cross-site' }, refused: false },
    { desc: 'a user typing the URL (Sec-Fetch-Site: none)', method: 'GET', path: '/v1/docker-flow-proxy/reconfigure', headers: { 'sec-fetch-site': 'none' }, refused: false },
  ];
  for (const c of writes) {
    it(`${c.method} ${c.path} from ${c.desc}: ${c.refused ? 'refused' : 'allowed'}`, () => {
      const r = guard.refusal(req(c.method, { host: '127.0.0.1:8080', ...c.headers }), c.path);
      assert.equal(r !== null, c.refused, r ?? '');
    });
  }
});
