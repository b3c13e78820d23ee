/**
 * closest returns the candidate nearest to `name` for "did you mean …?" messages, or null when
 * none is close enough to be a plausible typo. Comparison is case-insensitive and counts an
 * adjacent transposition as one edit (optimal string alignment distance), so `adress` → `address`
 * and `Hots` → `Host` are found while unrelated words are not suggested.
 */
export function closest(name: string, candidates: Iterable<string>): string | null {
  const wanted = name.toLowerCase();
  if (wanted === '') return null;
  // A typo of a short word is at most one edit; longer words tolerate about one edit per three letters.
  const limit = Math.max(1, Math.min(3, Math.floor(wanted.length / 3)));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    if (lower === wanted) return candidate;
    const d = editDistance(wanted, lower, Math.min(limit, bestDistance - 1));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : null;
}

/** didYouMean formats the suffix of an "unknown option" message: ` (did you mean address?)` or ''. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closest(name, candidates);
  return c === null ? '' : ` (did you mean ${c}?)`;
}

/**
 * editDistance is the optimal string alignment distance between a and b; it returns max + 1 as
 * soon as the distance is known to exceed max, so long unrelated candidates cost little.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prevPrev: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prevPrev[j - 2]! + 1);
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length]!;
}
