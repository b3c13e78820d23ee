/**
 * Request heads for the servers are sent at the end of the event-loop turn that produced them,
 * together, rather than one by one as each client read is parsed. A write that wakes a server
 * sleeping in epoll costs far more than the write itself (measured ~10 µs per wake-up on the
 * virtual machines Gantry is benchmarked on, against ~2 µs for the write); heads that go out
 * together in the check phase wake a busy server once per turn instead of once per request. The
 * head still leaves within the same turn, so no request waits on a timer.
 *
 * Only server-bound writes are held: holding the writes to clients as well lengthened the tail
 * latency (bench/results, 2026-12-05) for little gain.
 */
import type { Socket } from 'node:net';

/** Sockets corked this turn, once per hold: cork() counts, and each entry is one uncork(). */
const held: Socket[] = [];
let scheduled = false;

/**
 * holdUntilTurnEnd corks `socket`: what is written to it from now until the end of this turn
 * goes out in one write when the turn's check phase runs.
 */
export function holdUntilTurnEnd(socket: Socket): void {
  socket.cork();
  held.push(socket);
  if (!scheduled) {
    scheduled = true;
    setImmediate(releaseHeld);
  }
}

function releaseHeld(): void {
  scheduled = false;
  // uncork() may run code that holds another socket (an error handler starting a retry): that one
  // is pushed after n and waits for the next check phase, which the push scheduled.
  const n = held.length;
  for (let i = 0; i < n; i++) held[i]!.uncork(); // on a destroyed socket: a no-op
  held.splice(0, n);
}
