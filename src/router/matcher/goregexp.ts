/**
 * Translation of Go (RE2) regular expressions, the syntax Traefik rules use, into equivalent
 * JavaScript regular expressions (always with the `u` flag, so that `.` and classes work on code
 * points as Go works on runes). Semantics kept from Go's regexp/syntax:
 * - `.` does not match "\n" (JS would also refuse "\r", "\u2028", "\u2029"), unless flag s;
 * - `\s` is ASCII `[\t\n\f\r ]` (no "\v", no Unicode spaces);
 * - `^`/`$` are text anchors; with flag m they are line anchors on "\n" only; `\A` and `\z`;
 * - `(?P<name>…)` and `(?<name>…)` named groups; `\Q…\E`; POSIX classes `[[:alpha:]]`;
 *   `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}`; octal and `\x{…}` escapes; a `{` that does not
 *   start a repetition is a literal; repetition counts above 1000 are errors.
 * Refused, as Go refuses them: lookarounds, backreferences, `\Z`, `\C`. Refused because JS (Node 20)
 * cannot express them: flags other than a leading `(?i)`, `(?s)`, `(?m)` group (or a `(?flags:…)` group
 * using the same flags), and flag U.
 */
export class GoRegexpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoRegexpError';
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\u{9}\\u{20}',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '\\u{21}-\\u{7e}',
  lower: 'a-z',
  print: '\\u{20}-\\u{7e}',
  punct: '\\u{21}-\\u{2f}\\u{3a}-\\u{40}\\u{5b}-\\u{60}\\u{7b}-\\u{7e}',
  space: '\\u{9}-\\u{d}\\u{20}',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const PERL_IN_CLASS: Record<string, string> = { d: '0-9', w: '0-9A-Za-z_', s: '\\u{9}\\u{a}\\u{c}\\u{d}\\u{20}' };

function cp(c: number): string {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return String.fromCharCode(c);
  return `\\u{${c.toString(16)}}`;
}

function isWordAscii(c: string): boolean {
  return /^[0-9A-Za-z_]$/.test(c);
}

/** unicodeClass translates the name of a Go \p class into the body of a JS \p{…}. */
function unicodeClass(name: string): string {
  if (name === 'Any') return 'Any';
  if (/^[A-Z][a-z]?$/.test(name)) return name; // general category: L, Lu, Nd…
  if (/^[A-Z][A-Za-z_]*$/.test(name)) return `Script=${name}`;
  throw new GoRegexpError(`invalid character class range \\p{${name}}`);
}

class Translator {
  readonly src: string;
  i = 0;
  flags: Flags = { i: false, m: false, s: false };
  groups = 0;

  constructor(src: string) {
    this.src = src;
  }

  translate(): string {
    this.#leadingFlags();
    let out = '';
    let depth = 0;
    const src = this.src;
    while (this.i < src.length) {
      const c = src[this.i]!;
      switch (c) {
        case '\\':
          out += this.#escape();
          break;
        case '[':
          out += this.#class();
          break;
        case '(':
          out += this.#group();
          depth++;
          break;
        case ')':
          if (depth === 0) throw new GoRegexpError('unexpected ): unbalanced parentheses');
          depth--;
          out += ')';
          this.i++;
          break;
        case '.':
          out += this.flags.s ? '[\\s\\S]' : '[^\\n]';
          this.i++;
          break;
        case '^':
          out += this.flags.m ? '(?<![^\\n])' : '^';
          this.i++;
          break;
        case '$':
          out += this.flags.m ? '(?![^\\n])' : '$';
          this.i++;
          break;
        case '{': {
          const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(src.slice(this.i));
          if (m === null) {
            out += '\\{';
            this.i++;
            break;
          }
          const min = Number(m[1]);
          const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
          if (min > 1000 || max > 1000 || (max >= 0 && max < min)) throw new GoRegexpError(`invalid repeat count ${m[0]}`);
          out += m[0];
          this.i += m[0].length;
          break;
        }
        case '}':
          out += '\\}';
          this.i++;
          break;
        case ']':
          out += '\\]';
          this.i++;
          break;
        case '*':
        case '+':
        case '?':
        case '|':
          out += c;
          this.i++;
          break;
        default: {
          const code = src.codePointAt(this.i)!;
          out += code > 0x7f ? String.fromCodePoint(code) : cp(code);
          this.i += code > 0xffff ? 2 : 1;
        }
      }
    }
    if (depth !== 0) throw new GoRegexpError('missing closing ): unbalanced parentheses');
    return out;
  }

  #leadingFlags(): void {
    const m = /^\(\?([a-zA-Z-]+)\)/.exec(this.src);
    if (m === null) return;
    this.flags = this.#applyFlags(m[1]!, { ...this.flags });
    this.i = m[0].length;
  }

  #applyFlags(spec: string, into: Flags): Flags {
    let negate = false;
    for (const f of spec) {
      if (f === '-') {
        if (negate) throw new GoRegexpError(`invalid flags (?${spec})`);
        negate = true;
        continue;
      }
      if (f === 'U') throw new GoRegexpError('flag U (ungreedy) is not supported');
      if (f !== 'i' && f !== 'm' && f !== 's') throw new GoRegexpError(`invalid or unsupported flag "${f}" in (?${spec})`);
      into[f] = !negate;
    }
    return into;
  }

  #group(): string {
    const src = this.src;
    if (src[this.i + 1] !== '?') {
      this.i++;
      this.groups++;
      return '(';
    }
    const rest = src.slice(this.i + 2);
    let m = /^P?<([A-Za-z0-9_]*)>/.exec(rest);
    if (m !== null && !rest.startsWith('<=') && !rest.startsWith('<!')) {
      const name = m[1]!;
      if (name === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new GoRegexpError(`invalid named capture group name "${name}"`);
      this.i += 2 + m[0].length;
      this.groups++;
      return `(?<${name}>`;
    }
    if (rest.startsWith(':')) {
      this.i += 3;
      return '(?:';
    }
    if (/^(=|!|<=|<!)/.test(rest)) throw new GoRegexpError('lookaround assertions (?=, (?!, (?<=, (?<! are not supported by Go regexp');
    m = /^([a-zA-Z-]+)([:)])/.exec(rest);
    if (m !== null) {
      const wanted = this.#applyFlags(m[1]!, { ...this.flags });
      if (m[2] === ')') throw new GoRegexpError(`flags (?${m[1]}) are only supported at the start of the pattern`);
      if (wanted.i !== this.flags.i || wanted.m !== this.flags.m || wanted.s !== this.flags.s) {
        throw new GoRegexpError(`flag group (?${m[1]}:…) changes flags mid-pattern, which cannot be translated; put (?${m[1]}) at the start of the pattern`);
      }
      this.i += 2 + m[0].length;
      return '(?:';
    }
    throw new GoRegexpError('invalid or unsupported Perl syntax after "(?"');
  }

  /** #escape translates an escape outside a class. */
  #escape(): string {
    const src = this.src;
    const e = src[this.i + 1];
    if (e === undefined) throw new GoRegexpError('trailing backslash at end of expression');
    switch (e) {
      case 'd': case 'D': case 'w': case 'W': case 'b': case 'B':
        this.i += 2;
        return `\\${e}`;
      case 's':
        this.i += 2;
        return '[\\t\\n\\f\\r ]';
      case 'S':
        this.i += 2;
        return '[^\\t\\n\\f\\r ]';
      case 'A':
        this.i += 2;
        return this.flags.m ? '(?<![\\s\\S])' : '^';
      case 'z':
        this.i += 2;
        return this.flags.m ? '(?![\\s\\S])' : '$';
      case 'Q': {
        const end = src.indexOf('\\E', this.i + 2);
        const lit = end < 0 ? src.slice(this.i + 2) : src.slice(this.i + 2, end);
        this.i = end < 0 ? src.length : end + 2;
        let out = '';
        for (const ch of lit) out += ch.codePointAt(0)! > 0x7f ? ch : cp(ch.codePointAt(0)!);
        return out;
      }
      case 'p':
      case 'P': {
        const { body, negated } = this.#unicodeClassEscape();
        return `\\${negated ? 'P' : 'p'}{${body}}`;
      }
      default:
        return cp(this.#literalEscape());
    }
  }

  #unicodeClassEscape(): { body: string; negated: boolean } {
    const src = this.src;
    let negated = src[this.i + 1] === 'P';
    let name: string;
    if (src[this.i + 2] === '{') {
      const end = src.indexOf('}', this.i + 3);
      if (end < 0) throw new GoRegexpError('invalid character class range: missing }');
      name = src.slice(this.i + 3, end);
      this.i = end + 1;
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
    } else {
      name = src[this.i + 2] ?? '';
      this.i += 3;
    }
    return { body: unicodeClass(name), negated };
  }

  /** #literalEscape consumes an escape that denotes one character and returns its code point. */
  #literalEscape(): number {
    const src = this.src;
    const e = src[this.i + 1]!;
    switch (e) {
      case 'a': this.i += 2; return 7;
      case 'f': this.i += 2; return 12;
      case 't': this.i += 2; return 9;
      case 'n': this.i += 2; return 10;
      case 'r': this.i += 2; return 13;
      case 'v': this.i += 2; return 11;
      case 'x': {
        if (src[this.i + 2] === '{') {
          const end = src.indexOf('}', this.i + 3);
          const hex = end < 0 ? '' : src.slice(this.i + 3, end);
          if (!/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) throw new GoRegexpError('invalid escape sequence \\x{…}');
          this.i = end + 1;
          return parseInt(hex, 16);
        }
        const hex = src.slice(this.i + 2, this.i + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new GoRegexpError('invalid escape sequence \\x');
        this.i += 4;
        return parseInt(hex, 16);
      }
    }
    if (e >= '0' && e <= '7') {
      const m = /^[0-7]{1,3}/.exec(src.slice(this.i + 1))!;
      // Go: a single non-zero digit is a backreference, which RE2 does not support.
      if (e !== '0' && m[0].length === 1) throw new GoRegexpError(`invalid escape sequence \\${e}: backreferences are not supported`);
      this.i += 1 + m[0].length;
      return parseInt(m[0], 8);
    }
    const code = src.codePointAt(this.i + 1)!;
    if (code < 0x80 && !isWordAscii(e)) {
      this.i += 2;
      return code;
    }
    throw new GoRegexpError(`invalid escape sequence \\${e}`);
  }

  /** #class translates a bracketed class. */
  #class(): string {
    const src = this.src;
    this.i++;
    let negated = false;
    if (src[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const items: string[] = [];
    let negItems = 0;
    let first = true;
    for (;;) {
      if (this.i >= src.length) throw new GoRegexpError('missing closing ]');
      const c = src[this.i]!;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && src[this.i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(this.i));
        if (m !== null) {
          const set = POSIX[m[2]!];
          if (set === undefined) throw new GoRegexpError(`invalid character class range [:${m[2]}:]`);
          this.i += m[0].length;
          if (m[1] === '^') {
            negItems++;
            items.push(`\u0000NEG${set}`);
          } else items.push(set);
          continue;
        }
      }
      if (c === '\\') {
        const e = src[this.i + 1];
        if (e === 'd' || e === 'w' || e === 's') {
          items.push(PERL_IN_CLASS[e]!);
          this.i += 2;
          continue;
        }
        if (e === 'D' || e === 'W' || e === 'S') {
          // JS \D and \W are Go's; JS \S also excludes Unicode spaces and \v, a documented approximation.
          items.push(`\\${e}`);
          this.i += 2;
          continue;
        }
        if (e === 'p' || e === 'P') {
          const { body, negated: n } = this.#unicodeClassEscape();
          items.push(`\\${n ? 'P' : 'p'}{${body}}`);
          continue;
        }
      }
      const lo = this.#classChar();
      if (src[this.i] === '-' && src[this.i + 1] !== ']' && this.i + 1 < src.length) {
        this.i++;
        const hi = this.#classChar();
        if (hi < lo) throw new GoRegexpError(`invalid character class range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}`);
        items.push(`${cp(lo)}-${cp(hi)}`);
      } else items.push(cp(lo));
    }
    if (negItems > 0) {
      // A negated POSIX class can only be expressed when it is the class's only item.
      if (items.length !== 1) throw new GoRegexpError('a negated POSIX class such as [[:^alpha:]] cannot be combined with other class items');
      return `[${negated ? '' : '^'}${items[0]!.slice(4)}]`;
    }
    return `[${negated ? '^' : ''}${items.join('')}]`;
  }

  #classChar(): number {
    const src = this.src;
    if (src[this.i] === '\\') {
      const e = src[this.i + 1];
      if (e === undefined) throw new GoRegexpError('missing closing ]');
      return this.#literalEscape();
    }
    const code = src.codePointAt(this.i)!;
    this.i += code > 0xffff ? 2 : 1;
    return code;
  }
}

/** compileGoRegexp translates and compiles a Go regexp; it throws GoRegexpError when it cannot. */
export function compileGoRegexp(pattern: string): RegExp {
  const t = new Translator(pattern);
  const source = t.translate();
  try {
    return new RegExp(source, t.flags.i ? 'iu' : 'u');
  } catch (err) {
    throw new GoRegexpError(`invalid regexp: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}
