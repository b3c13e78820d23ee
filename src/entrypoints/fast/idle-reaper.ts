/**
 * IdleReaper closes the fast lane's idle connections once they have waited too long, with one
 * coarse timer per entrypoint instead of a Node timer per socket. `socket.setTimeout` costs a
 * Timeout, its argument array and two boxed numbers, ~220 bytes of every idle connection's ~1.9 KB
 * (measured with a heap snapshot over 10,000 of them); a place in a list costs three fields.
 *
 * Every fast-lane connection is in one of three queues: waiting for its first request (the header
 * timeout, the slowloris guard), being served (no timeout here: the write timeout is the
 * request's), or waiting between requests (the keep-alive idle timeout). The queues are also the
 * entrypoint's list of its connections (shutdown walks them), so no Set holds them as well. Each
 * queue has one timeout and is appended to in time order, so it is sorted by deadline: a sweep
 * looks only at the connections that are due, and stops at the first that is not. A connection is
 * closed between `timeoutMs` and `timeoutMs + periodMs` after it began to wait, as nginx's coarse
 * timers do. The timer runs only while some connection waits under a timeout. A connection carries
 * three fields for all this: its two links and the time it began to wait.
 */
import { performance } from 'node:perf_hooks';

/**
 * IdleLink is a place in a queue. The queues are circular lists whose queue object is their own
 * end marker, so that a connection can leave one without knowing which it is on: two links and
 * its start time are all an idler carries (`idleNext` null: on no queue).
 */
export interface IdleLink {
  idlePrev: IdleLink | null;
  idleNext: IdleLink | null;
}

/** Idler is what waits in a queue: a connection, with the queue's links kept on it. */
export interface Idler extends IdleLink {
  /** When it began to wait (ms on the reaper's clock); integral, so that V8 keeps it unboxed. */
  idleSince: number;
  /** expire: the idler waited past its queue's timeout (it has been taken off the queue). */
  expire(): void;
}

/** IdleQueue is one timeout's list of idlers, oldest first (timeout 0: they never expire). */
export class IdleQueue implements IdleLink {
  readonly timeoutMs: number;
  // The list's ends: idleNext is the oldest idler, idlePrev the newest, the queue itself when empty.
  idlePrev: IdleLink;
  idleNext: IdleLink;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.idlePrev = this;
    this.idleNext = this;
  }

  get empty(): boolean {
    return this.idleNext === this;
  }

  push(c: Idler, now: number): void {
    c.idleSince = now;
    const newest = this.idlePrev;
    c.idlePrev = newest;
    c.idleNext = this;
    newest.idleNext = c;
    this.idlePrev = c;
  }

  /** list: the idlers, oldest first (a copy: the caller may close them). */
  list(): Idler[] {
    const out: Idler[] = [];
    for (let c = this.idleNext; c !== this; c = c.idleNext!) out.push(c as Idler);
    return out;
  }

  /** expireDue takes off and expires every idler that has waited `timeoutMs` by `now`. */
  expireDue(now: number): void {
    const limit = now - this.timeoutMs;
    for (let c = this.idleNext; c !== this && (c as Idler).idleSince <= limit; c = this.idleNext) {
      unlink(c);
      (c as Idler).expire();
    }
  }
}

/** unlink takes `c` off the queue it is on, if any. */
function unlink(c: IdleLink): void {
  const next = c.idleNext;
  if (next === null) return;
  const prev = c.idlePrev!;
  prev.idleNext = next;
  next.idlePrev = prev;
  c.idlePrev = c.idleNext = null;
}

export interface IdleReaperOptions {
  /** Before the first request; 0: no limit. */
  readonly awaitingRequestMs: number;
  /** Between requests (keep-alive); 0: no limit. */
  readonly betweenRequestsMs: number;
  /** The clock, in whole milliseconds (tests give their own). */
  readonly now?: () => number;
}

const MAX_PERIOD_MS = 1000;
const MIN_PERIOD_MS = 10;

export class IdleReaper {
  readonly awaitingRequest: IdleQueue;
  readonly serving = new IdleQueue(0);
  readonly betweenRequests: IdleQueue;
  /** How often the queues are swept: a quarter of the shorter timeout, at most a second. */
  readonly periodMs: number;
  readonly now: () => number;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: IdleReaperOptions) {
    this.awaitingRequest = new IdleQueue(opts.awaitingRequestMs);
    this.betweenRequests = new IdleQueue(opts.betweenRequestsMs);
    const timeouts = [opts.awaitingRequestMs, opts.betweenRequestsMs].filter((t) => t > 0);
    const shortest = timeouts.length === 0 ? MAX_PERIOD_MS : Math.min(...timeouts);
    this.periodMs = Math.max(MIN_PERIOD_MS, Math.min(MAX_PERIOD_MS, Math.floor(shortest / 4)));
    this.now = opts.now ?? wholeMilliseconds;
  }

  /** move puts `c` at the end of `queue`, taking it off the one it was on. */
  move(c: Idler, queue: IdleQueue): void {
    unlink(c);
    // A queue without a timeout never looks at the time: no clock read for it (once per request).
    if (queue.timeoutMs === 0) return queue.push(c, 0);
    queue.push(c, this.now());
    if (this.#timer === null) {
      this.#timer = setInterval(sweep, this.periodMs, this);
      this.#timer.unref();
    }
  }

  /** remove takes `c` off its queue, if it is on one (it closed, or node:http took it). */
  remove(c: Idler): void {
    unlink(c);
  }

  /** all lists every connection in the queues (a copy: the caller may close them). */
  all(): Idler[] {
    return [...this.awaitingRequest.list(), ...this.serving.list(), ...this.betweenRequests.list()];
  }

  /** sweep expires what is due, and stops the timer when nobody waits under a timeout. */
  sweep(): void {
    const now = this.now();
    const timed = [this.awaitingRequest, this.betweenRequests].filter((q) => q.timeoutMs > 0);
    for (const q of timed) q.expireDue(now);
    if (timed.every((q) => q.empty)) this.stop();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  get running(): boolean {
    return this.#timer !== null;
  }
}

function sweep(r: IdleReaper): void {
  r.sweep();
}

/**
 * wholeMilliseconds since the process started: a small integer (V8 keeps it in the field itself up
 * to 2^30 ms, 12 days of uptime; past that it is boxed, which costs memory, not correctness).
 */
function wholeMilliseconds(): number {
  return Math.floor(performance.now());
}
