import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleMemo, rotateRuleMemos, sweepRuleMemos } from './memo.js';
import { parseRule } from './parser.js';
import { compileHttpRule, compileTcpRule } from '../index.js';
import { RuleSyntaxError } from '../../errors.js';

test('RuleMemo makes each rule once, keeps what the last generation used, and drops the rest', () => {
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
  memo.rotate();
  memo.get('A');
  memo.sweep();
  assert.equal(memo.size, 1, 'a sweep drops B, which this generation did not use');
  assert.equal(memo.get('A'), a);
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

test('compiled rules are shared between callers and across an apply, and errors still throw each time', () => {
  const rule = 'Host(`memo.example`) && PathPrefix(`/m`)';
  const compiled = compileHttpRule(rule);
  assert.equal(compileHttpRule(rule), compiled);
  assert.deepEqual(compiled.tree, parseRule(rule, 'http'));
  rotateRuleMemos();
  assert.equal(compileHttpRule(rule), compiled, 'kept when the next apply meets it again');
  sweepRuleMemos();
  rotateRuleMemos();
  sweepRuleMemos();
  assert.notEqual(compileHttpRule(rule), compiled, 'dropped after an apply that did not meet it');
  const tcp = compileTcpRule('HostSNI(`memo.example`)');
  assert.equal(compileTcpRule('HostSNI(`memo.example`)'), tcp);
  assert.throws(() => compileHttpRule('HostSNI(`memo.example`)'), /unknown matcher/, 'a TCP rule compiled before is still refused as HTTP: kinds are memoized apart');
  for (let i = 0; i < 2; i++) assert.throws(() => compileHttpRule('Host(`a`'), RuleSyntaxError);
  assert.throws(() => compileHttpRule('Path(`no-slash`)'), /does not start with a '\/'/);
  assert.throws(() => compileHttpRule('Path(`no-slash`)'), /does not start with a '\/'/);
});
