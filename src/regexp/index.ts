/**
 * Every regular expression that comes from configuration (rules, middlewares, provider labels,
 * DFP parameters, constraints) is compiled here, once, when the configuration is loaded: Go (RE2)
 * syntax, as Traefik users write it, run by re2js, a JavaScript port of RE2 whose matching time is
 * linear in the input. V8's backtracking RegExp takes exponential time on patterns such as
 * `^/(a+)+$`, so one bad label would freeze a worker for every client (ReDoS); here the same test on
 * a 10,000-character input takes milliseconds. docs/regexp.md has the engine choice and its numbers.
 *
 * Semantics are Go's regexp package (re2js parses like regexp/syntax with Go's Perl flags): `.`
 * does not match "\n" unless (?s), `^`/`$` are text anchors unless (?m), `\s` and `\b` are ASCII,
 * named groups `(?P<n>…)` and `(?<n>…)`, `\Q…\E`, POSIX classes, `\pL`, flags anywhere, (?U),
 * repetition counts up to 1000, and lookarounds and backreferences refused. Inputs are JavaScript
 * strings matched as UTF-16 code points; Go matches UTF-8 bytes, which differs only for strings
 * that are not valid Unicode (see docs/regexp.md).
 */
import { createRequire } from 'node:module';
import type * as Re2js from 're2js';
import { ConfigError } from '../errors.js';
import { literalPrefix, renameDuplicateNames, requiredLiteral } from './syntax.js';
import { parseTemplate, resolveTemplate } from './template.js';

export { literalPrefix, requiredLiteral } from './syntax.js';

// re2js is loaded when the first pattern compiles: many configurations have none. Its CommonJS
// build, through require, keeps compilation synchronous; nothing else imports the package, so its
// classes (RE2JSException for instanceof) are the ones of this one copy.
let re2js: typeof Re2js | null = null;
function engine(): typeof Re2js {
  return (re2js ??= createRequire(import.meta.url)('re2js') as typeof Re2js);
}

/** GoRegexpError is a pattern Go would refuse; `message` is Go's wording, plus a hint for common cases. */
export class GoRegexpError extends Error {
  readonly pattern: string;

  constructor(pattern: string, message: string) {
    super(message);
    this.name = 'GoRegexpError';
    this.pattern = pattern;
  }
}

/**
 * The Go-like API of re2js's RE2 object (RE2JS#re2(), untyped in its declarations). Indexes are
 * UTF-16 offsets into the input; a group that took no part in the match has -1, -1.
 */
interface Engine {
  match(s: string): boolean;
  findIndex(s: string): number[] | null;
  findSubmatchIndex(s: string): number[] | null;
  findAllIndex(s: string, n: number): number[][] | null;
  findAllSubmatchIndex(s: string, n: number): number[][] | null;
}

// Go answers a lookaround or a backreference with a bare syntax error; say what is not supported.
function withHint(pattern: string, goMessage: string): string {
  const msg = goMessage.replace(/^error parsing regexp: /, '');
  if (/\(\?(=|!|<=|<!)/.test(pattern) && /Perl syntax|named capture/.test(msg)) return `${msg} (lookahead and lookbehind assertions are not supported by Go regexps)`;
  if (/invalid escape sequence: `\\[1-9]`/.test(msg)) return `${msg} (backreferences are not supported by Go regexps)`;
  return msg;
}

/** GoRegexp is a compiled Go regexp: test, find and replace with Go's semantics, in linear time. */
export class GoRegexp {
  readonly source: string;
  /** Go's NumSubexp: the number of capturing groups. */
  readonly numSubexp: number;
  /** Go's SubexpNames: index 0 is the whole match, unnamed groups are "". */
  readonly subexpNames: readonly string[];
  /** Text every matching input starts with ("" when unknown): `^/api/v[0-9]+` gives "/api/v". */
  readonly prefix: string;
  /** Text every matching input contains, when longer than the prefix ("" when unknown). */
  readonly literal: string;
  readonly #engine: Engine;

  constructor(source: string) {
    const { RE2JS, RE2JSException } = engine();
    let p: Re2js.RE2JS;
    let renamed: Map<string, string> | undefined;
    try {
      p = RE2JS.compile(source);
    } catch (err) {
      if (!(err instanceof RE2JSException)) throw err;
      const dup = err.message.includes('duplicate capture group name') ? renameDuplicateNames(source) : null;
      if (dup === null) throw new GoRegexpError(source, withHint(source, err.message));
      try {
        p = RE2JS.compile(dup.pattern);
      } catch (err2) {
        if (err2 instanceof RE2JSException) throw new GoRegexpError(source, withHint(source, err2.message));
        throw err2;
      }
      renamed = dup.renamed;
    }
    this.source = source;
    this.#engine = p.re2() as unknown as Engine;
    this.numSubexp = p.groupCount();
    const names = new Array<string>(this.numSubexp + 1).fill('');
    for (const [name, index] of Object.entries(p.namedGroups())) names[index] = renamed?.get(name) ?? name;
    this.subexpNames = names;
    this.prefix = literalPrefix(source);
    const literal = requiredLiteral(source);
    this.literal = literal.length > this.prefix.length ? literal : '';
  }

  /**
   * test is Go's MatchString: does the pattern match anywhere in s? Most inputs that do not match
   * are told apart by the literal text every match needs (a startsWith or an includes, ~10 ns,
   * where the engine costs ~0.3–1 µs: a route table tries many rules that do not match); the
   * engine runs without groups (re2js then uses its DFA or one-pass matcher).
   */
  test(s: string): boolean {
    return !this.cannotMatch(s) && this.#engine.match(s);
  }

  /** cannotMatch is true when s lacks the literal prefix or text every match needs. */
  cannotMatch(s: string): boolean {
    return (this.prefix !== '' && !s.startsWith(this.prefix)) || (this.literal !== '' && !s.includes(this.literal));
  }

  /** findIndex is Go's FindStringIndex: [start, end) of the leftmost match, or null. */
  findIndex(s: string): readonly [number, number] | null {
    if (this.cannotMatch(s)) return null;
    const a = this.#engine.findIndex(s);
    return a === null ? null : [a[0]!, a[1]!];
  }

  /**
   * findSubmatch is Go's FindStringSubmatch: the leftmost match and its groups, `undefined` for a
   * group that took no part in it, or null when nothing matches.
   */
  findSubmatch(s: string): Array<string | undefined> | null {
    if (this.cannotMatch(s)) return null;
    const a = this.#engine.findSubmatchIndex(s);
    if (a === null) return null;
    const out = new Array<string | undefined>(this.numSubexp + 1);
    for (let g = 0; g <= this.numSubexp; g++) out[g] = a[2 * g]! < 0 ? undefined : s.slice(a[2 * g], a[2 * g + 1]);
    return out;
  }

  /** subexpIndex is Go's SubexpIndex: the index of the first group with this name, or -1. */
  subexpIndex(name: string): number {
    return name === '' ? -1 : this.subexpNames.indexOf(name, 1);
  }

  /** replacer binds a Go replacement template to this regexp (parsed once). */
  replacer(template: string): GoReplacer {
    return new GoReplacer(this, this.#engine, template);
  }
}

/** GoReplacer is Go's ReplaceAllString(src, template) for one regexp and one template. */
export class GoReplacer {
  readonly #re: GoRegexp;
  readonly #engine: Engine;
  /** Literal text, or the groups a reference takes its text from (the first that took part). */
  readonly #parts: ReadonlyArray<string | readonly number[]>;
  readonly #literal: string | null;

  constructor(re: GoRegexp, engine: Engine, template: string) {
    this.#re = re;
    this.#engine = engine;
    this.#parts = resolveTemplate(parseTemplate(template), re.subexpNames);
    this.#literal = this.#parts.every((p) => typeof p === 'string') ? this.#parts.join('') : null;
  }

  /**
   * replaceAll replaces every match in s, as Go: matches do not overlap, and an empty match right
   * after a previous match is not replaced (`a*` on "baaac" gives "XbXcX", not JavaScript's "XbXXcX").
   */
  replaceAll(s: string): string {
    if (this.#re.cannotMatch(s)) return s;
    // Without references only the match bounds are needed, which is cheaper (as Go does).
    const matches = this.#literal !== null ? this.#engine.findAllIndex(s, -1) : this.#engine.findAllSubmatchIndex(s, -1);
    if (matches === null) return s;
    let out = '';
    let last = 0;
    for (const m of matches) {
      out += s.slice(last, m[0]);
      if (this.#literal !== null) out += this.#literal;
      else {
        for (const p of this.#parts) {
          if (typeof p === 'string') {
            out += p;
            continue;
          }
          for (const g of p) {
            if (m[2 * g]! < 0) continue;
            out += s.slice(m[2 * g], m[2 * g + 1]);
            break;
          }
        }
      }
      last = m[1]!;
    }
    return out + s.slice(last);
  }
}

// Snapshots are rebuilt on every configuration change, mostly from the same patterns, and re2js
// takes 30–70 µs to compile one (V8 compiles lazily): 10,000 HostRegexp routers would cost the
// worker ~0.5 s per reload. A GoRegexp never changes (re2js's internal caches do not change what
// it matches), so a pattern still compiled in the live snapshot is reused by the next one. The
// cache holds them weakly: it keeps nothing alive (each takes ~14 KiB), entries go with the
// snapshots that used them.
const cache = new Map<string, WeakRef<GoRegexp>>();
const collected = new FinalizationRegistry<string>((pattern) => {
  if (cache.get(pattern)?.deref() === undefined) cache.delete(pattern);
});

/** compileGoRegexp compiles a Go regexp (or reuses it); it throws GoRegexpError when Go would refuse it. */
export function compileGoRegexp(pattern: string): GoRegexp {
  const live = cache.get(pattern)?.deref();
  if (live !== undefined) return live;
  const re = new GoRegexp(pattern);
  cache.set(pattern, new WeakRef(re));
  collected.register(re, pattern);
  return re;
}

/**
 * compileConfigRegexp compiles a regexp taken from the configuration at `path`
 * (e.g. `replacePathRegex.regex`), throwing a ConfigError that names the path and the pattern.
 */
export function compileConfigRegexp(pattern: string, path: string): GoRegexp {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    if (err instanceof GoRegexpError) throw new ConfigError(path, `invalid regular expression ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}
