/**
 * Keeping memory flat while bodies stream through.
 *
 * Every socket read lands in a fresh Buffer that dies as soon as it has been written on. V8 gives
 * that memory back only when it collects, and it starts a collection for memory held outside its
 * heap only after about 64 MiB of it has piled up — so a proxy relaying one large body grew by
 * ~60 MiB (measured here: a 1 GB upload, +61–69 MiB peak RSS on Node 24). Collecting the young
 * generation after every MiB of relayed body bytes frees those Buffers while they are still young:
 * the same 1 GB upload or download then grows the process by 1–3 MiB, and it costs less CPU than
 * the full collections it replaces (1.2–1.9 s of CPU per GB instead of 2.4–2.8 s).
 *
 * `--expose-gc` is switched on from here so that Gantry needs no Node flag to run; if this Node
 * build does not honour it, relaying works as before.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Relayed body bytes between two young-generation collections. */
export const BODY_BYTES_PER_COLLECTION = 1 << 20;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

function exposeGc(): GcFunction | null {
  v8.setFlagsFromString('--expose-gc');
  const fn: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
  return typeof fn === 'function' ? (fn as GcFunction) : null;
}

const gc = exposeGc();
const minor = { type: 'minor' } as const;
let relayed = 0;

/** bodyBytesRelayed counts body bytes passed on (either direction, any path). */
export function bodyBytesRelayed(n: number): void {
  relayed += n;
  if (relayed < BODY_BYTES_PER_COLLECTION) return;
  relayed = 0;
  if (gc !== null) gc(minor);
}
