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
 * timers do. The timer runs only while some connection waits under a timeout.
 */
import { performance } from 'node:perf_hooks';

/** Idler is what waits in a queue: a connection, with the queue's links kept on it. */
export interface Idler {
  idlePrev: Idler | null;
  idleNext: Idler | null;
  /** When it began to wait (ms on the reaper's clock); integral, so that V8 keeps it unboxed. */
  idleSince: number;
  idleQueue: IdleQueue | null;
  /** expire: the idler waited past its queue's timeout (it has been taken off the queue). */
  expire(): void;
}

/** IdleQueue is one timeout's list of idlers, oldest first (timeout 0: they never expire). */
export class IdleQueue {
  readonly timeoutMs: number;
  head: Idler | null = null;
  tail: Idler | null = null;
  size = 0;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  push(c: Idler, now: number): void {
    c.idleSince = now;
    c.idleQueue = this;
    c.idlePrev = this.tail;
    c.idleNext = null;
    if (this.tail === null) this.head = c;
    else this.tail.idleNext = c;
    this.tail = c;
    this.size++;
  }

  remove(c: Idler): void {
    if (c.idlePrev === null) this.head = c.idleNext;
    else c.idlePrev.idleNext = c.idleNext;
    if (c.idleNext === null) this.tail = c.idlePrev;
    else c.idleNext.idlePrev = c.idlePrev;
    c.idlePrev = c.idleNext = null;
    c.idleQueue = null;
    this.size--;
  }

  /** expireDue takes off and expires every idler that has waited `timeoutMs` by `now`. */
  expireDue(now: number): void {
    const limit = now - this.timeoutMs;
    for (let c = this.head; c !== null && c.idleSince <= limit; c = this.head) {
      this.remove(c);
      c.expire();
    }
  }
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
    if (c.idleQueue !== null) c.idleQueue.remove(c);
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
    if (c.idleQueue !== null) c.idleQueue.remove(c);
  }

  /** size: the connections in the queues. */
  get size(): number {
    return this.awaitingRequest.size + this.serving.size + this.betweenRequests.size;
  }

  /** all lists every connection in the queues (a copy: the caller may close them). */
  all(): Idler[] {
    const out: Idler[] = [];
    for (const q of [this.awaitingRequest, this.serving, this.betweenRequests]) for (let c = q.head; c !== null; c = c.idleNext) out.push(c);
    return out;
  }

  /** sweep expires what is due, and stops the timer when nobody waits under a timeout. */
  sweep(): void {
    const now = this.now();
    const timed = [this.awaitingRequest, this.betweenRequests].filter((q) => q.timeoutMs > 0);
    for (const q of timed) q.expireDue(now);
    if (timed.every((q) => q.size === 0)) this.stop();
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
