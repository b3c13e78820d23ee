/**
 * collector returns V8's `gc` function, or null when this Node build does not offer it.
 *
 * `--expose-gc` is switched on from here so that Gantry needs no Node flag to run. The function
 * is made on first use: it costs a vm context, which a process that never collects should not
 * carry. Two callers: body-memory.ts (young collections while bodies stream) and idle-trim.ts.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * V8's gc extension options. `flavor: 'last-resort'` is V8's collect-all-available-garbage: repeated
 * full collections that also reduce the footprint (they hand pooled pages back to the system).
 */
export type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

let gc: GcFunction | null | undefined;

export function collector(): GcFunction | null {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
    gc = typeof fn === 'function' ? (fn as GcFunction) : null;
  }
  return gc;
}
