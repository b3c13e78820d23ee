import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleMemo, rotateRuleMemos } from './memo.js';
import { parseRule } from './parser.js';
import { compileHttpRule, compileTcpRule } from '../index.js';
import { RuleSyntaxError } from '../../errors.js';

test('RuleMemo makes each rule once, keeps what the last two generations used, and drops the rest', () => {
  const made: string[] = [];
  const memo = new RuleMemo((rule) => {
    made.push(rule);
    return { rule };
  });
  const a = memo.get('A');
  assert.equal(memo.get('A'), a, 'the same object again');
  memo.get('B');
  assert.deepEqual(made, ['A', 'B']);
  memo.rotate();
  assert.equal(memo.get('A'), a, 'A, used in the generation before, is kept (and moves to the current one)');
  memo.rotate();
  assert.equal(memo.get('A'), a, 'A was used in the last generation');
  memo.get('B');
  assert.deepEqual(made, ['A', 'B', 'B'], 'B, unused for a whole generation, was dropped and is made again');
});

test('RuleMemo does not remember a failure, and a full generation rotates by itself', () => {
  let calls = 0;
  const memo = new RuleMemo((rule) => {
    calls++;
    if (rule === 'bad') throw new Error('bad rule');
    return rule.length;
  }, 3);
  assert.throws(() => memo.get('bad'), /bad rule/);
  assert.throws(() => memo.get('bad'), /bad rule/);
  assert.equal(calls, 2);
  for (const r of ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'g']) memo.get(r);
  assert.ok(memo.size <= 6, `at most two generations of 3 (got ${memo.size})`);
});

test('parsed and compiled rules are shared between callers and across rotations, and errors still throw each time', () => {
  const rule = 'Host(`memo.example`) && PathPrefix(`/m`)';
  const tree = parseRule(rule, 'http');
  assert.equal(parseRule(rule, 'http'), tree);
  const compiled = compileHttpRule(rule);
  assert.equal(compileHttpRule(rule), compiled);
  assert.equal(compiled.tree, tree, 'compiling reuses the parsed tree');
  rotateRuleMemos();
  assert.equal(compileHttpRule(rule), compiled, 'kept over one rotation');
  parseRule('HostSNI(`memo.example`)', 'tcp');
  assert.throws(() => parseRule('HostSNI(`memo.example`)', 'http'), /unknown matcher/, 'a TCP rule parsed before is still refused as HTTP: kinds are memoized apart');
  assert.equal(compileTcpRule('HostSNI(`memo.example`)'), compileTcpRule('HostSNI(`memo.example`)'));
  for (let i = 0; i < 2; i++) assert.throws(() => compileHttpRule('Host(`a`'), RuleSyntaxError);
  assert.throws(() => compileHttpRule('Path(`no-slash`)'), /does not start with a '\/'/);
  assert.throws(() => compileHttpRule('Path(`no-slash`)'), /does not start with a '\/'/);
});
