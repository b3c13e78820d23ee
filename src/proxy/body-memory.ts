/**
 * Keeping memory flat while bodies stream through.
 *
 * A socket read lands in a fresh Buffer that dies as soon as it has been written on (the fast
 * lane's upstream reads are the exception: they reuse their connection's buffer, and count here
 * only the bytes a queued write keeps, see upstreams/h1/pool.ts). V8 gives
 * that memory back only when it collects, and it starts a collection for memory held outside its
 * heap only after about 64 MiB of it has piled up — so a proxy relaying one large body grew by
 * ~60 MiB (measured here: a 1 GB upload, +61–69 MiB peak RSS on Node 24). Collecting the young
 * generation after every MiB of relayed body bytes frees those Buffers while they are still young:
 * the same 1 GB upload or download then grows the process by 1–3 MiB, and it costs less CPU than
 * the full collections it replaces (1.2–1.9 s of CPU per GB instead of 2.4–2.8 s).
 *
 * Under many concurrent mid-sized bodies (64 KiB at ~10k requests/s) one collection per MiB meant
 * ~600 forced scavenges a second: 17 % of the CPU, and in-flight objects promoted early, which
 * later cost 14–29 ms old-generation pauses — the p99 tail. So a forced collection also waits
 * until MIN_COLLECTION_INTERVAL_MS has passed since the last one, unless the relayed bytes reach
 * BODY_BYTES_FORCE_COLLECTION (4 MiB) — fewer, larger collections (64 KiB bodies: p99 from ~4× nginx's
 * to 1.2–1.8× in the same runs) while a 1 GB body still grows the process by 1–3.5 MiB.
 *
 * The collector comes from gc.ts; if this Node build does not offer one, relaying works as before.
 */
import { collector, type GcFunction } from '../gc.js';

/** Relayed body bytes after which a young-generation collection is due. */
export const BODY_BYTES_PER_COLLECTION = 1 << 20;
/** Relayed body bytes after which the collection runs however recent the last one was. */
export const BODY_BYTES_FORCE_COLLECTION = 4 << 20;
/** Least time between two forced collections while under BODY_BYTES_FORCE_COLLECTION. */
export const MIN_COLLECTION_INTERVAL_MS = 10;

let gc: GcFunction | null | undefined;
const minor = { type: 'minor' } as const;
let relayed = 0;
let lastCollection = 0;

/** bodyBytesRelayed counts body bytes passed on (either direction, any path). */
export function bodyBytesRelayed(n: number): void {
  relayed += n;
  if (relayed < BODY_BYTES_PER_COLLECTION) return;
  const now = performance.now();
  if (relayed < BODY_BYTES_FORCE_COLLECTION && now - lastCollection < MIN_COLLECTION_INTERVAL_MS) return;
  relayed = 0;
  lastCollection = now;
  if (gc === undefined) gc = collector();
  if (gc !== null) gc(minor);
}
