import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from './index.js';
import { StickyBalancer } from './sticky.js';
import { WrrBalancer } from './wrr.js';
import { P2cBalancer } from './p2c.js';
import { defaultCookieName, readCookie, stickyValue } from './cookie.js';
import { ctx, fakeReq, fakeRes, runBalancerSuite, servers } from './common.case.js';
import type { Balancer } from './types.js';
import type { UpstreamServer } from '../upstreams/server.js';

runBalancerSuite('sticky(wrr)', (s) => new StickyBalancer(new WrrBalancer(s), {}, 'svc@file'));
runBalancerSuite('sticky(p2c)', (s) => new StickyBalancer(new P2cBalancer(s), {}, 'svc@file'));

/** Client is a cookie jar of one cookie, as a browser would keep it. */
class Client {
  cookie: string | undefined;
  setCookies: string[] = [];
  send(b: Balancer): UpstreamServer | null {
    const req = fakeReq(this.cookie);
    const res = fakeRes(req);
    const s = b.pick(req, res, ctx(), null);
    const h = res.getHeader('set-cookie');
    const lines = h === undefined ? [] : Array.isArray(h) ? h : [String(h)];
    this.setCookies.push(...lines);
    if (lines.length > 0) this.cookie = lines[lines.length - 1]!.split(';')[0];
    return s;
  }
}

const CONFIG = { loadBalancer: { strategy: 'wrr' as const, sticky: { cookie: { name: 'sid', httpOnly: true, secure: true, sameSite: 'lax' as const, maxAge: 3600 } } } };

test('sticky keeps one server for 100 requests and sets the cookie once', () => {
  const s = servers(1, 1, 1);
  const b = createBalancer(CONFIG.loadBalancer, s, 'web@file');
  const client = new Client();
  const first = client.send(b);
  for (let i = 0; i < 99; i++) assert.equal(client.send(b), first);
  assert.equal(client.setCookies.length, 1);
  assert.match(client.setCookies[0]!, /^sid=[0-9a-f]{16}; Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax$/);
});

test('sticky client moves and gets a new cookie when its server goes', () => {
  const cases = [
    { desc: 'server unhealthy', remove: false, hurt: (x: UpstreamServer) => (x.activeHealthy = false) },
    { desc: 'server ejected', remove: false, hurt: (x: UpstreamServer) => (x.ejectedUntil = Date.now() + 60_000) },
    { desc: 'server draining', remove: false, hurt: (x: UpstreamServer) => (x.draining = true) },
    { desc: 'server removed by a reload', remove: true, hurt: () => {} },
  ];
  for (const c of cases) {
    const s = servers(1, 1, 1);
    let b = createBalancer(CONFIG.loadBalancer, s, 'web@file');
    const client = new Client();
    const first = client.send(b)!;
    c.hurt(first);
    // A reload builds a new balancer over the same shared servers, minus the removed one.
    if (c.remove) b = createBalancer(CONFIG.loadBalancer, s.filter((x) => x.server !== first), 'web@file');
    const second = client.send(b)!;
    assert.notEqual(second, first, c.desc);
    assert.equal(client.setCookies.length, 2, c.desc);
    for (let i = 0; i < 20; i++) assert.equal(client.send(b), second, c.desc);
    assert.equal(client.setCookies.length, 2, c.desc);
  }
});

test('sticky cookie survives a reload that keeps the server', () => {
  const s = servers(1, 1, 1);
  const client = new Client();
  const first = client.send(createBalancer(CONFIG.loadBalancer, s, 'web@file'));
  const reloaded = createBalancer(CONFIG.loadBalancer, [...s].reverse(), 'web@file');
  for (let i = 0; i < 10; i++) assert.equal(client.send(reloaded), first);
});

test('sticky cookie value reveals no address and is stable across processes', () => {
  const s = servers(1, 1);
  const b = createBalancer({ sticky: { cookie: {} } }, s, 'web@docker');
  const client = new Client();
  const chosen = client.send(b)!;
  const line = client.setCookies[0]!;
  assert.ok(!line.includes('10.0.0'), line);
  assert.ok(!line.includes('8080'), line);
  assert.ok(line.startsWith(`${defaultCookieName('web@docker')}=${stickyValue('web@docker', chosen.url)};`), line);
  assert.match(defaultCookieName('web@docker'), /^_gantry_[0-9a-f]{12}$/);
});

test('sticky retry replaces the cookie set by the first pick', () => {
  const s = servers(1, 1);
  const b = createBalancer(CONFIG.loadBalancer, s, 'web@file');
  const req = fakeReq();
  const res = fakeRes(req);
  res.appendHeader('set-cookie', 'other=1');
  const first = b.pick(req, res, ctx(), null)!;
  const second = b.pick(req, res, ctx(), new Set([first]))!;
  assert.notEqual(second, first);
  const lines = res.getHeader('set-cookie') as string[];
  assert.equal(lines.length, 2);
  assert.equal(lines[0], 'other=1');
  assert.ok(lines[1]!.startsWith(`sid=${stickyValue('web@file', second.url)};`));
});

test('readCookie', () => {
  const cases = [
    { desc: 'absent header', header: undefined, want: null },
    { desc: 'only cookie', header: 'sid=abc', want: 'abc' },
    { desc: 'among others', header: 'a=1; sid=abc; b=2', want: 'abc' },
    { desc: 'prefix of another name', header: 'xsid=1; sid=2', want: '2' },
    { desc: 'quoted', header: 'sid="abc"', want: 'abc' },
    { desc: 'missing', header: 'a=1; b=2', want: null },
  ];
  for (const c of cases) assert.equal(readCookie(c.header, 'sid='), c.want, c.desc);
});

test('sticky cookie domain: written after Path without a leading dot; a bad domain is refused by the schema', async () => {
  const { stickyCookieSchema } = await import('../config/dynamic/schema.js');
  const cases = [
    { desc: 'host name', domain: 'example.com', want: /^sid=[0-9a-f]{16}; Path=\/; Domain=example\.com$/ },
    { desc: 'leading dot', domain: '.example.com', want: /^sid=[0-9a-f]{16}; Path=\/; Domain=example\.com$/ },
    { desc: 'empty: no attribute', domain: '', want: /^sid=[0-9a-f]{16}; Path=\/$/ },
  ];
  for (const c of cases) {
    const b = createBalancer({ sticky: { cookie: { name: 'sid', domain: c.domain } } }, servers(1, 1), 'web@file');
    const client = new Client();
    client.send(b);
    assert.match(client.setCookies[0]!, c.want, c.desc);
  }
  for (const bad of ['exa mple.com', '10.0.0.1', 'a..b', 'x;Secure']) assert.equal(stickyCookieSchema.safeParse({ domain: bad }).success, false, bad);
});
