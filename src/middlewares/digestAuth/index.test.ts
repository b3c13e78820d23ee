import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { digestAuth } from './index.js';
import { md5, Nonces, NONCE_LIFETIME_MS, parseDigestParams } from './digest.js';

// The user of Traefik's documentation: test / test in realm "traefik" (htdigest's HA1).
const USER = 'test:traefik:a2688e031edb4be6a3797f3882655c05';

/** answer builds the Authorization header a browser sends for a challenge. */
function answer(challenge: string, o: { user?: string; password?: string; realm?: string; method?: string; uri?: string; nc?: number; opaque?: string }): string {
  const p = parseDigestParams(challenge)!;
  const user = o.user ?? 'test';
  const realm = o.realm ?? p.get('realm')!;
  const uri = o.uri ?? '/x';
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = 'abc123';
  const ha1 = md5(`${user}:${realm}:${o.password ?? 'test'}`);
  const ha2 = md5(`${o.method ?? 'GET'}:${uri}`);
  const response = md5([ha1, p.get('nonce'), nc, cnonce, 'auth', ha2].join(':'));
  return `Digest username="${user}", realm="${realm}", nonce="${p.get('nonce')}", uri="${uri}", algorithm=MD5, response="${response}", opaque="${o.opaque ?? p.get('opaque')}", qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

describe('digestAuth', () => {
  it('challenges, lets the right answer through once per nonce count, and passes the user on', async () => {
    const srv = await startMiddlewareServer(build(digestAuth, { users: [USER], headerField: 'X-WebAuth-User', removeHeader: true }));
    try {
      const first = await request(srv.url, '/x');
      assert.equal(first.status, 401);
      const challenge = String(first.headers['www-authenticate']);
      assert.match(challenge, /^Digest realm="traefik", nonce="[^"]+", opaque="[^"]+", algorithm=MD5, qop="auth"$/);

      const ok = await request(srv.url, '/x', { headers: { authorization: answer(challenge, {}) } });
      assert.equal(ok.status, 200);
      const seen = srv.lastSeen()!;
      assert.equal(seen.headers['x-webauth-user'], 'test');
      assert.equal(seen.headers.authorization, undefined, 'removeHeader');
      assert.equal(seen.ctx.user, 'test');

      const replay = await request(srv.url, '/x', { headers: { authorization: answer(challenge, {}) } });
      assert.equal(replay.status, 401, 'the same nonce count again is a replay');
      assert.match(String(replay.headers['www-authenticate']), /stale=true/);
      assert.equal((await request(srv.url, '/x', { headers: { authorization: answer(challenge, { nc: 2 }) } })).status, 200);

      const cases: Array<{ desc: string; auth: string }> = [
        { desc: 'wrong password', auth: answer(challenge, { password: 'nope', nc: 3 }) },
        { desc: 'unknown user', auth: answer(challenge, { user: 'eve', nc: 4 }) },
        { desc: 'other realm', auth: answer(challenge, { realm: 'other', nc: 5 }) },
        { desc: 'other uri', auth: answer(challenge, { uri: '/elsewhere', nc: 6 }) },
        { desc: 'other method', auth: answer(challenge, { method: 'POST', nc: 7 }) },
        { desc: 'foreign opaque', auth: answer(challenge, { opaque: 'x', nc: 8 }) },
        { desc: 'basic credentials', auth: 'Basic dGVzdDp0ZXN0' },
      ];
      for (const c of cases) {
        const r = await request(srv.url, '/x', { headers: { authorization: c.auth } });
        assert.equal(r.status, 401, c.desc);
        assert.doesNotMatch(String(r.headers['www-authenticate']), /stale/, c.desc);
      }
    } finally {
      await srv.close();
    }
  });

  it('reads an htdigest usersFile and a custom realm', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-digest-'));
    try {
      const file = path.join(dir, 'users');
      fs.writeFileSync(file, `# comment\n\nbob:private:${md5('bob:private:secret')}\n`);
      const srv = await startMiddlewareServer(build(digestAuth, { usersFile: file, realm: 'private' }));
      try {
        const ch = String((await request(srv.url, '/x')).headers['www-authenticate']);
        assert.match(ch, /realm="private"/);
        assert.equal((await request(srv.url, '/x', { headers: { authorization: answer(ch, { user: 'bob', password: 'secret' }) } })).status, 200);
      } finally {
        await srv.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const invalid = [
    { desc: 'no users', options: {}, re: /no user configured/ },
    { desc: 'two fields', options: { users: ['test:abc'] }, re: /user:realm:hash/ },
    { desc: 'not an MD5 hash', options: { users: ['test:traefik:$apr1$x'] }, re: /not an MD5 digest/ },
    { desc: 'missing file', options: { usersFile: '/nonexistent/users' }, re: /cannot read/ },
    { desc: 'bad header name', options: { users: [USER], headerField: 'X Bad' }, re: /invalid header name/ },
    { desc: 'unknown option', options: { users: [USER], realms: 'x' }, re: /realms/ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(digestAuth, c.options) ?? '', c.re));
});

describe('digest nonces', () => {
  it('expire, and only this process signs them', () => {
    let now = 1_000_000;
    const n = new Nonces(() => now);
    const nonce = n.issue();
    assert.equal(n.valid(nonce), true);
    assert.equal(new Nonces(() => now).valid(nonce), false, 'another key');
    assert.equal(n.valid(nonce.slice(0, -2) + 'AA'), false, 'tampered');
    now += NONCE_LIFETIME_MS + 1;
    assert.equal(n.valid(nonce), false, 'expired');
  });

  it('parses Digest parameters, quoted and not', () => {
    const p = parseDigestParams('Digest username="a \\"b\\"", nc=00000001, qop=auth, uri="/x?a=1,2"')!;
    assert.equal(p.get('username'), 'a "b"');
    assert.equal(p.get('nc'), '00000001');
    assert.equal(p.get('uri'), '/x?a=1,2');
    assert.equal(parseDigestParams('Basic abc'), null);
    assert.equal(parseDigestParams('Digest username="unterminated'), null);
  });
});
