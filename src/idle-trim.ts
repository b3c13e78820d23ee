/**
 * Idle trim: when the process has gone quiet, one full collection gives the young generation's
 * memory back.
 *
 * V8 grows the young generation under allocation (start-up, a configuration load, traffic) and
 * keeps it committed afterwards: measured on Node 24, Gantry with nothing to route held 9.5 MiB of
 * new space with 0.3 MiB in use 20 s after start, and one full collection brought it to 1 MiB
 * (RSS 89 → 80 MiB). V8's own memory reducer did not do it. So every interval the event loop's
 * utilization is read; after a busy interval (more than `maxUtilization`), once `quietIntervals`
 * quiet ones in a row have passed (30 s by default), one collection runs if the young generation
 * holds at least `minYoungBytes`. Not sooner: a collection shrinks the young generation, and traffic
 * that comes back finds it small — measured in the bench's 4 s rounds after 16 s idle, a trim after
 * 5 s of quiet raised Gantry's p99 from 1.86× to 3.23× nginx's (GET /) and 1.14× to 2.81× (16 KiB). Under steady load
 * nothing is collected, and a quiet process is collected once, not every interval. (V8 shrinks the
 * young generation in a full collection only when little was allocated recently: measured, a
 * collection 100 ms after a burst kept it, one 1 s after gave it back. So when a collection did not
 * shrink it, the next quiet intervals try again, up to MAX_ATTEMPTS.)
 *
 * The collection is V8's last-resort flavor, not a regular full one. A regular one shrinks the young
 * generation but keeps the freed pages in V8's page pool, still resident: measured with 10,000 idle
 * connections after a burst, RSS then stayed where the burst had left it (new space 1 MiB resident
 * instead of 0.3), and only came down when V8's memory reducer happened to run a footprint-reducing
 * collection afterwards — half of the bench's rounds read 34 MiB per 10k connections instead of 15.
 * The last-resort flavor reduces the footprint itself, and its pause (a few full collections of
 * a small heap, logged as `pauseMs`) is paid once per quiet period. It runs with bytecode
 * flushing off (collectKeepingCode): the flavor would otherwise drop all compiled code.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { collector, type GcFunction } from './gc.js';

export interface IdleTrimOptions {
  /** How often utilization is read. */
  readonly intervalMs?: number;
  /** Event-loop utilization (0–1) at or below which an interval counts as quiet. */
  readonly maxUtilization?: number;
  /** Quiet intervals in a row before a collection (traffic with pauses shorter than that keeps its young generation). */
  readonly quietIntervals?: number;
  /** Young-generation memory below which a collection is not worth its pause. */
  readonly minYoungBytes?: number;
  /** Called after each collection with the young generation's bytes before and after, and its pause. */
  readonly onTrim?: (beforeBytes: number, afterBytes: number, pauseMs: number) => void;
}

export interface IdleTrim {
  /** Collections run so far. */
  readonly trims: number;
  stop(): void;
}

const MiB = 1024 * 1024;
/** Collections per quiet period when V8 keeps the young generation after one. */
const MAX_ATTEMPTS = 3;

/** youngGenerationBytes is the memory the young generation holds (V8's `new_space`, physical). */
export function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.physical_space_size;
  return 0;
}

/** The process was started with V8's bytecode flushing off: the trim must not switch it on. */
const flushingOff = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => a === '--no-flush-bytecode' || a === '--no-flush_bytecode');

/**
 * collectKeepingCode runs the last-resort collection with bytecode flushing off. That flavor
 * otherwise ages all bytecode, and from its third run on throws away the bytecode of every
 * function not running (measured: 995 KiB → 35 KiB in a test process); the process then
 * compiles everything again at its next burst of work: measured in the bench, a change to a
 * 10,000-router file after a trim took 1.1–1.2 s to be served (buildMs 171–229 ms) instead of
 * 0.6–0.7 s (117–123 ms) with the code kept, for no gain in the idle-10k reading (15.1 MiB per
 * 10k with it kept, 11.8–15.7 without). Bytecode flushing stays on for V8's ordinary collections.
 */
export function collectKeepingCode(gc: GcFunction): void {
  if (!flushingOff) v8.setFlagsFromString('--no-flush-bytecode');
  try {
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } finally {
    if (!flushingOff) v8.setFlagsFromString('--flush-bytecode');
  }
}

export function startIdleTrim(opts: IdleTrimOptions = {}): IdleTrim {
  const intervalMs = opts.intervalMs ?? 5000;
  const maxUtilization = opts.maxUtilization ?? 0.02;
  const minYoungBytes = opts.minYoungBytes ?? 4 * MiB;
  const quietIntervals = opts.quietIntervals ?? 6;
  let quiet = 0;
  // Start-up was busy: the first quiet interval may collect.
  let armed = true;
  let trims = 0;
  let attempts = 0;
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization > maxUtilization;
    last = now;
    if (busy) {
      armed = true;
      attempts = 0;
      quiet = 0;
      return;
    }
    quiet++;
    if (!armed || quiet < quietIntervals) return;
    const before = youngGenerationBytes();
    if (before < minYoungBytes || attempts >= MAX_ATTEMPTS) {
      armed = false;
      attempts = 0;
      return;
    }
    const gc = collector();
    if (gc === null) return;
    const started = performance.now();
    collectKeepingCode(gc);
    const pauseMs = performance.now() - started;
    trims++;
    attempts++;
    const after = youngGenerationBytes();
    opts.onTrim?.(before, after, pauseMs);
    // V8 kept it (allocations too recent for its heuristic): the next quiet interval tries again.
    if (after < minYoungBytes) {
      armed = false;
      attempts = 0;
    }
  }, intervalMs);
  timer.unref();
  return {
    get trims() {
      return trims;
    },
    stop: () => clearInterval(timer),
  };
}
