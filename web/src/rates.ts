/**
 * Rates: the dashboard polls cumulative counters (/api/stats) and turns consecutive samples into
 * requests/s and errors/s per router, keeping the last HISTORY points for the charts.
 */
import type { Stats } from './api.js';

export const HISTORY = 60;

export interface Point {
  rps: number;
  eps: number;
}

export class RateHistory {
  #last: Stats | null = null;
  readonly series = new Map<string, Point[]>();

  add(s: Stats): void {
    const prev = this.#last;
    this.#last = s;
    if (prev === null) return;
    const dt = Math.max(0.001, (s.time - prev.time) / 1000);
    const names = new Set([...Object.keys(s.routers), ...this.series.keys()]);
    for (const name of names) {
      const now = s.routers[name] ?? { requests: 0, errors: 0 };
      const was = prev.routers[name] ?? { requests: 0, errors: 0 };
      const list = this.series.get(name) ?? [];
      // A restarted Gantry resets its counters: never show a negative rate.
      list.push({ rps: Math.max(0, now.requests - was.requests) / dt, eps: Math.max(0, now.errors - was.errors) / dt });
      if (list.length > HISTORY) list.shift();
      this.series.set(name, list);
    }
  }

  latest(name: string): Point {
    return this.series.get(name)?.at(-1) ?? { rps: 0, eps: 0 };
  }
}
