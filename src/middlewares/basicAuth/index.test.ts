import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { build, createError, request, startMiddlewareServer, testEnv, type MiddlewareServer } from '../testutil.js';
import { basicAuth, parseBasicAuthorization } from './index.js';
import { md5Crypt, parseSecret, verifySync } from './htpasswd.js';

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

describe('htpasswd hashes', () => {
  // Vectors made with `openssl passwd -apr1 -salt S PW` and `openssl passwd -1 -salt S PW`.
  const md5 = [
    { desc: 'apr1', salt: 'abcdefgh', magic: '$apr1$' as const, password: 'secret', want: '$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/' },
    { desc: 'apr1, Traefik docs user', salt: 'H6uskkkW', magic: '$apr1$' as const, password: 'test', want: '$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/' },
    { desc: 'apr1, password longer than 16 bytes, short salt', salt: 'xy', magic: '$apr1$' as const, password: 'password-longer-than-sixteen-bytes-for-sure', want: '$apr1$xy$Ywa0OCF0Q/.X2zAn0n5QZ1' },
    { desc: 'apr1, empty password', salt: 's1', magic: '$apr1$' as const, password: '', want: '$apr1$s1$P2VvKuK/n4l5d6mv76XLB1' },
    { desc: 'apr1, UTF-8 password', salt: '12345678', magic: '$apr1$' as const, password: 'pässwörd', want: '$apr1$12345678$0NJU6izOW5MGH4BL2C/sK/' },
    { desc: 'MD5-crypt $1$', salt: 'saltsalt', magic: '$1$' as const, password: 'secret', want: '$1$saltsalt$9xy1btjgzLYfb7hivXtC//' },
  ];
  for (const c of md5) it(c.desc, () => assert.equal(md5Crypt(Buffer.from(c.password, 'utf8'), c.salt, c.magic), c.want));

  const verifyCases = [
    { desc: 'apr1 right password', hash: '$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/', password: 'test', want: true },
    { desc: 'apr1 wrong password', hash: '$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/', password: 'Test', want: false },
    { desc: 'SHA right password', hash: '{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', password: 'test', want: true },
    { desc: 'SHA wrong password', hash: '{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', password: 'test2', want: false },
  ];
  for (const c of verifyCases) it(c.desc, () => assert.equal(verifySync(c.password, parseSecret(c.hash)!), c.want));

  const formats = [
    { desc: 'plain text refused', hash: 'test', kind: null },
    { desc: 'DES crypt refused', hash: 'abJnggxhB/yWI', kind: null },
    { desc: 'bcrypt $2y$', hash: '$2y$05$' + 'a'.repeat(53), kind: 'bcrypt' },
    { desc: 'bcrypt $2x$ is read as $2a$', hash: '$2x$05$' + 'a'.repeat(53), kind: 'bcrypt' },
  ];
  for (const c of formats) it(c.desc, () => assert.equal(parseSecret(c.hash)?.kind ?? null, c.kind));
});

describe('parseBasicAuthorization', () => {
  const cases = [
    { desc: 'valid', value: basic('u', 'p'), want: ['u', 'p'] },
    { desc: 'scheme is case-insensitive', value: 'bAsIc ' + Buffer.from('u:p').toString('base64'), want: ['u', 'p'] },
    { desc: 'password may contain colons', value: basic('u', 'a:b'), want: ['u', 'a:b'] },
    { desc: 'empty password', value: basic('u', ''), want: ['u', ''] },
    { desc: 'no colon', value: 'Basic ' + Buffer.from('up').toString('base64'), want: null },
    { desc: 'not base64', value: 'Basic !!!!', want: null },
    { desc: 'exact base64 without padding', value: 'Basic dTpw', want: ['u', 'p'] },
    { desc: 'bad padding length', value: 'Basic dTpwd', want: null },
    { desc: 'Bearer scheme', value: 'Bearer abc', want: null },
    { desc: 'absent', value: undefined, want: null },
  ];
  for (const c of cases) it(c.desc, () => assert.deepEqual(parseBasicAuthorization(c.value), c.want));
});

describe('basicAuth', () => {
  let dir: string;
  let bcryptHash: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gantry-basicauth-'));
    bcryptHash = bcrypt.hashSync('bcpass', 4).replace(/^\$2b\$/, '$2y$');
    writeFileSync(join(dir, 'htpasswd'), ['# comment', '', 'fileuser:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', '  spaced:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/  ', ''].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  interface Case {
    desc: string;
    options?: Record<string, unknown>;
    authorization?: string;
    status: number;
    seen?: Record<string, string | undefined>;
  }
  const users = () => ['test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/', 'sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', `bc:${bcryptHash}`];
  const cases: Case[] = [
    { desc: 'apr1 user, right password', authorization: basic('test', 'test'), status: 200, seen: { authorization: basic('test', 'test') } },
    { desc: 'apr1 user, wrong password', authorization: basic('test', 'nope'), status: 401 },
    { desc: 'SHA user, right password', authorization: basic('sha', 'test'), status: 200 },
    { desc: 'bcrypt $2y$ user, right password', authorization: basic('bc', 'bcpass'), status: 200 },
    { desc: 'bcrypt user, wrong password', authorization: basic('bc', 'bcpasS'), status: 401 },
    { desc: 'unknown user', authorization: basic('nobody', 'test'), status: 401 },
    { desc: 'unknown user with another user password', authorization: basic('nobody', 'bcpass'), status: 401 },
    { desc: 'no Authorization header', status: 401 },
    { desc: 'malformed header (no colon)', authorization: 'Basic ' + Buffer.from('test').toString('base64'), status: 401 },
    { desc: 'malformed header (garbage)', authorization: 'Basic %%%', status: 401 },
    { desc: 'other scheme', authorization: 'Bearer token', status: 401 },
    { desc: 'removeHeader drops Authorization', options: { removeHeader: true }, authorization: basic('test', 'test'), status: 200, seen: { authorization: undefined } },
    { desc: 'headerField carries the user', options: { headerField: 'X-WebAuth-User' }, authorization: basic('sha', 'test'), status: 200, seen: { 'x-webauth-user': 'sha' } },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(basicAuth, { users: users(), ...c.options }));
      try {
        const headers = c.authorization === undefined ? {} : { authorization: c.authorization, 'x-webauth-user': 'spoofed' };
        const r = await request(srv.url, '/', { headers });
        assert.equal(r.status, c.status);
        if (c.status === 401) {
          assert.equal(r.headers['www-authenticate'], 'Basic realm="gantry"');
          assert.equal(srv.lastSeen(), null);
          assert.match(r.body, /^401 Unauthorized/);
          return;
        }
        const seen = srv.lastSeen();
        assert.ok(seen);
        for (const [k, v] of Object.entries(c.seen ?? {})) assert.equal(seen.headers[k], v, k);
      } finally {
        await srv.close();
      }
    });
  }

  describe('usersFile and realm', () => {
    let srv: MiddlewareServer;
    before(async () => {
      const env = testEnv({ cwd: dir });
      srv = await startMiddlewareServer(build(basicAuth, { usersFile: 'htpasswd', users: ['test:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='], realm: 'my "realm"' }, env));
    });
    after(() => srv.close());
    const fileCases = [
      { desc: 'user from the file', user: 'fileuser', password: 'test', status: 200 },
      { desc: 'trimmed line from the file', user: 'spaced', password: 'test', status: 200 },
      { desc: 'comment is not a user', user: '# comment', password: '', status: 401 },
      { desc: 'inline users are added', user: 'test', password: 'test', status: 200 },
    ];
    for (const c of fileCases) {
      it(c.desc, async () => {
        const r = await request(srv.url, '/', { headers: { authorization: basic(c.user, c.password) } });
        assert.equal(r.status, c.status);
        if (c.status === 401) assert.equal(r.headers['www-authenticate'], 'Basic realm="my \\"realm\\""');
      });
    }
    it('repeated requests hit the cache and still pass', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await request(srv.url, '/', { headers: { authorization: basic('fileuser', 'test') } })).status, 200);
    });
  });

  it('concurrent bcrypt checks of one pair all succeed', async () => {
    const srv = await startMiddlewareServer(build(basicAuth, { users: users() }));
    try {
      const rs = await Promise.all([1, 2, 3, 4].map(() => request(srv.url, '/', { headers: { authorization: basic('bc', 'bcpass') } })));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200]);
    } finally {
      await srv.close();
    }
  });

  const invalid = [
    { desc: 'no users', options: {}, re: /no user configured/ },
    { desc: 'entry without colon', options: { users: ['test'] }, re: /users\[0\]: expected "user:hash"/ },
    { desc: 'plain-text password', options: { users: ['test:test'] }, re: /not bcrypt/ },
    { desc: 'missing usersFile', options: { usersFile: '/nonexistent/htpasswd' }, re: /cannot read/ },
    { desc: 'bad headerField', options: { users: ['a:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='], headerField: 'X Bad' }, re: /invalid header name/ },
    { desc: 'users not a list', options: { users: 'a:b' }, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(basicAuth, c.options) ?? '', c.re));
});
