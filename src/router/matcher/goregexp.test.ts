import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, GoRegexpError } from './goregexp.js';

describe('compileGoRegexp', () => {
  const cases: Array<{ desc: string; re: string; yes?: string[]; no?: string[] }> = [
    { desc: 'dot does not match newline but matches \\r', re: '^a.b$', yes: ['axb', 'a\rb'], no: ['a\nb'] },
    { desc: 'flag s lets dot match newline', re: '(?s)^a.b$', yes: ['a\nb'] },
    { desc: 'flag i', re: '(?i)^abc$', yes: ['ABC', 'aBc'] },
    { desc: 'flag m anchors on \\n only', re: '(?m)^b$', yes: ['a\nb\nc'], no: ['a\rb\rc'] },
    { desc: 'without m, $ is the end of text', re: 'a$', yes: ['ba'], no: ['a\n'] },
    { desc: '\\A and \\z', re: '\\Aab\\z', yes: ['ab'], no: ['xab', 'abx'] },
    { desc: '\\s is ASCII only', re: '^\\s$', yes: [' ', '\t', '\n', '\f', '\r'], no: ['\v', '\u00a0'] },
    { desc: 'named group P syntax', re: '^(?P<sub>[a-z]+)\\.x$', yes: ['abc.x'], no: ['.x'] },
    { desc: 'named group angle syntax', re: '^(?<sub>[a-z]+)$', yes: ['abc'] },
    { desc: 'POSIX classes', re: '^[[:alpha:]][[:digit:]]+[[:^space:]]$', yes: ['a12x'], no: ['a12 '] },
    { desc: 'POSIX class mixed with ranges', re: '^[[:upper:]_0-9]+$', yes: ['AB_9'], no: ['ab'] },
    { desc: 'Unicode classes', re: '^\\pL\\p{Greek}\\PN$', yes: ['aαb'], no: ['aα1'] },
    { desc: 'negated Unicode class with ^', re: '^\\p{^Greek}$', yes: ['a'], no: ['α'] },
    { desc: 'literal brace when not a repetition', re: '^a{x}$', yes: ['a{x}'] },
    { desc: 'repetition', re: '^a{2,3}$', yes: ['aa', 'aaa'], no: ['a', 'aaaa'] },
    { desc: '\\Q...\\E quoting', re: '^\\Q.*+\\E$', yes: ['.*+'], no: ['abc'] },
    { desc: 'escaped punctuation', re: '^\\-\\#\\:\\/$', yes: ['-#:/'] },
    { desc: 'octal and hex escapes', re: '^\\101\\x42\\x{43}$', yes: ['ABC'] },
    { desc: 'class with leading ]', re: '^[]a]+$', yes: [']a]'], no: ['b'] },
    { desc: 'class with trailing -', re: '^[a-]+$', yes: ['a-a'], no: ['b'] },
    { desc: 'class escapes', re: '^[\\d\\s.]+$', yes: ['1 .2'], no: ['a'] },
    { desc: 'non-capturing flag group with the leading flags', re: '(?i)(?i:ab)c', yes: ['ABC'] },
    { desc: 'unanchored by default', re: 'b', yes: ['abc'] },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const re = compileGoRegexp(c.re);
      for (const s of c.yes ?? []) assert.ok(re.test(s), `${c.re} should match ${JSON.stringify(s)}`);
      for (const s of c.no ?? []) assert.ok(!re.test(s), `${c.re} should not match ${JSON.stringify(s)}`);
    });
  }

  const errors: Array<{ desc: string; re: string; message: RegExp }> = [
    { desc: 'lookahead', re: 'a(?=b)', message: /lookaround/ },
    { desc: 'lookbehind', re: '(?<!a)b', message: /lookaround/ },
    { desc: 'backreference', re: '(a)\\1', message: /backreferences/ },
    { desc: 'unbalanced (', re: '(a', message: /missing closing \)/ },
    { desc: 'unbalanced )', re: 'a)', message: /unexpected \)/ },
    { desc: 'missing ]', re: '[a', message: /missing closing \]/ },
    { desc: 'bad range', re: '[z-a]', message: /invalid character class range/ },
    { desc: 'repeat count too large', re: 'a{1001}', message: /invalid repeat count/ },
    { desc: 'ungreedy flag', re: '(?U)a+', message: /flag U/ },
    { desc: 'mid-pattern flags', re: 'a(?i)b', message: /only supported at the start/ },
    { desc: 'flag group changing flags', re: 'a(?i:b)', message: /changes flags mid-pattern/ },
    { desc: 'unknown escape', re: '\\y', message: /invalid escape/ },
    { desc: '\\Z is not RE2', re: 'a\\Z', message: /invalid escape/ },
    { desc: 'nothing to repeat', re: '*a', message: /invalid regexp/ },
    { desc: 'trailing backslash', re: 'a\\', message: /trailing backslash/ },
  ];
  for (const e of errors) {
    it(`rejects ${e.desc}`, () => assert.throws(() => compileGoRegexp(e.re), (err: unknown) => err instanceof GoRegexpError && e.message.test(err.message)));
  }
});
