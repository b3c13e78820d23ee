/**
 * Conformance suite of Gantry's Go regexps: what Go's regexp package does, case by case (syntax,
 * matching, errors, groups, ReplaceAllString and Expand), and the linear time that is the point.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { compileConfigRegexp, compileGoRegexp, GoRegexpError, literalPrefix, requiredLiteral } from './index.js';

describe('Go regexp matching (MatchString)', () => {
  const cases: Array<{ desc: string; re: string; yes?: string[]; no?: string[] }> = [
    { desc: 'dot does not match newline but matches \\r', re: '^a.b$', yes: ['axb', 'a\rb', 'a\u2028b'], no: ['a\nb'] },
    { desc: 'flag s lets dot match newline', re: '(?s)^a.b$', yes: ['a\nb'] },
    { desc: 'flag i', re: '(?i)^abc$', yes: ['ABC', 'aBc'] },
    { desc: 'flag i folds the Kelvin sign and long s as Go does', re: '(?i)^ks$', yes: ['\u212a\u017f', 'KS'] },
    { desc: 'flag m anchors on \\n only', re: '(?m)^b$', yes: ['a\nb\nc'], no: ['a\rb\rc'] },
    { desc: 'without m, $ is the end of text', re: 'a$', yes: ['ba'], no: ['a\n'] },
    { desc: '\\A and \\z', re: '\\Aab\\z', yes: ['ab'], no: ['xab', 'abx', 'ab\n'] },
    { desc: '\\A is the start of text even with m', re: '(?m)\\Ab', no: ['a\nb'] },
    { desc: '\\s is ASCII only', re: '^\\s$', yes: [' ', '\t', '\n', '\f', '\r'], no: ['\v', '\u00a0'] },
    { desc: '\\S in a class is the complement of ASCII \\s', re: '^[\\S]$', yes: ['\v', '\u00a0', 'x'], no: [' '] },
    { desc: '\\d and \\w are ASCII', re: '^\\d\\w$', yes: ['1a', '2_'], no: ['\u0663a', '1\u00e9'] },
    { desc: '\\b is an ASCII word boundary', re: '\\b\u00e9', no: ['x \u00e9'] },
    { desc: 'named group P syntax', re: '^(?P<sub>[a-z]+)\\.x$', yes: ['abc.x'], no: ['.x'] },
    { desc: 'named group angle syntax', re: '^(?<sub>[a-z]+)$', yes: ['abc'] },
    { desc: 'a group name may start with a digit', re: '^(?P<1a>x)$', yes: ['x'] },
    { desc: 'POSIX classes', re: '^[[:alpha:]][[:digit:]]+[[:^space:]]$', yes: ['a12x'], no: ['a12 '] },
    { desc: 'POSIX class mixed with ranges', re: '^[[:upper:]_0-9]+$', yes: ['AB_9'], no: ['ab'] },
    { desc: 'negated POSIX class with other items', re: '^[[:^alpha:]a]+$', yes: ['1a!'], no: ['b'] },
    { desc: '[[:space:]] includes \\v, unlike \\s', re: '^[[:space:]]$', yes: ['\v'] },
    { desc: '[[:word:]]', re: '^[[:word:]]+$', yes: ['a_1'], no: ['-'] },
    { desc: 'Unicode classes', re: '^\\pL\\p{Greek}\\PN$', yes: ['a\u03b1b'], no: ['a\u03b11'] },
    { desc: 'negated Unicode class with ^', re: '^\\p{^Greek}$', yes: ['a'], no: ['\u03b1'] },
    { desc: 'script and category names', re: '^\\p{Han}\\p{Lu}\\pN$', yes: ['\u65e5A\u0663'] },
    { desc: 'dot matches one code point, not half a surrogate pair', re: '^.$', yes: ['\u{1F600}'] },
    { desc: '\\x{…} beyond the BMP', re: '^[\\x{1F600}-\\x{1F601}]$', yes: ['\u{1F601}'], no: ['\u{1F602}'] },
    { desc: 'literal brace when not a repetition', re: '^a{x}$', yes: ['a{x}'] },
    { desc: '{,n} is a literal in Go', re: '^x{,5}$', yes: ['x{,5}'], no: ['xx'] },
    { desc: 'repetition', re: '^a{2,3}$', yes: ['aa', 'aaa'], no: ['a', 'aaaa'] },
    { desc: 'repetition up to 1000 is allowed', re: '^a{1000}$', yes: ['a'.repeat(1000)], no: ['a'.repeat(999)] },
    { desc: '\\Q...\\E quoting', re: '^\\Q.*+\\E$', yes: ['.*+'], no: ['abc'] },
    { desc: '\\Q without \\E quotes to the end', re: '^a\\Q.(', yes: ['a.('] },
    { desc: 'escaped punctuation', re: '^\\-\\#\\:\\/$', yes: ['-#:/'] },
    { desc: 'octal and hex escapes', re: '^\\101\\x42\\x{43}\\0$', yes: ['ABC\0'] },
    { desc: 'class with leading ]', re: '^[]a]+$', yes: [']a]'], no: ['b'] },
    { desc: 'class with trailing -', re: '^[a-]+$', yes: ['a-a'], no: ['b'] },
    { desc: 'class escapes', re: '^[\\d\\s.]+$', yes: ['1 .2'], no: ['a'] },
    { desc: 'flags in the middle of the pattern (Go allows them)', re: '^a(?i)b$', yes: ['aB', 'ab'], no: ['AB'] },
    { desc: 'flag group changing flags mid-pattern', re: '^a(?i:b)c$', yes: ['aBc'], no: ['aBC'] },
    { desc: 'flag group turning a flag off', re: '(?i)^a(?-i:b)$', yes: ['Ab'], no: ['AB'] },
    { desc: 'flag U (ungreedy) is accepted', re: '(?U)^a+$', yes: ['aaa'] },
    { desc: 'leftmost-first alternation, as Perl and Go', re: '^(?:a|ab)c$', yes: ['abc', 'ac'] },
    { desc: 'unanchored by default', re: 'b', yes: ['abc'] },
    { desc: 'empty pattern matches everything', re: '', yes: ['', 'x'] },
    { desc: 'Traefik v2 placeholders are literal text in Go', re: '^/{path:(css|js)}$', yes: ['/{path:css}'], no: ['/css'] },
    { desc: 'duplicate group names (Go allows them)', re: '^(?P<x>a)|(?P<x>b)$', yes: ['a', 'b'], no: ['c'] },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const re = compileGoRegexp(c.re);
      for (const s of c.yes ?? []) assert.ok(re.test(s), `${c.re} should match ${JSON.stringify(s)}`);
      for (const s of c.no ?? []) assert.ok(!re.test(s), `${c.re} should not match ${JSON.stringify(s)}`);
    });
  }
});

describe('Go regexp errors', () => {
  // Go's own wording (regexp/syntax), plus a hint where Go's is cryptic.
  const errors: Array<{ desc: string; re: string; message: RegExp }> = [
    { desc: 'lookahead', re: 'a(?=b)', message: /^invalid or unsupported Perl syntax: `\(\?=` \(lookahead and lookbehind assertions are not supported/ },
    { desc: 'negative lookahead', re: '^/(?!admin)', message: /lookahead and lookbehind assertions are not supported/ },
    { desc: 'lookbehind', re: '(?<!a)b', message: /^invalid named capture: .*lookahead and lookbehind assertions are not supported/ },
    { desc: 'backreference', re: '(a)\\1', message: /^invalid escape sequence: `\\1` \(backreferences are not supported/ },
    { desc: 'named backreference', re: '(?P<n>a)(?P=n)', message: /invalid or unsupported Perl syntax: `\(\?P`/ },
    { desc: 'unbalanced (', re: '(a', message: /^missing closing \): `\(a`$/ },
    { desc: 'unbalanced )', re: 'a)', message: /^unexpected \): `a\)`$/ },
    { desc: 'missing ]', re: '[a', message: /^missing closing \]: `\[a`$/ },
    { desc: 'bad range', re: '[z-a]', message: /^invalid character class range: `z-a`$/ },
    { desc: 'unknown POSIX class', re: '[[:foo:]]', message: /invalid character class range: `\[:foo:\]`/ },
    { desc: 'unknown Unicode class', re: '\\p{Foo}', message: /invalid character class range: `\\p\{Foo\}`/ },
    { desc: 'repeat count too large', re: 'a{1001}', message: /^invalid repeat count: `\{1001\}`$/ },
    { desc: 'nested repeat counts over 1000 in all', re: '(a{100}){11}', message: /^invalid repeat count/ },
    { desc: 'repeat range backwards', re: 'a{2,1}', message: /invalid repeat count/ },
    { desc: 'nested repetition operator', re: 'a**', message: /^invalid nested repetition operator: `\*\*`$/ },
    { desc: 'possessive quantifier', re: 'a++', message: /invalid nested repetition operator/ },
    { desc: 'unknown escape', re: '\\y', message: /^invalid escape sequence: `\\y`$/ },
    { desc: '\\Z is not RE2', re: 'a\\Z', message: /invalid escape sequence: `\\Z`/ },
    { desc: '\\C is not supported by Go', re: '\\C', message: /invalid escape sequence: `\\C`/ },
    { desc: 'JavaScript \\u escape', re: '\\u0041', message: /invalid escape sequence: `\\u`/ },
    { desc: 'code point beyond Unicode', re: '\\x{110000}', message: /invalid escape sequence/ },
    { desc: 'nothing to repeat', re: '*a', message: /^missing argument to repetition operator: `\*`$/ },
    { desc: 'trailing backslash', re: 'a\\', message: /^trailing backslash at end of expression$/ },
    { desc: 'flag x is not Go', re: '(?x)a b', message: /invalid or unsupported Perl syntax: `\(\?x`/ },
    { desc: 'atomic group', re: '(?>a)', message: /invalid or unsupported Perl syntax/ },
    { desc: 'non-ASCII group name', re: '(?P<\u00e9>a)', message: /invalid named capture/ },
    { desc: 'nesting deeper than 1000', re: '('.repeat(1001) + ')'.repeat(1001), message: /expression nests too deeply/ },
  ];
  for (const e of errors) {
    it(`rejects ${e.desc}`, () =>
      assert.throws(
        () => compileGoRegexp(e.re),
        (err: unknown) => err instanceof GoRegexpError && err.pattern === e.re && e.message.test(err.message),
      ));
  }

  it('compileConfigRegexp names the configuration path and the pattern', () => {
    assert.throws(
      () => compileConfigRegexp('a(b', 'headers.accessControlAllowOriginListRegex[2]'),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.path === 'headers.accessControlAllowOriginListRegex[2]' &&
        err.message === 'headers.accessControlAllowOriginListRegex[2]: invalid regular expression "a(b": missing closing ): `a(b`',
    );
  });
});

describe('compiled regexps are shared', () => {
  it('a pattern compiled while an earlier compilation is alive is the same object', () => {
    const a = compileGoRegexp('^/shared/(x+)$');
    assert.equal(compileGoRegexp('^/shared/(x+)$'), a);
    assert.equal(compileConfigRegexp('^/shared/(x+)$', 'p'), a);
    assert.notEqual(compileGoRegexp('^/shared/(y+)$'), a);
  });
  it('a refused pattern is refused every time', () => {
    assert.throws(() => compileGoRegexp('(shared'), GoRegexpError);
    assert.throws(() => compileGoRegexp('(shared'), GoRegexpError);
  });
});

describe('Go regexp groups (FindStringIndex, FindStringSubmatch, SubexpNames)', () => {
  it('findIndex gives the leftmost match', () => {
    assert.deepEqual(compileGoRegexp('b+').findIndex('abbcbbb'), [1, 3]);
    assert.equal(compileGoRegexp('z').findIndex('abc'), null);
    assert.deepEqual(compileGoRegexp('z*').findIndex('abc'), [0, 0]);
  });
  it('findSubmatch gives every group, undefined when it took no part', () => {
    assert.deepEqual(compileGoRegexp('a(x)?(b)').findSubmatch('-ab-'), ['ab', undefined, 'b']);
    assert.equal(compileGoRegexp('q').findSubmatch('ab'), null);
  });
  it('offsets count UTF-16 code units of the JavaScript string', () => {
    assert.deepEqual(compileGoRegexp('b').findIndex('\u{1F600}b'), [2, 3]);
  });
  it('subexpNames and subexpIndex', () => {
    const re = compileGoRegexp('(?P<first>a)(b)(?<third>c)');
    assert.equal(re.numSubexp, 3);
    assert.deepEqual(re.subexpNames, ['', 'first', '', 'third']);
    assert.equal(re.subexpIndex('third'), 3);
    assert.equal(re.subexpIndex('nope'), -1);
    assert.equal(re.subexpIndex(''), -1);
  });
  it('repeated names keep their name on every group', () => {
    const re = compileGoRegexp('(?P<x>hi)|(?P<x>bye)|(?P<x_dup1>z)');
    assert.deepEqual(re.subexpNames, ['', 'x', 'x', 'x_dup1']);
    assert.equal(re.subexpIndex('x'), 1);
    assert.deepEqual(re.findSubmatch('bye'), ['bye', undefined, 'bye', undefined]);
  });
  it('a repeated name inside a class or \\Q…\\E is not a group', () => {
    const re = compileGoRegexp('(?P<x>a)[(?P<x>]\\Q(?P<x>\\E');
    assert.deepEqual(re.subexpNames, ['', 'x']);
    assert.ok(re.test('a<(?P<x>'));
  });
});

describe('Go ReplaceAllString and Expand', () => {
  // Cases from the behaviour of Go's regexp.ReplaceAllString documentation and its tests.
  const cases: Array<{ desc: string; re: string; tpl: string; input: string; want: string }> = [
    { desc: 'every match is replaced', re: 'a(x*)b', tpl: 'T', input: '-ab-axxb-', want: '-T-T-' },
    { desc: '$1', re: 'a(x*)b', tpl: '$1', input: '-ab-axxb-', want: '--xx-' },
    { desc: '$1W names group "1W", which does not exist', re: 'a(x*)b', tpl: '$1W', input: '-ab-axxb-', want: '---' },
    { desc: '${1}W', re: 'a(x*)b', tpl: '${1}W', input: '-ab-axxb-', want: '-W-xxW-' },
    { desc: 'empty pattern matches between every character', re: '', tpl: 'x', input: 'abc', want: 'xaxbxcx' },
    { desc: 'empty input, pattern matching empty', re: '', tpl: 'x', input: '', want: 'x' },
    { desc: 'an empty match right after a match is not replaced (Go, unlike JavaScript)', re: 'a*', tpl: 'X', input: 'baaac', want: 'XbXcX' },
    { desc: 'empty matches around non-matching text', re: '[a-c]*', tpl: 'x', input: 'abcbcdcdedef', want: 'xdxdxexdxexfx' },
    { desc: 'never inside a character beyond the BMP', re: '\u{1F600}*', tpl: '-', input: 'a\u{1F600}b', want: '-a-b-' },
    { desc: 'never inside a multi-byte character', re: '[a-c]*', tpl: 'x', input: '\u65e5', want: 'x\u65e5x' },
    { desc: 'anchored at the start', re: '^[a-c]*', tpl: 'x', input: 'abcdabc', want: 'xdabc' },
    { desc: 'anchored at the end', re: '[a-c]*$', tpl: 'x', input: 'abcdabc', want: 'abcdx' },
    { desc: '$0 and ${0} are the whole match', re: 'a+', tpl: '(${0})$0', input: 'banana', want: 'b(a)an(a)an(a)a' },
    { desc: '$name stops at punctuation', re: 'hello, (?P<noun>.+)', tpl: 'goodbye, $noun!', input: 'hello, world', want: 'goodbye, world!' },
    { desc: '${name}', re: 'hello, (?P<noun>.+)', tpl: 'goodbye, ${noun}', input: 'hello, world', want: 'goodbye, world' },
    { desc: 'a repeated name takes the group that matched (hi)', re: '(?P<x>hi)|(?P<x>bye)', tpl: '$x$x$x', input: 'hi', want: 'hihihi' },
    { desc: 'a repeated name takes the group that matched (bye)', re: '(?P<x>hi)|(?P<x>bye)', tpl: '$x$x$x', input: 'bye', want: 'byebyebye' },
    { desc: '$xyz is a missing name', re: '(?P<x>hi)|(?P<x>bye)', tpl: '$xyz', input: 'hi', want: '' },
    { desc: '${x}yz', re: '(?P<x>hi)|(?P<x>bye)', tpl: '${x}yz', input: 'hi', want: 'hiyz' },
    { desc: '$$ is a dollar', re: '(?P<x>hi)', tpl: 'hello $$x', input: 'hi', want: 'hello $x' },
    { desc: 'malformed ${ keeps the dollar', re: 'a+', tpl: '${oops', input: 'aaa', want: '${oops' },
    { desc: 'a lone $ is a dollar', re: 'a+', tpl: '$', input: 'aaa', want: '$' },
    { desc: 'dollar before punctuation is literal', re: 'a', tpl: '$/', input: 'a', want: '$/' },
    { desc: 'unmatched optional group is empty', re: '(x)?', tpl: '$1', input: '123', want: '123' },
    { desc: 'missing group number expands to nothing', re: 'abc', tpl: '$1', input: 'abc', want: '' },
    { desc: 'groups repeated zero times', re: '(a)(b){0}(c)', tpl: '.$2|$3.', input: 'xacxacx', want: 'x.|c.x.|c.x' },
    { desc: '$01 is a name, not group 1', re: '(a)', tpl: '[$01]', input: 'a', want: '[]' },
    { desc: 'a group may be named with digits', re: '(?P<01>a)', tpl: '[$01]', input: 'a', want: '[a]' },
    { desc: 'names may have Unicode letters', re: '(a)', tpl: '$1\u00e9', input: 'a', want: '' },
    { desc: 'no match leaves the input', re: 'z', tpl: 'y', input: 'abc', want: 'abc' },
    { desc: 'POSIX class', re: '[[:digit:]]+', tpl: 'N', input: 'a12b3', want: 'aNbN' },
    { desc: '\\pL short Unicode class', re: '\\pL+', tpl: 'W', input: '\u00e9t\u00e9 1', want: 'W 1' },
    { desc: '\\z end of text', re: 'a\\z', tpl: 'E', input: 'aa', want: 'aE' },
    { desc: 'literal ] first in a class', re: '[]a]+', tpl: '-', input: 'x]a]y', want: 'x-y' },
    { desc: 'flag s makes . match newlines', re: '(?s)a.b', tpl: 'X', input: 'a\nb', want: 'X' },
    { desc: 'flag U makes + lazy', re: '(?U)a(a+)', tpl: '[$1]', input: 'aaaa', want: '[a][a]' },
  ];
  for (const c of cases) {
    it(c.desc, () => assert.equal(compileGoRegexp(c.re).replacer(c.tpl).replaceAll(c.input), c.want));
  }
});

describe('literalPrefix', () => {
  const cases: Array<{ desc: string; re: string; want: string }> = [
    { desc: 'anchored literal path', re: '^/api/v[0-9]+/', want: '/api/v' },
    { desc: 'escaped punctuation is literal', re: '^/v1\\.0/x', want: '/v1.0/x' },
    { desc: 'a quantified last character is not required', re: '^/ab?c', want: '/a' },
    { desc: 'a {n} repetition too', re: '^/ab{0}', want: '/a' },
    { desc: 'stops at a group', re: '^/a(?i)b', want: '/a' },
    { desc: 'stops at a class', re: '^/a[bc]', want: '/a' },
    { desc: 'unanchored', re: '/api', want: '' },
    { desc: 'flags before ^', re: '(?i)^/api', want: '' },
    { desc: 'multi-line before ^', re: '(?m)^/api', want: '' },
    { desc: 'top-level alternation', re: '^/api|/web', want: '' },
    { desc: 'alternation inside a group is fine', re: '^/api(?:/v1|/v2)', want: '/api' },
    { desc: 'a | in a class or escaped is not alternation', re: '^/a[|]\\|', want: '/a' },
    { desc: 'a | inside \\Q…\\E is not alternation', re: '^/a\\Q|\\E', want: '/a' },
    { desc: '^ repeated', re: '^*/a', want: '' },
    { desc: 'non-ASCII stops it', re: '^/\u00e9t\u00e9', want: '/' },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      assert.equal(literalPrefix(c.re), c.want);
      // Necessary condition: every input the pattern matches starts with the prefix.
      const re = compileGoRegexp(c.re);
      assert.equal(re.prefix, c.want);
    });
  }
  it('test() gives the same answers with and without the prefix shortcut', () => {
    const re = compileGoRegexp('^/api/v[0-9]+/');
    const same = compileGoRegexp('(?:^/api/v[0-9]+/)');
    assert.equal(same.prefix, '');
    for (const s of ['/api/v1/x', '/api/v/x', '/apix', '', '/API/v1/', 'x/api/v1/']) assert.equal(re.test(s), same.test(s), s);
  });
});

describe('requiredLiteral', () => {
  const cases: Array<{ desc: string; re: string; want: string }> = [
    { desc: 'unanchored path pattern', re: '/svc3/[0-9]+$', want: '/svc3/' },
    { desc: 'the longest run wins', re: '^/api/v[0-9]+/users/[0-9]+$', want: '/users/' },
    { desc: 'a quantified character ends a run', re: 'abc*d', want: 'ab' },
    { desc: 'a repetition count is not text', re: 'a{2,3}bcd', want: 'bcd' },
    { desc: 'a brace that is not a repetition is text in Go', re: 'a{x}', want: 'x' },
    { desc: 'groups are skipped', re: 'x(abc)yy', want: 'yy' },
    { desc: 'classes are skipped', re: '[abcdef]gh', want: 'gh' },
    { desc: 'escaped punctuation is text', re: 'ab\\.cd', want: 'ab.cd' },
    { desc: 'whole escapes are skipped: \\pL', re: '\\pLxy', want: 'xy' },
    { desc: 'whole escapes are skipped: \\p{Greek}', re: '\\p{Greek}ab', want: 'ab' },
    { desc: 'whole escapes are skipped: \\x41 and \\x{41}', re: '\\x41b\\x{41}cd', want: 'cd' },
    { desc: 'whole escapes are skipped: octal', re: '\\101cd', want: 'cd' },
    { desc: 'none under case folding', re: '(?i)abc', want: '' },
    { desc: 'none with a top-level alternation', re: 'x|abcdef', want: '' },
    { desc: '\\Q…\\E is skipped', re: '\\Qabcdef\\E', want: '' },
  ];
  for (const c of cases) it(c.desc, () => assert.equal(requiredLiteral(c.re), c.want));

  it('test, find and replace with the prefix and literal shortcuts agree with the engine alone (random patterns)', () => {
    const pieces = ['a', 'b', '/', 'ab', '/a', '\\.', '.', '[ab]', '[^a]', '(a|b)', '(?:ab)', '*', '+', '?', '{2}', '{1,2}', '{x}', '^', '$', '|', '\\d', '\\pL', '\\x61', '\\141', '(?i)', '(?i:a)', '\\Qa|\\E', '\\b'];
    const alphabet = ['a', 'b', '/', '.', '1', 'A', '|', 'x', '{', '}'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    let compared = 0;
    let shortcut = 0;
    for (let k = 0; k < 1500; k++) {
      let p = rnd(5) < 2 ? '^' : '';
      for (let j = 1 + rnd(6); j > 0; j--) p += pieces[rnd(pieces.length)];
      let re;
      try {
        re = compileGoRegexp(p);
      } catch {
        continue;
      }
      const ref = compileGoRegexp(`(?:${p})`);
      assert.equal(ref.prefix + ref.literal, '', p);
      if (re.prefix !== '' || re.literal !== '') shortcut++;
      for (let t = 0; t < 20; t++) {
        // Random text, or text made of the pattern's own literals (more likely to match).
        let s = '';
        const from = rnd(2) === 0 ? alphabet : ['a', 'b', '/', 'ab', '/a', '.', 'x'];
        for (let j = rnd(7); j > 0; j--) s += from[rnd(from.length)];
        const at = `${p} on ${JSON.stringify(s)}`;
        assert.equal(re.test(s), ref.test(s), at);
        assert.deepEqual(re.findIndex(s), ref.findIndex(s), at);
        assert.deepEqual(re.findSubmatch(s), ref.findSubmatch(s), at);
        assert.equal(re.replacer('<$0>').replaceAll(s), ref.replacer('<$0>').replaceAll(s), at);
        compared++;
      }
    }
    assert.ok(compared > 10_000 && shortcut > 200, `${compared} comparisons, ${shortcut} patterns with a shortcut`);
  });
});

describe('linear time on patterns that make backtracking engines blow up', () => {
  // V8 needs ~100 ms for `^/(a+)+$` on 24 characters and doubles with each one more; an RE2 engine
  // takes a few ms on 10,000 (measured here: test 0.1–6 ms, groups and replace 3–90 ms on a
  // loaded 2-core machine). The budgets are ~5× that; a backtracking engine would hit the timeout.
  const n = 10_000;
  const cases: Array<{ desc: string; re: string; input: string; budgetMs: number }> = [
    { desc: 'nested quantifier', re: '^/(a+)+$', input: '/' + 'a'.repeat(n) + '!', budgetMs: 500 },
    { desc: 'overlapping alternation', re: '^(a|aa)+$', input: 'a'.repeat(n) + 'b', budgetMs: 500 },
    { desc: 'nested star over words', re: '^(\\w+\\s?)*$', input: 'word '.repeat(n / 5) + '!', budgetMs: 500 },
  ];
  for (const c of cases) {
    it(c.desc, { timeout: 20_000 }, () => {
      const re = compileGoRegexp(c.re);
      const t0 = performance.now();
      assert.equal(re.test(c.input), false);
      assert.equal(re.findSubmatch(c.input), null);
      assert.equal(re.replacer('$1').replaceAll(c.input), c.input);
      const ms = performance.now() - t0;
      assert.ok(ms < c.budgetMs, `${c.re} on ${c.input.length} characters took ${ms.toFixed(1)} ms`);
    });
  }
});
