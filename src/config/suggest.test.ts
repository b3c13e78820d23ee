import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, editDistance } from './suggest.js';

test('closest', () => {
  const cases: { desc: string; name: string; candidates: string[]; want: string | null }[] = [
    { desc: 'missing letter', name: 'adress', candidates: ['address', 'http', 'transport'], want: 'address' },
    { desc: 'transposition counts as one edit', name: 'Hots', candidates: ['Host', 'Path', 'Method'], want: 'Host' },
    { desc: 'case-insensitive exact match', name: 'entrypoints', candidates: ['api', 'entryPoints'], want: 'entryPoints' },
    { desc: 'one letter off in a long word', name: 'stripPrefx', candidates: ['stripPrefix', 'stripPrefixRegex', 'addPrefix'], want: 'stripPrefix' },
    { desc: 'nothing close', name: 'banana', candidates: ['address', 'http'], want: null },
    { desc: 'short words tolerate one edit only', name: 'ab', candidates: ['xy'], want: null },
    { desc: 'no candidates', name: 'x', candidates: [], want: null },
    { desc: 'best of several', name: 'dockr', candidates: ['docker', 'dock', 'swarm'], want: 'docker' },
  ];
  for (const c of cases) assert.equal(closest(c.name, c.candidates), c.want, c.desc);
});

test('editDistance', () => {
  const cases: { desc: string; a: string; b: string; want: number }[] = [
    { desc: 'equal', a: 'abc', b: 'abc', want: 0 },
    { desc: 'insert', a: 'abc', b: 'abxc', want: 1 },
    { desc: 'swap', a: 'abcd', b: 'abdc', want: 1 },
    { desc: 'empty', a: '', b: 'abc', want: 3 },
  ];
  for (const c of cases) assert.equal(editDistance(c.a, c.b), c.want, c.desc);
});
