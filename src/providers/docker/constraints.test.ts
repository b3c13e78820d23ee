import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { compileConstraints } from './constraints.js';

describe('constraints: LabelRegex', () => {
  const cases: Array<{ desc: string; expr: string; labels: Record<string, string>; want: boolean }> = [
    { desc: 'the whole value must match', expr: 'LabelRegex(`team`, `front`)', labels: { team: 'frontend' }, want: false },
    { desc: 'alternation is grouped before anchoring', expr: 'LabelRegex(`team`, `a|front.*`)', labels: { team: 'frontend' }, want: true },
    { desc: 'Go syntax: (?i) and \\pL', expr: 'LabelRegex(`team`, `(?i)FRONT\\pL+`)', labels: { team: 'frontend' }, want: true },
    { desc: 'a missing label never matches', expr: 'LabelRegex(`team`, `.*`)', labels: {}, want: false },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(compileConstraints(c.expr)(c.labels), c.want));

  it('refuses a pattern Go refuses, naming the position', () => {
    assert.throws(() => compileConstraints('LabelRegex(`team`, `(?=x)`)'), /^Error|constraints: bad regular expression: .*lookahead.* at 1$/);
  });

  it('matches a pathological label value quickly (labels are written by whoever starts a container)', { timeout: 20_000 }, () => {
    const pred = compileConstraints('LabelRegex(`team`, `(a+)+`)');
    const t0 = performance.now();
    assert.equal(pred({ team: 'a'.repeat(10_000) + '!' }), false);
    const ms = performance.now() - t0;
    // Measured here: 1–5 ms (a backtracking engine: hours).
    assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
  });
});
