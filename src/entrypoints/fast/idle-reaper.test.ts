import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdleReaper, type IdleLink, type IdleQueue, type Idler } from './idle-reaper.js';

class Conn implements Idler {
  idlePrev: IdleLink | null = null;
  idleNext: IdleLink | null = null;
  idleSince = 0;
  expired = 0;
  constructor(readonly name: string) {}
  expire(): void {
    this.expired++;
  }
}

function names(q: IdleQueue): string[] {
  return q.list().map((c) => (c as Conn).name);
}

describe('IdleReaper', () => {
  it('expires each queue at its own timeout, oldest first, and only what is due', () => {
    let now = 1000;
    const r = new IdleReaper({ awaitingRequestMs: 100, betweenRequestsMs: 300, now: () => now });
    const fresh = new Conn('fresh');
    const kept = new Conn('kept');
    const late = new Conn('late');
    r.move(fresh, r.awaitingRequest);
    r.move(kept, r.betweenRequests);
    now = 1050;
    r.move(late, r.awaitingRequest);
    now = 1099;
    r.sweep();
    assert.deepEqual([fresh.expired, kept.expired, late.expired], [0, 0, 0]);
    now = 1100;
    r.sweep();
    assert.deepEqual([fresh.expired, kept.expired, late.expired], [1, 0, 0]);
    assert.deepEqual(names(r.awaitingRequest), ['late']);
    assert.equal(fresh.idleNext, null, 'taken off its queue');
    now = 1150;
    r.sweep();
    assert.equal(late.expired, 1);
    now = 1299;
    r.sweep();
    assert.equal(kept.expired, 0);
    now = 1300;
    r.sweep();
    assert.equal(kept.expired, 1);
    assert.equal(r.running, false, 'the timer stops when nobody waits');
  });

  it('moves a connection that waits again to the end of its new queue, and forgets one that stops waiting', () => {
    let now = 0;
    const r = new IdleReaper({ awaitingRequestMs: 100, betweenRequestsMs: 100, now: () => now });
    const a = new Conn('a');
    const b = new Conn('b');
    const c = new Conn('c');
    r.move(a, r.betweenRequests);
    r.move(b, r.betweenRequests);
    r.move(c, r.betweenRequests);
    now = 60;
    r.move(a, r.betweenRequests); // a served a request: its wait starts over
    r.remove(b); // b is busy
    assert.deepEqual(names(r.betweenRequests), ['c', 'a']);
    assert.equal(r.betweenRequests.idlePrev, a, 'a is the newest');
    assert.equal(b.idleNext, null);
    now = 100;
    r.sweep();
    assert.deepEqual([a.expired, b.expired, c.expired], [0, 0, 1]);
    now = 160;
    r.sweep();
    assert.equal(a.expired, 1);
    assert.equal(r.betweenRequests.empty, true);
    assert.equal(r.betweenRequests.idleNext, r.betweenRequests);
    assert.equal(r.betweenRequests.idlePrev, r.betweenRequests);
    r.remove(a); // already off: no effect
    assert.equal(r.betweenRequests.empty, true);
    assert.deepEqual(r.all(), []);
    r.stop();
  });

  it('never expires a connection in a queue whose timeout is 0 (no limit, and the serving queue), and lists every one', () => {
    let now = 0;
    const r = new IdleReaper({ awaitingRequestMs: 50, betweenRequestsMs: 0, now: () => now });
    const [fresh, busy, kept] = [new Conn('fresh'), new Conn('busy'), new Conn('kept')];
    r.move(busy, r.serving);
    r.move(kept, r.betweenRequests);
    assert.equal(r.running, false, 'no timer for queues without a timeout');
    r.move(fresh, r.awaitingRequest);
    assert.equal(r.running, true);
    assert.deepEqual(r.all().map((c) => (c as Conn).name).sort(), ['busy', 'fresh', 'kept']);
    assert.equal(r.all().length, 3);
    now = 1_000_000;
    r.sweep();
    assert.deepEqual([fresh.expired, busy.expired, kept.expired], [1, 0, 0]);
    assert.equal(r.running, false);
    assert.equal(r.all().length, 2);
    assert.deepEqual(names(r.betweenRequests), ['kept']);
    assert.deepEqual(names(r.serving), ['busy']);
  });

  it('reads the clock only for a queue that has a timeout (not once more per request for the serving one)', () => {
    let reads = 0;
    const r = new IdleReaper({ awaitingRequestMs: 50, betweenRequestsMs: 0, now: () => ++reads });
    const c = new Conn('c');
    r.move(c, r.serving);
    r.move(c, r.betweenRequests);
    assert.equal(reads, 0);
    r.move(c, r.awaitingRequest);
    assert.equal(reads, 1);
    r.stop();
  });

  it('sweeps at a quarter of the shorter timeout, between 10 ms and 1 s', () => {
    assert.equal(new IdleReaper({ awaitingRequestMs: 10_000, betweenRequestsMs: 180_000 }).periodMs, 1000);
    assert.equal(new IdleReaper({ awaitingRequestMs: 10_000, betweenRequestsMs: 1000 }).periodMs, 250);
    assert.equal(new IdleReaper({ awaitingRequestMs: 0, betweenRequestsMs: 20 }).periodMs, 10);
  });

  it('runs its timer while a connection waits, and closes it on time with the real clock', async () => {
    const r = new IdleReaper({ awaitingRequestMs: 80, betweenRequestsMs: 80 });
    const a = new Conn('a');
    const t0 = Date.now();
    r.move(a, r.awaitingRequest);
    assert.equal(r.running, true);
    while (a.expired === 0 && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 5));
    const waited = Date.now() - t0;
    assert.equal(a.expired, 1);
    assert.ok(waited >= 75, `expired after ${waited} ms, before its 80 ms`);
    assert.equal(r.running, false);
  });
});
