/**
 * EtcdClient against the real etcd of the test bed (scripts/testbed/up.sh etcd): a single member for the
 * API, and the 3-member cluster with members killed while writing and watching.
 * In CI a missing etcd fails these tests (test/helpers/testbed.ts requireComponent).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import {
  etcdHealthy, etcdLeader, killEtcdMember, loadTestbed, pauseEtcdMember, requireComponent, restartEtcdMember,
  resumeEtcdMember, until,
} from '../../../test/helpers/testbed.js';
import {
  EtcdClient, EtcdClosedError, EtcdError, EtcdLeaseNotFoundError, EtcdUnavailableError, type WatchEvent,
} from './client.js';

const single = requireComponent('etcd');
const cluster = requireComponent('etcdCluster');
/** Every test writes under its own prefix, so runs (and other people's runs) do not see each other. */
const ROOT = `/gantry-test/etcd-client/${process.pid}-${Date.now()}/`;

function client(endpoints = [loadTestbed().etcd!.endpoint]): EtcdClient {
  return new EtcdClient({ endpoints });
}

describe('EtcdClient on one member', { skip: single }, () => {
  const c = single ? null! : client();
  after(async () => {
    await c.deletePrefix(ROOT);
    await c.close();
  });

  test('put, get, delete one key', async () => {
    const k = ROOT + 'crud/a';
    assert.equal(await c.get(k), undefined);
    const { revision } = await c.put(k, 'v1 ü');
    assert.ok(revision > 0);
    const kv = await c.get(k);
    assert.equal(kv?.value, 'v1 ü');
    assert.equal(kv?.modRevision, revision);
    assert.equal(kv?.createRevision, revision);
    assert.equal(kv?.version, 1);
    await c.put(k, 'v2');
    assert.equal((await c.get(k))?.version, 2);
    assert.equal((await c.delete(k)).deleted, 1);
    assert.equal(await c.get(k), undefined);
    assert.equal((await c.delete(k)).deleted, 0);
  });

  test('getPrefix and deletePrefix cover the prefix and nothing beside it', async () => {
    const p = ROOT + 'prefix/';
    await c.put(p + 'b', '2');
    await c.put(p + 'a', '1');
    await c.put(p + 'c/d', '3');
    await c.put(ROOT + 'prefix0', 'sibling'); // '/' + 1 = '0': the first key past the range
    await c.put(ROOT + 'prefix', 'parent');
    const r = await c.getPrefix(p);
    assert.deepEqual(r.kvs.map((kv) => [kv.key, kv.value]), [[p + 'a', '1'], [p + 'b', '2'], [p + 'c/d', '3']]);
    assert.ok(r.revision >= Math.max(...r.kvs.map((kv) => kv.modRevision)));
    assert.equal((await c.deletePrefix(p)).deleted, 3);
    assert.equal((await c.getPrefix(p)).kvs.length, 0);
    assert.equal((await c.get(ROOT + 'prefix0'))?.value, 'sibling');
    assert.equal((await c.get(ROOT + 'prefix'))?.value, 'parent');
  });

  test('txn: create-if-absent acquires once; compare-and-swap on modRevision', async () => {
    const k = ROOT + 'txn/lock';
    assert.equal(await c.createIfAbsent(k, 'owner-1'), true);
    assert.equal(await c.createIfAbsent(k, 'owner-2'), false);
    // The owner asking again (a retry after a lost answer) is told it holds the lock.
    assert.equal(await c.createIfAbsent(k, 'owner-1'), true);
    assert.equal((await c.get(k))?.value, 'owner-1');

    const kv = (await c.get(k))!;
    const swap = (expect: number, value: string) => c.txn({
      compare: [{ key: k, target: 'modRevision', value: expect }],
      success: [{ put: { key: k, value } }],
      failure: [{ get: { key: k } }],
    });
    const ok = await swap(kv.modRevision, 'owner-3');
    assert.equal(ok.succeeded, true);
    const lost = await swap(kv.modRevision, 'owner-4');
    assert.equal(lost.succeeded, false);
    assert.equal(lost.responses[0]?.kvs[0]?.value, 'owner-3');

    const multi = await c.txn({
      compare: [{ key: k, target: 'value', value: 'owner-3' }, { key: k, target: 'version', result: '>', value: 1 }],
      success: [{ delete: { key: k } }, { put: { key: k + '-next', value: 'x' } }, { get: { key: ROOT + 'txn/', prefix: true } }],
    });
    assert.equal(multi.succeeded, true);
    assert.equal(multi.responses[0]?.deleted, 1);
    assert.deepEqual(multi.responses[2]?.kvs.map((x) => x.key), [k + '-next']);
  });

  test('a lease expires and takes its key along; revoke removes it at once', async () => {
    const lease = await c.grantLease(1);
    assert.ok(lease.ttl >= 1);
    assert.match(lease.id, /^\d+$/);
    const k = ROOT + 'lease/expires';
    await c.put(k, 'x', { lease: lease.id });
    assert.equal((await c.get(k))?.lease, lease.id);
    await until('the leased key to expire', async () => (await c.get(k)) === undefined, 8000, 100);

    const l2 = await c.grantLease(30);
    await c.put(k + '2', 'y', { lease: l2.id });
    await c.revokeLease(l2.id);
    assert.equal(await c.get(k + '2'), undefined);
    await c.revokeLease(l2.id); // already gone: not an error
    await assert.rejects(c.put(k + '3', 'z', { lease: l2.id }), (err: unknown) =>
      err instanceof EtcdLeaseNotFoundError && err.code === 'GANTRY_ERR_ETCD_LEASE_NOT_FOUND');
  });

  test('keepAlive holds a 1 s lease past its TTL, and reports it lost once revoked', async () => {
    const lease = await c.grantLease(1);
    const k = ROOT + 'lease/kept';
    await c.put(k, 'x', { lease: lease.id });
    let lost: EtcdError | null = null;
    const ka = c.keepAlive(lease.id, { ttlSeconds: lease.ttl, onLost: (err) => (lost = err) });
    // Poll for 2.5 s, well past the 1 s TTL: the key must be there at every look.
    const end = Date.now() + 2500;
    let vanished = false;
    await until('2.5 s with the key in place', async () => {
      if (!(await c.get(k))) vanished = true;
      return vanished || Date.now() >= end;
    }, 5000, 200);
    assert.equal(vanished, false, 'leased key vanished while kept alive');
    await c.revokeLease(lease.id);
    await until('keepAlive to report the lease lost', () => lost !== null, 5000);
    assert.equal(lost!.code, 'GANTRY_ERR_ETCD_LEASE_NOT_FOUND');
    ka.stop();
  });

  test('watchPrefix sees puts and deletes in order, txn ops in one revision', async () => {
    const p = ROOT + 'watch/';
    const seen: WatchEvent[] = [];
    const w = c.watchPrefix(p, 0, (ev) => seen.push(...ev));
    // Watching "from now" starts once etcd confirms the watch; write only after that.
    await until('the watch to be created', () => w.nextRevision > 0, 3000);
    await c.put(p + 'a', '1');
    await c.put(p + 'b', '1');
    await c.put(ROOT + 'elsewhere', 'not watched');
    await c.put(p + 'a', '2');
    await c.delete(p + 'a');
    await c.txn({ compare: [], success: [{ put: { key: p + 'c', value: '1' } }, { delete: { key: p + 'b' } }] });
    await until('6 watch events', () => seen.length >= 6, 5000);
    w.stop();
    assert.deepEqual(seen.map((e) => `${e.type} ${e.key.slice(p.length)} ${e.value}`),
      ['put a 1', 'put b 1', 'put a 2', 'delete a ', 'put c 1', 'delete b ']);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.modRevision > seen[i - 1]!.modRevision || i === 5);
    assert.equal(seen[4]!.modRevision, seen[5]!.modRevision);
    assert.equal(w.nextRevision, seen[5]!.modRevision + 1);
  });

  test('getPrefix then watch from revision + 1 replays what happened in between', async () => {
    const p = ROOT + 'resume/';
    await c.put(p + 'x', '0');
    const { revision } = await c.getPrefix(p);
    await c.put(p + 'x', '1'); // written before the watch exists
    const seen: WatchEvent[] = [];
    const w = c.watchPrefix(p, revision + 1, (ev) => seen.push(...ev));
    await c.put(p + 'x', '2');
    await until('2 events', () => seen.length >= 2, 5000);
    w.stop();
    assert.deepEqual(seen.map((e) => e.value), ['1', '2']);
  });

  test('a dead endpoint is skipped; none alive is EtcdUnavailableError', async () => {
    const live = loadTestbed().etcd!.endpoint;
    const mixed = new EtcdClient({ endpoints: ['http://127.0.0.1:1', live] });
    try {
      await mixed.put(ROOT + 'dead/a', '1');
      assert.equal((await mixed.get(ROOT + 'dead/a'))?.value, '1');
    } finally {
      await mixed.close();
    }
    const none = new EtcdClient({ endpoints: ['127.0.0.1:1', '127.0.0.1:2'], timeoutMs: 300 });
    await assert.rejects(none.get('x'), (err: unknown) =>
      err instanceof EtcdUnavailableError && err.code === 'GANTRY_ERR_ETCD_UNAVAILABLE' && err.attempts === 4);
    await none.close();
    await assert.rejects(none.get('x'), EtcdClosedError);
  });

  test('an endpoint that accepts but never answers costs one deadline, then the next answers', async () => {
    // This is the leader-loss case: a write forwarded to a dead leader hangs on an open connection.
    const sockets = new Set<net.Socket>();
    const hole = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const port = (hole.address() as net.AddressInfo).port;
    const c2 = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`, loadTestbed().etcd!.endpoint], timeoutMs: 400 });
    try {
      const t0 = Date.now();
      await c2.put(ROOT + 'hole/a', '1');
      const ms = Date.now() - t0;
      assert.ok(ms >= 350 && ms < 1500, `took ${ms} ms`);
      const t1 = Date.now();
      await c2.get(ROOT + 'hole/a'); // the client now starts at the endpoint that answered
      assert.ok(Date.now() - t1 < 350);
    } finally {
      await c2.close();
      for (const s of sockets) s.destroy();
      hole.close();
    }
  });

  test('close stops watches', async () => {
    const c3 = client();
    const seen: WatchEvent[] = [];
    const w = c3.watchPrefix(ROOT + 'closed/', 0, (ev) => seen.push(...ev));
    await until('the watch to be created', () => w.nextRevision > 0, 3000);
    await c3.close();
    await c.put(ROOT + 'closed/a', '1');
    // A second watch on the open client sees the put; the closed one never does.
    const seen2: WatchEvent[] = [];
    const w2 = c.watchPrefix(ROOT + 'closed/', w.nextRevision, (ev) => seen2.push(...ev));
    await until('the put on another watch', () => seen2.length === 1, 3000);
    w2.stop();
    assert.equal(seen.length, 0);
    assert.throws(() => c3.watchPrefix('x', 0, () => {}), EtcdClosedError);
  });
});

/**
 * verifyWatches checks watches that lived through failures against etcd's own history. After an end
 * marker is written, the events each saw must equal a fresh replay from `start`: nothing missed,
 * reordered or repeated by the client. Every value 0..n-1 must be in the history, first appearances in
 * order. A value may appear twice: a put that timed out on a frozen or dying member can still be applied
 * after its retry succeeded (retries are at-least-once). Returns how many such repeats there were.
 */
async function verifyWatches(c: EtcdClient, prefix: string, start: number, n: number, seen: WatchEvent[][]): Promise<number> {
  const end = (await c.put(prefix + 'zz-end', 'end')).revision;
  for (const [i, s] of seen.entries()) {
    await until(`watch ${i} to reach revision ${end}`, () => s.some((e) => e.modRevision >= end), 15_000);
  }
  const replay: WatchEvent[] = [];
  const w = c.watchPrefix(prefix, start, (ev) => replay.push(...ev));
  await until('the replay to reach the end marker', () => replay.some((e) => e.modRevision >= end), 10_000);
  w.stop();
  const upTo = (evs: WatchEvent[]) => evs.filter((e) => e.modRevision <= end).map((e) => `${e.modRevision} ${e.type} ${e.key} ${e.value}`);
  for (const [i, s] of seen.entries()) assert.deepEqual(upTo(s), upTo(replay), `watch ${i} saw exactly etcd's history`);
  const values = replay.filter((e) => e.modRevision < end).map((e) => e.value);
  assert.deepEqual([...new Set(values)], Array.from({ length: n }, (_, i) => String(i)), 'every put applied, in order');
  return values.length - n;
}

/** Log lines of a client whose watch moves are recorded in `moves`. */
function recordMoves(moves: string[]) {
  return {
    debug: (msg: string, f?: Record<string, unknown>) => {
      if (msg.startsWith('etcd watch')) moves.push(`${msg} ${String(f?.endpoint)}`);
    },
    warn: () => {},
  };
}

describe('EtcdClient on a 3-member cluster', { skip: cluster }, () => {
  test('kill a follower, then the leader, during puts: no failed call, watches miss nothing', { timeout: 120_000 }, async () => {
    const eps = loadTestbed().etcd!.cluster;
    for (let i = 1; i <= 3; i++) await restartEtcdMember(i); // all healthy before we start
    const leader0 = await etcdLeader(eps);
    const follower = (leader0 + 1) % 3;
    // The writer and one watch start on the follower that dies first, another watch on the leader.
    const from = (first: number) => [eps[first]!, ...eps.filter((_, i) => i !== first)];
    const writer = new EtcdClient({ endpoints: from(follower) });
    const moves: string[][] = [[], []];
    const watchers = [
      new EtcdClient({ endpoints: from(follower), logger: recordMoves(moves[0]!) }),
      new EtcdClient({ endpoints: from(leader0), logger: recordMoves(moves[1]!) }),
    ];
    const p = ROOT + 'cluster/';
    const killed = new Set<number>();
    try {
      const start = (await writer.getPrefix(p)).revision + 1;
      const seen: WatchEvent[][] = [[], []];
      const watches = watchers.map((w, i) => w.watchPrefix(p, start, (ev) => seen[i]!.push(...ev)));

      const N = 120;
      let failures = 0;
      let slowest = 0;
      let leaderKilled = -1;
      for (let i = 0; i < N; i++) {
        if (i === 20) { await killEtcdMember(follower + 1); killed.add(follower); }
        if (i === 40) { await restartEtcdMember(follower + 1); killed.delete(follower); }
        if (i === 60) {
          leaderKilled = await etcdLeader(eps);
          await killEtcdMember(leaderKilled + 1);
          killed.add(leaderKilled);
        }
        if (i === 90) { await restartEtcdMember(leaderKilled + 1); killed.delete(leaderKilled); }
        const t0 = Date.now();
        try {
          await writer.put(`${p}k${String(i).padStart(3, '0')}`, String(i));
        } catch (err) {
          failures++;
          console.error(`put ${i} failed:`, err);
        }
        slowest = Math.max(slowest, Date.now() - t0);
      }
      assert.equal(failures, 0);
      assert.ok(slowest < 5000, `slowest put took ${slowest} ms`);
      const repeats = await verifyWatches(writer, p, start, N, seen);
      for (const w of watches) w.stop();
      assert.ok(moves[0]!.some((m) => m.endsWith(eps[follower]!)), `watch 0 left the killed follower: ${moves[0]!.join('; ')}`);
      if (leaderKilled === leader0) {
        assert.ok(moves[1]!.some((m) => m.endsWith(eps[leader0]!)), `watch 1 left the killed leader: ${moves[1]!.join('; ')}`);
      }
      console.log(`cluster kill: ${N} puts, slowest ${slowest} ms, ${repeats} repeated, leader m${leader0 + 1}, killed m${follower + 1} then m${leaderKilled + 1}`);
    } finally {
      for (const i of killed) await restartEtcdMember(i + 1);
      await writer.deletePrefix(p).catch(() => undefined);
      await Promise.all([writer, ...watchers].map((x) => x.close()));
    }
    for (const ep of eps) assert.ok(await etcdHealthy(ep), `${ep} healthy after the test`);
  });

  test('a frozen member (SIGSTOP): calls and the watch on it move to the others', { timeout: 60_000 }, async () => {
    const eps = loadTestbed().etcd!.cluster;
    for (let i = 1; i <= 3; i++) await restartEtcdMember(i);
    const frozen = ((await etcdLeader(eps)) + 1) % 3; // a follower, so no election is needed
    const from = [eps[frozen]!, ...eps.filter((_, i) => i !== frozen)];
    const moves: string[] = [];
    const writer = new EtcdClient({ endpoints: from });
    const watcher = new EtcdClient({ endpoints: from, watchProbeMs: 300, logger: recordMoves(moves) });
    const p = ROOT + 'frozen/';
    let paused = false;
    try {
      const start = (await writer.getPrefix(p)).revision + 1;
      const seen: WatchEvent[] = [];
      const w = watcher.watchPrefix(p, start, (ev) => seen.push(...ev));
      // Freeze at put 10; thaw once the watch has left the member (at put 30 at the earliest) and
      // keep writing meanwhile. The loop is bounded by the freeze deadline below.
      const moved = () => moves.some((m) => m.startsWith('etcd watch probe failed') && m.endsWith(eps[frozen]!));
      let N = 0;
      let failures = 0;
      let slowest = 0;
      let frozenUntil = 0;
      for (let i = 0; i < 40 || paused; i++, N++) {
        if (i === 10) { pauseEtcdMember(frozen + 1); paused = true; frozenUntil = Date.now() + 10_000; }
        if (paused && i >= 30 && moved()) { resumeEtcdMember(frozen + 1); paused = false; }
        if (paused && Date.now() > frozenUntil) assert.fail(`the watch did not leave the frozen member in 10 s: ${moves.join('; ')}`);
        const t0 = Date.now();
        await writer.put(`${p}k${String(i).padStart(2, '0')}`, String(i)).catch(() => failures++);
        slowest = Math.max(slowest, Date.now() - t0);
      }
      assert.equal(failures, 0);
      assert.ok(slowest < 3000, `slowest put took ${slowest} ms`);
      const repeats = await verifyWatches(writer, p, start, N, [seen]);
      w.stop();
      console.log(`cluster freeze: ${N} puts, slowest ${slowest} ms, ${repeats} repeated, froze m${frozen + 1}`);
    } finally {
      if (paused) resumeEtcdMember(frozen + 1);
      await writer.deletePrefix(p).catch(() => undefined);
      await Promise.all([writer.close(), watcher.close()]);
    }
    await until('all members healthy', async () => (await Promise.all(eps.map((ep) => etcdHealthy(ep)))).every(Boolean), 10_000);
  });
});
