import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NdjsonParser } from './ndjson.js';
import { compileConstraints } from './constraints.js';

test('NdjsonParser: objects split across chunks and inside a UTF-8 character', () => {
  const text = '{"a":1}\n{"name":"caf\u00e9 \u{1F433}"}\n{"b":' + '2}\n';
  const bytes = Buffer.from(text);
  // Every split point, including the middle of the multi-byte characters.
  for (let cut = 1; cut < bytes.length; cut++) {
    const p = new NdjsonParser();
    const got = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut)), ...p.end()];
    assert.deepEqual(got, [{ a: 1 }, { name: 'caf\u00e9 \u{1F433}' }, { b: 2 }], `cut at ${cut}`);
  }
});

test('NdjsonParser: a bad line is reported and skipped; a last line without newline is kept', () => {
  const bad: string[] = [];
  const p = new NdjsonParser((l) => bad.push(l));
  assert.deepEqual(p.push('{"a":1}\nnot json\r\n\n{"b"'), [{ a: 1 }]);
  assert.deepEqual(p.push(':2}'), []);
  assert.deepEqual(p.end(), [{ b: 2 }]);
  assert.deepEqual(bad, ['not json']);
});

const constraintCases: { desc: string; expr: string; labels: Record<string, string>; want: boolean }[] = [
  { desc: 'Label', expr: 'Label(`env`, `prod`)', labels: { env: 'prod' }, want: true },
  { desc: 'Label mismatch', expr: 'Label(`env`, `prod`)', labels: { env: 'dev' }, want: false },
  { desc: 'not', expr: '!Label(`env`, `prod`)', labels: {}, want: true },
  { desc: 'and/or precedence', expr: 'Label(`a`,`1`) || Label(`b`,`1`) && Label(`c`,`1`)', labels: { a: '1' }, want: true },
  { desc: 'parentheses', expr: '(Label(`a`,`1`) || Label(`b`,`1`)) && Label(`c`,`1`)', labels: { a: '1' }, want: false },
  { desc: 'LabelRegex', expr: 'LabelRegex(`team`, `front.*`)', labels: { team: 'frontend' }, want: true },
  { desc: 'empty', expr: '', labels: {}, want: true },
];
for (const c of constraintCases) {
  test(`constraints: ${c.desc}`, () => assert.equal(compileConstraints(c.expr)(c.labels), c.want));
}

test('constraints: syntax errors name the position', () => {
  assert.throws(() => compileConstraints('Label(`a`, `b`) &&'), /expected "ident" at 19/);
  assert.throws(() => compileConstraints('Tag(`a`, `b`)'), /unknown function "Tag"/);
});
