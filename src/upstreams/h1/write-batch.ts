/**
 * Request heads for the servers are sent at the end of the event-loop turn that produced them,
 * together, rather than one by one as each client read is parsed. A write that wakes a server
 * sleeping in epoll costs far more than the write itself (measured ~10 µs per wake-up on the
 * virtual machines Gantry is benchmarked on, against ~2 µs for the write); heads that leave back
 * to back in the check phase find a server the first one woke still busy, instead of each write
 * between two client reads waking it anew. The head still leaves within the same turn, so no
 * request waits on a timer (docs/bench.md, "Fourth round").
 *
 * Only server-bound writes are held: holding the writes to clients as well raised p99 to 8–13 ms
 * in A/B rounds for little throughput.
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
