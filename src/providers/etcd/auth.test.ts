import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTokenProblem, tlsHint, TokenKeeper } from './auth.js';

class Refused extends Error {}

describe('TokenKeeper', () => {
  test('one authentication for many callers, then the token is reused', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const k = new TokenKeeper(async () => {
      calls++;
      await gate;
      return `t${calls}`;
    }, () => false);
    const waiting = [k.get(), k.get(), k.get()];
    release();
    assert.deepEqual(await Promise.all(waiting), ['t1', 't1', 't1']);
    assert.equal(await k.get(), 't1');
    assert.equal(calls, 1);
    assert.equal(k.authentications, 1);
  });

  test('invalidate drops only the token it names; the next get authenticates again', async () => {
    let n = 0;
    const k = new TokenKeeper(async () => `t${++n}`, () => false);
    assert.equal(await k.get(), 't1');
    k.invalidate('t0'); // a stale report about an older token
    assert.equal(await k.get(), 't1');
    k.invalidate('t1');
    assert.equal(await k.get(), 't2');
    assert.equal(k.authentications, 2);
  });

  test('null (authentication off) is a token too, dropped by invalidate(null)', async () => {
    let n = 0;
    const k = new TokenKeeper(async () => (++n === 1 ? null : 'later'), () => false);
    assert.equal(await k.get(), null);
    assert.equal(await k.get(), null);
    k.invalidate(null);
    assert.equal(await k.get(), 'later');
  });

  test('a refusal is remembered for refusalMs; a failure to reach etcd is not', async () => {
    const cases = [
      { desc: 'refusal', err: new Refused('wrong password'), askedAgain: false },
      { desc: 'unavailable', err: new Error('no endpoint answered'), askedAgain: true },
    ];
    for (const c of cases) {
      let calls = 0;
      const k = new TokenKeeper(async () => {
        calls++;
        throw c.err;
      }, (e) => e instanceof Refused, 60_000);
      await assert.rejects(k.get(), (e) => e === c.err, c.desc);
      await assert.rejects(k.get(), (e) => e === c.err, c.desc);
      assert.equal(calls, c.askedAgain ? 2 : 1, c.desc);
    }
  });

  test('after refusalMs a refused user is asked again', async () => {
    let calls = 0;
    const k = new TokenKeeper(async () => {
      if (++calls === 1) throw new Refused('no');
      return 'ok';
    }, (e) => e instanceof Refused, 0);
    await assert.rejects(k.get());
    assert.equal(await k.get(), 'ok');
  });
});

test('isTokenProblem: the messages with which etcd asks for a new token', () => {
  const cases = [
    { desc: 'expired or revoked simple token', msg: 'etcdserver: invalid auth token', want: true },
    { desc: 'JWT older than the auth store', msg: 'etcdserver: revision of auth store is old', want: true },
    { desc: 'no token (auth turned on since)', msg: 'etcd range: etcdserver: user name is empty', want: true },
    { desc: 'permission', msg: 'etcdserver: permission denied', want: false },
    { desc: 'wrong password', msg: 'etcdserver: authentication failed, invalid user ID or password', want: false },
  ];
  for (const c of cases) assert.equal(isTokenProblem(c.msg), c.want, c.desc);
});

test('tlsHint names the option behind a TLS failure', () => {
  const err = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  const cases = [
    { desc: 'untrusted server certificate', err: err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), at: { https: true, cert: true }, want: /providers\.etcd\.tls\.ca/ },
    { desc: 'no client certificate', err: err('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE'), at: { https: true, cert: false }, want: /wants a client certificate.*tls\.cert/ },
    { desc: 'client certificate refused', err: err('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE'), at: { https: true, cert: true }, want: /refused the client certificate/ },
    { desc: 'plain HTTP to a TLS member', err: err('UND_ERR_SOCKET', 'other side closed'), at: { https: false, cert: false }, want: /https:\/\/ endpoints/ },
    { desc: 'TLS to a plain member', err: err('ERR_SSL_WRONG_VERSION_NUMBER'), at: { https: true, cert: false }, want: /does not speak TLS/ },
    { desc: 'not TLS at all', err: err('ECONNREFUSED'), at: { https: true, cert: false }, want: /^$/ },
  ];
  for (const c of cases) assert.match(tlsHint(c.err, 'providers.etcd', c.at), c.want, c.desc);
});
