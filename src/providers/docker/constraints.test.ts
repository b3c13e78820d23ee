import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { compileConstraints, compileTagConstraints } from './constraints.js';

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

describe('constraints over Consul tags: Tag, TagRegex', () => {
  const tags = ['gantry.enable=true', 'env=prod', 'team-web'];
  const cases = [
    { desc: 'Tag matches a whole tag', expr: 'Tag(`env=prod`)', want: true },
    { desc: 'Tag does not match part of one', expr: 'Tag(`env`)', want: false },
    { desc: 'TagRegex matches within a tag, as Traefik\'s', expr: 'TagRegex(`^team-`)', want: true },
    { desc: 'combined with ! and &&', expr: 'Tag(`env=prod`) && !TagRegex(`dev`)', want: true },
    { desc: 'combined with ||', expr: 'Tag(`x`) || Tag(`y`)', want: false },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(compileTagConstraints(c.expr)(tags), c.want));
  it('the label functions are not tag functions (and the reverse)', () => {
    assert.throws(() => compileTagConstraints('Label(`a`, `b`)'), /unknown function "Label" \(use Tag or TagRegex\) at 1/);
    assert.throws(() => compileConstraints('Tag(`a`)'), /unknown function "Tag" \(use Label or LabelRegex\) at 1/);
  });
});
