/**
 * Go (RE2) regular expressions and replacement templates, compiled to JavaScript once when a
 * middleware is built, so that Traefik configurations (`(?P<name>…)`, `(?i)`, `${1}`, `$name`)
 * keep their meaning. Shared by stripPrefixRegex, replacePathRegex, redirectRegex, redirectScheme
 * and headers.
 */
import { ConfigError } from '../../errors.js';

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/**
 * translateGoRegexp rewrites Go syntax that JavaScript spells differently. Leading inline flags
 * (`(?i)`, `(?s)`, `(?m)`) become RegExp flags; flags elsewhere are refused, since JavaScript (on
 * Node 20) has no inline modifiers.
 */
export function translateGoRegexp(source: string, path: string): { source: string; flags: string } {
  let flags = '';
  let src = source;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead !== null) {
    for (const f of lead[1]!) {
      if (f === 'U') throw new ConfigError(path, 'the ungreedy flag (?U) is not supported');
      if (!flags.includes(f)) flags += f;
    }
    src = src.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new ConfigError(path, `invalid regular expression ${JSON.stringify(source)}: trailing backslash`);
      if (!inClass && n === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && n === 'z') out += '(?![\\s\\S])';
      else if ((n === 'p' || n === 'P') && src[i + 2] !== '{' && src[i + 2] !== undefined) {
        out += `\\${n}{${src[i + 2]}}`;
        i++;
      } else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        const name = end > 0 ? src.slice(i + 2, end) : '';
        const neg = name.startsWith('^');
        const cls = POSIX_CLASSES[neg ? name.slice(1) : name];
        if (cls !== undefined && !neg) {
          out += cls;
          i = end + 1;
          continue;
        }
        if (cls !== undefined) throw new ConfigError(path, `negated POSIX class [:${name}:] is not supported`);
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in Go.
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (c === '(' && src[i + 1] === '?' && /^\(\?[imsU-]+[:)]/.test(src.slice(i))) {
      throw new ConfigError(path, `inline flags are only supported at the start of ${JSON.stringify(source)}`);
    }
    out += c;
  }
  return { source: out, flags };
}

/**
 * compileGoRegexp compiles a Go regular expression; `global` adds the `g` flag for replace-all.
 * It throws a ConfigError naming `path` when the expression is invalid.
 */
export function compileGoRegexp(source: string, path: string, global = false): RegExp {
  const t = translateGoRegexp(source, path);
  const flags = t.flags + (global ? 'g' : '');
  try {
    return new RegExp(t.source, flags + 'u');
  } catch {
    // Go accepts some escapes and literal braces that Unicode mode refuses; retry without it.
    try {
      return new RegExp(t.source, flags);
    } catch (err) {
      throw new ConfigError(path, `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
    }
  }
}

/** A replacement template part: literal text, a group number, or a group name. */
type Part = string | number | { name: string };

/**
 * GoReplacer applies a Go replacement template (regexp.Expand): `$1`, `${1}`, `$name`, `${name}`,
 * `$$` for a dollar. As in Go, `$1x` names a group "1x" (use `${1}x`), and a missing group or a
 * group that did not take part in the match expands to nothing.
 */
export class GoReplacer {
  readonly #parts: Part[];
  readonly #re: RegExp;
  readonly #literal: string | null;
  readonly #replace: (match: string, ...args: unknown[]) => string;

  /** `re` must have the global flag for replaceAll. */
  constructor(re: RegExp, template: string) {
    this.#re = re;
    this.#parts = parseTemplate(template);
    // A template without references becomes a JS replacement string with its dollars escaped.
    this.#literal = this.#parts.every((p) => typeof p === 'string') ? this.#parts.join('').replaceAll('$', '$$$$') : null;
    // One function for the middleware's lifetime, not one per request.
    this.#replace = (match: string, ...args: unknown[]) => this.#expand(match, args);
  }

  /** replaceAll replaces every match in `s`, as Go's ReplaceAllString. */
  replaceAll(s: string): string {
    if (this.#literal !== null) return s.replace(this.#re, this.#literal);
    return s.replace(this.#re, this.#replace);
  }

  #expand(match: string, args: unknown[]): string {
    // args: p1..pn, offset, whole string, [named groups]
    let named: Record<string, string | undefined> | undefined;
    let groupCount = args.length - 2;
    const lastArg = args[args.length - 1];
    if (typeof lastArg === 'object' && lastArg !== null) {
      named = lastArg as Record<string, string | undefined>;
      groupCount = args.length - 3;
    }
    let out = '';
    for (const p of this.#parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') {
        if (p === 0) out += match;
        else if (p <= groupCount) out += (args[p - 1] as string | undefined) ?? '';
      } else if (named !== undefined) out += named[p.name] ?? '';
    }
    return out;
  }
}

function parseTemplate(t: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c !== '$') {
      lit += c;
      continue;
    }
    const n = t[i + 1];
    if (n === '$') {
      lit += '$';
      i++;
      continue;
    }
    let name = '';
    let end = i + 1;
    if (n === '{') {
      const close = t.indexOf('}', i + 2);
      name = close > 0 ? t.slice(i + 2, close) : '';
      if (!/^\w+$/.test(name)) {
        lit += '$'; // malformed: Go keeps the dollar as text
        continue;
      }
      end = close + 1;
    } else {
      const m = /^\w+/.exec(t.slice(i + 1));
      if (m === null) {
        lit += '$';
        continue;
      }
      name = m[0];
      end = i + 1 + name.length;
    }
    if (lit !== '') parts.push(lit);
    lit = '';
    parts.push(/^\d+$/.test(name) ? Number(name) : { name });
    i = end - 1;
  }
  if (lit !== '') parts.push(lit);
  return parts;
}
