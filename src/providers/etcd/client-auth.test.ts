/**
 * EtcdClient against the test bed's TLS + auth member (scripts/testbed/up.sh etcd-auth): client
 * certificates, a user's token on every call and its renewal, and the refusals that name the
 * option to fix. Users made here get their own role on their own prefix and are removed after.
 * In CI a missing member fails these tests (test/helpers/testbed.ts requireComponent).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { etcdAuthCtl, etcdAuthUser, loadTestbed, requireComponent, until } from '../../../test/helpers/testbed.js';
import { EtcdAccessError, EtcdClient, EtcdUnavailableError, type EtcdClientOptions, type WatchEvent } from './client.js';

const skip = requireComponent('etcdAuth');
const tb = loadTestbed().etcdAuth;
const uid = () => randomBytes(4).toString('hex');
/** Under the "gantry" prefix, which the test bed's user may read and write. */
const ROOT = `gantry-test-client-auth-${process.pid}-${uid()}/`;

function tls(over: Partial<{ ca: string; cert: string; key: string }> = {}): NonNullable<EtcdClientOptions['tls']> {
  const f = { ca: tb!.ca, cert: tb!.cert, key: tb!.key, ...over };
  return { ca: readFileSync(f.ca), cert: readFileSync(f.cert), key: readFileSync(f.key) };
}

describe('EtcdClient with TLS client certificates and a user', { skip }, () => {
  const clients: EtcdClient[] = [];
  const open = (opts: Partial<EtcdClientOptions> = {}): EtcdClient => {
    const c = new EtcdClient({ endpoints: [tb!.endpoint], tls: tls(), auth: { username: tb!.user, password: tb!.password }, ...opts });
    clients.push(c);
    return c;
  };
  after(async () => {
    await open().deletePrefix(ROOT).catch(() => undefined);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('reads, writes, transactions, leases and watches all carry the token', async () => {
    const c = open();
    const events: WatchEvent[] = [];
    const w = c.watchPrefix(ROOT + 'w/', 0, (e) => events.push(...e));
    await c.put(ROOT + 'a', '1');
    assert.equal((await c.get(ROOT + 'a'))?.value, '1');
    assert.equal(await c.createIfAbsent(ROOT + 'lock', 'me'), true);
    const lease = await c.grantLease(5);
    assert.ok((await c.keepAliveOnce(lease.id)) > 0);
    await c.put(ROOT + 'leased', 'x', { lease: lease.id });
    await c.revokeLease(lease.id);
    assert.equal(await c.get(ROOT + 'leased'), undefined);
    // The watch is created asynchronously: write until it has seen a write.
    await until('the watch to deliver', async () => {
      await c.put(ROOT + 'w/k', 'v');
      return events.some((e) => e.key === ROOT + 'w/k');
    }, 5000, 100);
    w.stop();
    assert.ok(c.authentications >= 1);
    // The member really requires the user: the same certificate without one reads nothing.
    const anonymous = new EtcdClient({ endpoints: [tb!.endpoint], tls: tls() });
    clients.push(anonymous);
    await assert.rejects(anonymous.get(ROOT + 'a'), (e: Error) => e instanceof EtcdAccessError && /no user is configured \(providers\.etcd\.username\)/.test(e.message));
  });

  test('a token etcd dropped is replaced by a new one, for calls and for a new watch', async (t) => {
    const name = `gantry-test-${uid()}`;
    const prefix = `${name}/`;
    const user = await etcdAuthUser(name, prefix);
    t.after(() => user.remove());
    const c = open({ auth: { username: name, password: user.password } });
    await c.put(prefix + 'a', '1');
    assert.equal(c.authentications, 1);
    // etcd drops every token of a user whose password is set, even to the same value.
    await etcdAuthCtl(['user', 'passwd', name, '--interactive=false'], `${user.password}\n`);
    assert.equal((await c.get(prefix + 'a'))?.value, '1', 'the call succeeds with a new token');
    assert.equal(c.authentications, 2);
    await etcdAuthCtl(['user', 'passwd', name, '--interactive=false'], `${user.password}\n`);
    const seen: string[] = [];
    const w = c.watchPrefix(prefix, 0, (e) => seen.push(...e.map((x) => x.value)));
    t.after(() => w.stop());
    await until('the watch, refused its old token, to deliver with a new one', async () => {
      await c.put(prefix + 'b', 'after');
      return seen.includes('after');
    }, 5000, 100);
    assert.equal(c.authentications, 3);
  });

  test('an expired token is replaced', async (t) => {
    const name = `gantry-test-${uid()}`;
    const user = await etcdAuthUser(name, `${name}/`);
    t.after(() => user.remove());
    const c = open({ auth: { username: name, password: user.password } });
    await c.put(`${name}/a`, '1');
    // The member's tokens end after 3 s without use (up.sh: --auth-token-ttl 3). Polling cannot
    // tell when: using a token renews it. So this waits the TTL out, with a margin.
    await sleep(4500);
    assert.equal((await c.get(`${name}/a`))?.value, '1');
    assert.equal(c.authentications, 2);
  });

  const refusals: Array<{ desc: string; opts: () => Partial<EtcdClientOptions>; key?: string; want: RegExp; unavailable?: boolean }> = [
    {
      desc: 'a wrong password names the options',
      opts: () => ({ auth: { username: tb!.user, password: 'wrong' } }),
      want: /^providers\.etcd\.username \/ providers\.etcd\.password: etcd refused user "gantry" \(etcdserver: authentication failed, invalid user ID or password\)$/,
    },
    {
      desc: 'a key outside the role names the key and the user',
      opts: () => ({}),
      key: 'not-gantry/x',
      want: /^etcd put "not-gantry\/x": permission denied: user "gantry" \(providers\.etcd\.username\) needs a role with readwrite on it$/,
    },
    {
      desc: 'a client certificate with a Common Name names tls.cert',
      opts: () => ({ tls: tls({ cert: tb!.certWithCn, key: tb!.keyWithCn }) }),
      want: /^providers\.etcd\.tls\.cert: etcd refuses a client certificate with a Common Name/,
    },
    {
      desc: 'no client certificate names tls.cert and tls.key',
      opts: () => ({ tls: { ca: readFileSync(tb!.ca) } }),
      unavailable: true,
      want: /etcd wants a client certificate \(--client-cert-auth\): set providers\.etcd\.tls\.cert and providers\.etcd\.tls\.key/,
    },
    {
      desc: 'an untrusted server certificate names tls.ca',
      opts: () => ({ tls: { cert: readFileSync(tb!.cert), key: readFileSync(tb!.key) } }),
      unavailable: true,
      want: /the server's certificate is not trusted: check providers\.etcd\.tls\.ca/,
    },
    {
      desc: 'plain HTTP to the TLS member names the endpoints',
      opts: () => ({ endpoints: [tb!.endpoint.replace('https:', 'http:')], tls: undefined }),
      unavailable: true,
      want: /give https:\/\/ endpoints or set providers\.etcd\.tls/,
    },
  ];
  for (const r of refusals) {
    test(`refused: ${r.desc}`, async () => {
      const c = open(r.opts());
      await assert.rejects(c.put(r.key ?? ROOT + 'refused', 'x'), (e: Error) => {
        assert.ok(r.unavailable ? e instanceof EtcdUnavailableError : e instanceof EtcdAccessError, `${e.name}: ${e.message}`);
        assert.match(e.message, r.want);
        return true;
      });
    });
  }

  test('insecureSkipVerify connects without the CA', async () => {
    const c = open({ tls: { cert: readFileSync(tb!.cert), key: readFileSync(tb!.key), insecureSkipVerify: true } });
    await c.put(ROOT + 'skip', 'ok');
    assert.equal((await c.get(ROOT + 'skip'))?.value, 'ok');
  });

  test('a watch refused for want of a permission says so once, and delivers once it is granted', async (t) => {
    const name = `gantry-test-${uid()}`;
    const user = await etcdAuthUser(name, `${name}/own/`);
    t.after(() => user.remove());
    const warnings: Array<{ msg: string; error?: unknown }> = [];
    let stillRefused = 0;
    const logger = {
      debug: (msg: string) => void (msg === 'etcd watch still refused' && stillRefused++),
      warn: (msg: string, f?: Record<string, unknown>) => void warnings.push({ msg, error: f?.['error'] }),
    };
    const c = open({ auth: { username: name, password: user.password }, logger, refusalRetryMs: 100 });
    const seen: string[] = [];
    const w = c.watchPrefix(`${name}/other/`, 0, (e) => seen.push(...e.map((x) => x.value)));
    t.after(() => w.stop());
    await until('the refusal to be logged', () => warnings.length > 0, 5000);
    assert.equal(warnings[0]!.msg, 'etcd watch refused; keeping the last configuration and retrying');
    assert.match(String(warnings[0]!.error), new RegExp(`^etcd watch "${name}/other/": permission denied: user "${name}" \\(providers\\.etcd\\.username\\) needs a role with read on it$`));
    await until('three more refused attempts', () => stillRefused >= 3, 5000);
    assert.equal(warnings.length, 1, `one warning for one refusal: ${JSON.stringify(warnings)}`);
    await etcdAuthCtl(['role', 'grant-permission', name, '--prefix=true', 'readwrite', `${name}/other/`]);
    await until('the watch to deliver after the grant', async () => {
      await c.put(`${name}/other/k`, 'granted');
      return seen.includes('granted');
    }, 10_000, 200);
  });
});
