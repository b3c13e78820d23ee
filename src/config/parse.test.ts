import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../errors.js';
import { configFormat, parseConfigText } from './parse.js';

test('parseConfigText parses YAML and TOML', () => {
  const cases: { desc: string; file: string; text: string; want: unknown }[] = [
    { desc: 'yaml', file: 'a.yaml', text: 'http:\n  routers:\n    a: { rule: "Host(`x`)", service: s }\n', want: { http: { routers: { a: { rule: 'Host(`x`)', service: 's' } } } } },
    { desc: 'yml extension', file: 'a.yml', text: 'a: [1, 2]\n', want: { a: [1, 2] } },
    { desc: 'unknown extension is YAML', file: 'config', text: 'a: :80\n', want: { a: ':80' } },
    { desc: 'toml', file: 'a.toml', text: '[entryPoints.web]\naddress = ":80"\n', want: { entryPoints: { web: { address: ':80' } } } },
    { desc: 'empty yaml is an empty object', file: 'a.yaml', text: '', want: {} },
    { desc: 'comment-only yaml', file: 'a.yaml', text: '# nothing\n', want: {} },
  ];
  for (const c of cases) assert.deepEqual(parseConfigText(c.text, c.file), c.want, c.desc);
});

test('parseConfigText reports line and column', () => {
  const cases: { desc: string; file: string; text: string; line: number; column: number; match: RegExp }[] = [
    { desc: 'yaml duplicate key', file: 'd.yaml', text: 'a: 1\nb:\n  c: 2\n  c: 3\n', line: 4, column: 3, match: /unique: "c" is defined twice/ },
    { desc: 'yaml duplicate key in a flow map', file: 'd.yaml', text: 'r:\n  a: { rule: x, service: s, rule: y }\n', line: 2, column: 29, match: /"rule" is defined twice/ },
    { desc: 'yaml duplicate key spelled as a number and a string', file: 'd.yaml', text: 'm:\n  1: a\n  "1": b\n', line: 3, column: 3, match: /"1" is defined twice/ },
    { desc: 'yaml duplicate top-level key after nested maps', file: 'd.yaml', text: 'http:\n  routers: {}\ntcp: {}\nhttp: {}\n', line: 4, column: 1, match: /"http" is defined twice/ },
    { desc: 'yaml bad indentation', file: 'd.yaml', text: 'a:\n  b: 1\n c: 2\n', line: 3, column: 1, match: /./ },
    { desc: 'yaml unclosed quote', file: 'd.yml', text: 'a: 1\nb: "x\n', line: 3, column: 1, match: /./ },
    { desc: 'toml bad value', file: 'd.toml', text: 'a = 1\nb = [\n', line: 3, column: 1, match: /./ },
    { desc: 'toml duplicate key', file: 'd.toml', text: 'a = 1\na = 2\n', line: 2, column: 1, match: /./ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseConfigText(c.text, c.file),
      (e: unknown) => {
        assert.ok(e instanceof ParseError, c.desc);
        assert.equal(e.file, c.file, c.desc);
        assert.equal(e.line, c.line, `${c.desc}: line (${e.message})`);
        assert.equal(e.column, c.column, `${c.desc}: column (${e.message})`);
        assert.match(e.message, c.match, c.desc);
        assert.ok(e.message.startsWith(`${c.file}:${c.line}:${c.column}: `), c.desc);
        assert.ok(!e.message.includes('\n'), `${c.desc}: one line`);
        return true;
      },
    );
  }
});

test('configFormat', () => {
  assert.equal(configFormat('x.TOML'), 'toml');
  assert.equal(configFormat('x.yaml'), 'yaml');
});
