/**
 * RollingMetrics keeps the last WINDOW seconds of responses in one-second buckets, as oxy's
 * RTMetrics does for Traefik's circuit breaker: totals, network errors (502 and 504, how the
 * forwarder reports a failed connection or timeout), counts per status code and a latency
 * histogram. Memory is fixed: WINDOW buckets of typed arrays.
 */
import type { MetricsView } from './expression.js';

export const WINDOW = 10;
const BUCKET_MS = 1000;
/** Latency bins grow by 5% from 1 ms, up to about 40 minutes; bin 0 holds everything under 1 ms. */
const GROWTH = Math.log(1.05);
const BINS = 300;

function binOf(ms: number): number {
  if (ms < 1) return 0;
  const b = 1 + Math.floor(Math.log(ms) / GROWTH);
  return b >= BINS ? BINS - 1 : b;
}

/** Upper bound of a latency bin in ms. */
function binTop(bin: number): number {
  return bin === 0 ? 1 : Math.exp(bin * GROWTH);
}

class Bucket {
  second = -1;
  total = 0;
  netErrors = 0;
  readonly codes = new Uint32Array(600);
  readonly latency = new Uint32Array(BINS);

  reset(second: number): void {
    this.second = second;
    this.total = 0;
    this.netErrors = 0;
    this.codes.fill(0);
    this.latency.fill(0);
  }
}

export class RollingMetrics implements MetricsView {
  readonly #buckets: Bucket[] = [];
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
    for (let i = 0; i < WINDOW; i++) this.#buckets.push(new Bucket());
  }

  record(status: number, latencyMs: number): void {
    const second = Math.floor(this.#now() / BUCKET_MS);
    const b = this.#buckets[second % WINDOW]!;
    if (b.second !== second) b.reset(second);
    b.total++;
    if (status === 502 || status === 504) b.netErrors++;
    if (status >= 0 && status < 600) b.codes[status]!++;
    b.latency[binOf(latencyMs)]!++;
  }

  /** reset forgets everything; the breaker does so when it trips, so that recovery is judged on fresh responses. */
  reset(): void {
    for (const b of this.#buckets) b.reset(-1);
  }

  #live(): Bucket[] {
    const now = Math.floor(this.#now() / BUCKET_MS);
    const out: Bucket[] = [];
    for (const b of this.#buckets) if (b.second >= 0 && now - b.second < WINDOW) out.push(b);
    return out;
  }

  total(): number {
    let n = 0;
    for (const b of this.#live()) n += b.total;
    return n;
  }

  networkErrorRatio(): number {
    let total = 0;
    let errors = 0;
    for (const b of this.#live()) {
      total += b.total;
      errors += b.netErrors;
    }
    return total === 0 ? 0 : errors / total;
  }

  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number {
    let a = 0;
    let d = 0;
    for (const b of this.#live()) {
      for (let c = Math.max(0, from); c < to && c < 600; c++) a += b.codes[c]!;
      for (let c = Math.max(0, dividedByFrom); c < dividedByTo && c < 600; c++) d += b.codes[c]!;
    }
    return d === 0 ? 0 : a / d;
  }

  latencyAtQuantileMS(quantile: number): number {
    const live = this.#live();
    let total = 0;
    for (const b of live) total += b.total;
    if (total === 0) return 0;
    const want = Math.ceil((quantile / 100) * total);
    let seen = 0;
    for (let bin = 0; bin < BINS; bin++) {
      for (const b of live) seen += b.latency[bin]!;
      if (seen >= want) return binTop(bin);
    }
    return binTop(BINS - 1);
  }
}
