/** Sparkline draws request rate (blue) and error rate (red) as a small SVG chart. */
import type { Point } from './rates.js';
import { HISTORY } from './rates.js';

export function Sparkline({ points: given, width = 160, height = 28 }: { points: Point[]; width?: number; height?: number }) {
  // A router seen for the first time has one point: start its line from zero.
  const points = given.length === 1 ? [{ rps: 0, eps: 0 }, given[0]!] : given;
  const max = Math.max(1, ...points.map((p) => p.rps));
  const x = (i: number) => (width * (i + HISTORY - points.length)) / (HISTORY - 1);
  const y = (v: number) => height - 2 - ((height - 4) * v) / max;
  const line = (f: (p: Point) => number) => points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(f(p)).toFixed(1)}`).join('');
  return (
    <svg class="chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="request and error rate">
      <line x1="0" y1={height - 1} x2={width} y2={height - 1} stroke="#e3e6ec" />
      {points.length > 1 && <path d={line((p) => p.rps)} fill="none" stroke="#2f6feb" stroke-width="1.5" />}
      {points.length > 1 && <path d={line((p) => p.eps)} fill="none" stroke="#c62828" stroke-width="1.5" />}
    </svg>
  );
}
