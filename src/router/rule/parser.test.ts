import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSyntaxError } from '../../errors.js';
import { formatRule, parseRule, type RuleNode } from './parser.js';

function errorOf(rule: string, kind: 'http' | 'tcp' = 'http'): RuleSyntaxError {
  try {
    parseRule(rule, kind);
  } catch (err) {
    assert.ok(err instanceof RuleSyntaxError, `expected RuleSyntaxError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${rule} to fail`);
}

describe('parseRule errors', () => {
  const cases: Array<{ desc: string; rule: string; kind?: 'http' | 'tcp'; position: number; message: RegExp }> = [
    { desc: 'empty rule', rule: '', position: 1, message: /^empty rule at 1$/ },
    { desc: 'blank rule', rule: '   ', position: 1, message: /empty rule/ },
    { desc: 'unknown matcher with suggestion', rule: 'Hots(`a.com`)', position: 1, message: /^unknown matcher "Hots" \(did you mean "Host"\?\) at 1$/ },
    { desc: 'unknown matcher later in the rule', rule: 'Host(`a`) && PathPrefx(`/`)', position: 14, message: /unknown matcher "PathPrefx" \(did you mean "PathPrefix"\?\)/ },
    { desc: 'wrong case spelling', rule: 'hOST(`a`)', position: 1, message: /unknown matcher "hOST" \(did you mean "Host"\? matcher names are case-sensitive\)/ },
    { desc: 'TCP matcher in an HTTP rule', rule: 'HostSNI(`a`)', position: 1, message: /HostSNI is a TCP matcher/ },
    { desc: 'HTTP matcher in a TCP rule', rule: 'Host(`a`)', kind: 'tcp', position: 1, message: /unknown matcher "Host".*HTTP matcher/ },
    { desc: 'v2 matcher Headers is gone in v3', rule: 'Headers(`X`, `v`)', position: 1, message: /unknown matcher "Headers" \(did you mean "Header"\?\)/ },
    { desc: 'too few arguments', rule: 'Header(`X`)', position: 1, message: /^Header takes 2 arguments, got 1 at 1$/ },
    { desc: 'too many arguments', rule: 'Host(`a`, `b`)', position: 1, message: /^Host takes 1 argument, got 2/ },
    { desc: 'no arguments', rule: 'Path()', position: 1, message: /Path takes 1 argument, got 0/ },
    { desc: 'Query arity', rule: 'Query(`a`, `b`, `c`)', position: 1, message: /Query takes 1 or 2 arguments, got 3/ },
    { desc: 'empty argument', rule: 'Host(`a`) && Path(``)', position: 19, message: /Path: argument 1 is empty/ },
    { desc: 'empty second argument', rule: 'Header(`X`, "")', position: 13, message: /Header: argument 2 is empty/ },
    { desc: 'unterminated backtick string', rule: 'Host(`a.com)', position: 6, message: /unterminated string/ },
    { desc: 'unterminated double-quoted string', rule: 'Host("a.com)', position: 6, message: /unterminated string/ },
    { desc: 'single quotes', rule: "Host('a')", position: 6, message: /single-quoted strings are not allowed/ },
    { desc: 'unquoted argument', rule: 'Host(tchouk)', position: 6, message: /unexpected "tchouk": expected a string argument/ },
    { desc: 'number argument', rule: 'Host(1)', position: 6, message: /matcher arguments must be strings/ },
    { desc: 'single ampersand', rule: 'Host(`a`) & Path(`/`)', position: 11, message: /did you mean "&&"/ },
    { desc: 'single pipe', rule: 'Host(`a`) | Path(`/`)', position: 11, message: /did you mean "\|\|"/ },
    { desc: 'missing operator', rule: 'Host(`a`) Path(`/`)', position: 11, message: /unexpected "Path": expected "&&", "\|\|" or the end of the rule/ },
    { desc: 'dangling operator', rule: 'Host(`a`) &&', position: 13, message: /unexpected end of rule/ },
    { desc: 'unclosed parenthesis', rule: '(Host(`a`)', position: 11, message: /expected "\)" to close the "\(" at 1/ },
    { desc: 'extra closing parenthesis', rule: 'Host(`a`))', position: 10, message: /unexpected "\)"/ },
    { desc: 'bare identifier', rule: 'rulewithnotmatcher', position: 19, message: /expected "\(" after rulewithnotmatcher/ },
    { desc: 'bare string', rule: '`a.com`', position: 1, message: /unexpected string/ },
    { desc: 'missing comma', rule: 'Header(`X` `v`)', position: 12, message: /expected "," or "\)"/ },
    { desc: 'invalid escape', rule: 'Host("a\\qb")', position: 8, message: /unknown escape sequence/ },
    { desc: 'comparison operator', rule: 'Host(`a`) != Path(`/`)', position: 11, message: /unexpected "!="/ },
    { desc: 'unexpected character', rule: 'Host(`a`) + Path(`/`)', position: 11, message: /unexpected character "\+"/ },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const err = errorOf(c.rule, c.kind);
      assert.equal(err.position, c.position, err.message);
      assert.match(err.message, c.message);
      assert.equal(err.code, 'GANTRY_ERR_RULE');
    });
  }
});

describe('parseRule trees', () => {
  const cases: Array<{ desc: string; rule: string; kind?: 'http' | 'tcp'; expected: string }> = [
    { desc: '&& binds tighter than ||', rule: 'Host(`a`) || Host(`b`) && Path(`/p`)', expected: 'Host(`a`) || Host(`b`) && Path(`/p`)' },
    { desc: 'parentheses override precedence', rule: '(Host(`a`) || Host(`b`)) && Path(`/p`)', expected: '(Host(`a`) || Host(`b`)) && Path(`/p`)' },
    { desc: 'not binds tightest', rule: '!Host(`a`) && Path(`/p`)', expected: '!Host(`a`) && Path(`/p`)' },
    { desc: 'not of a group', rule: '!(Host(`a`) && Path(`/p`))', expected: '!(Host(`a`) && Path(`/p`))' },
    { desc: 'double not', rule: '!!Host(`a`)', expected: '!!Host(`a`)' },
    { desc: 'lower-case names', rule: 'host(`a`) && pathprefix(`/`)', expected: 'Host(`a`) && PathPrefix(`/`)' },
    { desc: 'upper-case names', rule: 'HOST(`a`) && PATHPREFIX(`/`)', expected: 'Host(`a`) && PathPrefix(`/`)' },
    { desc: 'title-case names', rule: 'Pathprefix(`/`) && Hostregexp(`x`)', expected: 'PathPrefix(`/`) && HostRegexp(`x`)' },
    { desc: 'double-quoted strings with escapes', rule: 'Header("X-A", "a\\"b\\tc\\u00e9")', expected: 'Header(`X-A`, `a"b\tcé`)' },
    { desc: 'newlines and tabs between tokens', rule: 'Host(`a`)\n\t&&\r\nPath(`/`)', expected: 'Host(`a`) && Path(`/`)' },
    { desc: 'trailing comma in arguments (Go allows it)', rule: 'Header(`X`, `v`,)', expected: 'Header(`X`, `v`)' },
    { desc: 'TCP rule', rule: 'HostSNI(`a`) && ALPN(`h2`)', kind: 'tcp', expected: 'HostSNI(`a`) && ALPN(`h2`)' },
    { desc: 'TCP case variants', rule: 'hostsni(`a`) || Hostsniregexp(`b`) || CLIENTIP(`1.2.3.4`)', kind: 'tcp', expected: 'HostSNI(`a`) || HostSNIRegexp(`b`) || ClientIP(`1.2.3.4`)' },
  ];
  for (const c of cases) {
    it(c.desc, () => assert.equal(formatRule(parseRule(c.rule, c.kind ?? 'http')), c.expected));
  }

  it('binary operators are left-associative and carry positions', () => {
    const t = parseRule('Host(`a`) || Host(`b`) || Host(`c`)', 'http');
    assert.equal(t.kind, 'or');
    const or = t as Extract<RuleNode, { kind: 'or' }>;
    assert.equal(or.left.kind, 'or');
    assert.equal(or.position, 24);
    assert.deepEqual(or.right, { kind: 'matcher', name: 'Host', args: ['c'], position: 27, argPositions: [32] });
  });

  it('raw strings keep backslashes and drop carriage returns', () => {
    const t = parseRule('PathRegexp(`^/a\\.b\r$`)', 'http');
    assert.deepEqual(t.kind === 'matcher' && t.args, ['^/a\\.b$']);
  });
});
