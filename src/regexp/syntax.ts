/**
 * The little of Go's regexp syntax that GoRegexp reads itself, before re2js compiles the pattern:
 * where named groups are (to keep Go's repeated names), and the literal text every match must
 * start with (a cheap test before the engine, and a key for the route table's path index). Both
 * skip escapes, `\Q…\E` and bracketed classes as Go's parser does.
 */

/** A named group's name in a pattern: [start, end) of the name itself. */
interface NameSite {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/**
 * skipQuoted returns the index after the escape, `\Q…\E` or bracketed class starting at i, or -1
 * when none starts there (their characters are never operators).
 */
function skipQuoted(p: string, i: number): number {
  if (p[i] === '\\') return escapeEnd(p, i);
  return p[i] === '[' ? classEnd(p, i) : -1;
}

/**
 * escapeEnd returns the index after the escape at i, whole: `\Q…\E`, `\pL`, `\p{Greek}`,
 * `\x41`, `\x{41}`, `\101` (so that no part of one is read as a literal or an operator).
 */
function escapeEnd(p: string, i: number): number {
  const e = p[i + 1];
  if (e === 'Q') {
    const end = p.indexOf('\\E', i + 2);
    return end < 0 ? p.length : end + 2;
  }
  if ((e === 'p' || e === 'P' || e === 'x') && p[i + 2] === '{') {
    const end = p.indexOf('}', i + 3);
    return end < 0 ? p.length : end + 1;
  }
  if (e === 'p' || e === 'P') return i + 3;
  if (e === 'x') return i + 4;
  if (e !== undefined && e >= '0' && e <= '7') {
    let j = i + 2;
    while (j < i + 4 && p[j]! >= '0' && p[j]! <= '7') j++;
    return j;
  }
  return i + 2;
}

/** namedGroupSites finds the `(?P<name>` and `(?<name>` groups of a pattern. */
export function namedGroupSites(p: string): NameSite[] {
  const out: NameSite[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    const skip = skipQuoted(p, i);
    if (skip >= 0) {
      i = skip;
    } else if (c === '(' && p[i + 1] === '?') {
      const open = p.startsWith('(?P<', i) ? i + 4 : p.startsWith('(?<', i) && p[i + 3] !== '=' && p[i + 3] !== '!' ? i + 3 : -1;
      const close = open < 0 ? -1 : p.indexOf('>', open);
      if (close > open) out.push({ name: p.slice(open, close), start: open, end: close });
      i = close > open ? close + 1 : i + 2;
    } else i++;
  }
  return out;
}

/**
 * classEnd returns the index after the `]` closing the class that starts at `[` (or the end): a
 * `]` first in a class, after `[` or `[^`, is a literal, and `[:alpha:]` is one item.
 */
function classEnd(p: string, open: number): number {
  let i = open + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  while (i < p.length) {
    if (p[i] === ']') return i + 1;
    if (p[i] === '\\') i += 2;
    else if (p.startsWith('[:', i)) {
      const e = p.indexOf(':]', i + 2);
      i = e < 0 ? i + 1 : e + 2;
    } else i++;
  }
  return p.length;
}

/**
 * Go accepts a capture-group name used twice (`(?P<x>hi)|(?P<x>bye)`, and `$x` then expands to
 * whichever took part in the match); re2js, like RE2 in C++ and Java, refuses it. To keep Go's
 * meaning the repeated names are renamed to fresh ones before compiling, and GoRegexp puts the
 * original names back in its SubexpNames.
 *
 * renameDuplicateNames rewrites every repeated group name to a fresh one; `renamed` maps each
 * fresh name back to the original. It returns null when no name repeats.
 */
export function renameDuplicateNames(p: string): { pattern: string; renamed: Map<string, string> } | null {
  const sites = namedGroupSites(p);
  const taken = new Set(sites.map((s) => s.name));
  const seen = new Set<string>();
  const renamed = new Map<string, string>();
  let out = '';
  let last = 0;
  let k = 0;
  for (const s of sites) {
    if (!seen.has(s.name)) {
      seen.add(s.name);
      continue;
    }
    let fresh: string;
    do fresh = `${s.name}_dup${++k}`;
    while (taken.has(fresh));
    taken.add(fresh);
    renamed.set(fresh, s.name);
    out += p.slice(last, s.start) + fresh;
    last = s.end;
  }
  return renamed.size === 0 ? null : { pattern: out + p.slice(last), renamed };
}

/** hasTopLevelAlternation reports a `|` outside every group, class and escape. */
function hasTopLevelAlternation(p: string): boolean {
  let depth = 0;
  let i = 0;
  while (i < p.length) {
    const skip = skipQuoted(p, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    const c = p[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
    i++;
  }
  return false;
}

// Characters that stand for themselves in Go syntax, escaped or not (no flags can precede them).
const PLAIN = /[A-Za-z0-9/_~%,;=@!:&'"#<> -]/;
// ASCII punctuation: a backslash before it makes a literal (Go: `\.`, `\/`, `\-` …).
const PUNCT = /[!-/:-@[-`{-~]/;

/**
 * literalPrefix returns text that the input must start with for the pattern to match, or "".
 * Only the plain case is recognised, conservatively: a leading `^` (the start of the text, as no
 * flag can come before it), no `|` outside groups, then literal characters up to the first
 * operator; a character that a quantifier follows is not required, so it is left out.
 */
export function literalPrefix(p: string): string {
  if (p[0] !== '^' || hasTopLevelAlternation(p)) return '';
  let out = '';
  let i = 1;
  for (;;) {
    const c = p[i];
    if (c !== undefined && PLAIN.test(c)) {
      out += c;
      i++;
    } else if (c === '\\' && p[i + 1] !== undefined && PUNCT.test(p[i + 1]!)) {
      out += p[i + 1];
      i += 2;
    } else {
      if (c === '*' || c === '+' || c === '?' || c === '{') out = out.slice(0, -1);
      return out;
    }
  }
}

// A flag group that turns case folding on (or off) anywhere: literals are then not exact text.
const CASE_FLAG = /\(\?[A-Za-z-]*i/;
// A repetition count, which follows its operand: `{2}`, `{2,}`, `{2,5}`.
const REPEAT = /^\{[0-9]+(,[0-9]*)?\}/;

/**
 * requiredLiteral returns the longest text that every match contains, or "": `/svc3/[0-9]+$`
 * gives "/svc3/", so that an input without it is refused with one includes(). Conservative, like
 * literalPrefix: only runs of plain characters outside groups, in a pattern without a `|` outside
 * groups and without case folding; a character a quantifier follows is not part of a run.
 */
export function requiredLiteral(p: string): string {
  if (CASE_FLAG.test(p) || hasTopLevelAlternation(p)) return '';
  let best = '';
  let run = '';
  const endRun = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    let lit: string | null = null;
    let next = i + 1;
    if (PLAIN.test(c)) lit = c;
    else if (c === '\\' && p[i + 1] !== undefined && PUNCT.test(p[i + 1]!)) {
      lit = p[i + 1]!;
      next = i + 2;
    }
    if (lit !== null) {
      const q = p[next];
      if (q === '*' || q === '+' || q === '?' || q === '{') endRun();
      else run += lit;
      i = next;
      continue;
    }
    endRun();
    if (c === '(') i = groupEnd(p, i);
    else if (c === '{') i += REPEAT.exec(p.slice(i))?.[0].length ?? 1;
    else {
      const skip = skipQuoted(p, i);
      i = skip >= 0 ? skip : i + 1;
    }
  }
  endRun();
  return best;
}

/** groupEnd returns the index after the `)` that closes the group opened at i (or the end). */
function groupEnd(p: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < p.length) {
    const skip = skipQuoted(p, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    if (p[i] === '(') depth++;
    else if (p[i] === ')' && --depth === 0) return i + 1;
    i++;
  }
  return p.length;
}
