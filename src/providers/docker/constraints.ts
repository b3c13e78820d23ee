/**
 * Constraints select which containers a provider looks at, in Traefik's label-expression
 * language: ``Label(`a`, `b`)``, ``LabelRegex(`a`, `b.+`)``, combined with `&&`, `||`, `!` and
 * parentheses. The expression is compiled once into a predicate over a container's labels.
 * The Consul catalog's constraints are the same language over a service's tags, with
 * ``Tag(`a`)`` and ``TagRegex(`a.+`)`` (compileTagConstraints), as in Traefik.
 */
import { GantryError } from '../../errors.js';
import { compileGoRegexp, GoRegexpError, type GoRegexp } from '../../regexp/index.js';

export type LabelPredicate = (labels: Record<string, string>) => boolean;
export type TagPredicate = (tags: readonly string[]) => boolean;

export class ConstraintError extends GantryError {
  constructor(message: string, position: number) {
    super(`constraints: ${message} at ${position}`, 'GANTRY_ERR_CONFIG');
    this.name = 'ConstraintError';
  }
}

type Tok = { t: '(' | ')' | '&&' | '||' | '!' | ',' | 'ident' | 'str'; v: string; pos: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ t: two, v: two, pos: i + 1 });
      i += 2;
    } else if (c === '(' || c === ')' || c === '!' || c === ',') {
      out.push({ t: c, v: c, pos: i + 1 });
      i++;
    } else if (c === '`' || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ConstraintError('unterminated string', i + 1);
      out.push({ t: 'str', v: src.slice(i + 1, end), pos: i + 1 });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const m = /^[A-Za-z][A-Za-z0-9]*/.exec(src.slice(i))!;
      out.push({ t: 'ident', v: m[0], pos: i + 1 });
      i += m[0].length;
    } else {
      throw new ConstraintError(`unexpected "${c}"`, i + 1);
    }
  }
  return out;
}

/** ConstraintFunction is one matcher of the language: its argument count and its predicate. */
interface ConstraintFunction<T> {
  arity: 1 | 2;
  make(args: string[], pos: number): (x: T) => boolean;
}

/** goRegexp compiles a constraint's pattern (Go syntax, linear time: the input is the container's author's). */
function goRegexp(pattern: string, pos: number): GoRegexp {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    if (!(err instanceof GoRegexpError)) throw err;
    throw new ConstraintError(`bad regular expression: ${err.message}`, pos);
  }
}

const LABEL_FUNCTIONS: Record<string, ConstraintFunction<Record<string, string>>> = {
  Label: { arity: 2, make: ([name, value]) => (labels) => labels[name!] === value },
  // The whole value must match, as before: the pattern is anchored with a non-capturing group.
  LabelRegex: {
    arity: 2,
    make: ([name, value], pos) => {
      const re = goRegexp(`^(?:${value})$`, pos);
      return (labels) => labels[name!] !== undefined && re.test(labels[name!]!);
    },
  },
};

const TAG_FUNCTIONS: Record<string, ConstraintFunction<readonly string[]>> = {
  Tag: { arity: 1, make: ([tag]) => (tags) => tags.includes(tag!) },
  // As Traefik's TagRegex: some tag contains a match (unanchored).
  TagRegex: {
    arity: 1,
    make: ([pattern], pos) => {
      const re = goRegexp(pattern!, pos);
      return (tags) => tags.some((t) => re.test(t));
    },
  },
};

/** compileConstraints returns a predicate over labels; an empty expression matches every container. */
export function compileConstraints(expr: string | undefined): LabelPredicate {
  return compileExpression(expr, LABEL_FUNCTIONS);
}

/** compileTagConstraints returns a predicate over Consul tags; an empty expression matches every service. */
export function compileTagConstraints(expr: string | undefined): TagPredicate {
  return compileExpression(expr, TAG_FUNCTIONS);
}

function compileExpression<T>(expr: string | undefined, functions: Record<string, ConstraintFunction<T>>): (x: T) => boolean {
  type Pred = (x: T) => boolean;
  if (expr === undefined || expr.trim() === '') return () => true;
  const toks = tokenize(expr);
  let k = 0;
  const peek = (): Tok | undefined => toks[k];
  const expect = (t: Tok['t']): Tok => {
    const tok = toks[k];
    if (!tok || tok.t !== t) throw new ConstraintError(`expected "${t}"`, tok?.pos ?? expr.length + 1);
    k++;
    return tok;
  };
  const or = (): Pred => {
    let left = and();
    while (peek()?.t === '||') {
      k++;
      const l = left;
      const r = and();
      left = (x) => l(x) || r(x);
    }
    return left;
  };
  const and = (): Pred => {
    let left = unary();
    while (peek()?.t === '&&') {
      k++;
      const l = left;
      const r = unary();
      left = (x) => l(x) && r(x);
    }
    return left;
  };
  const unary = (): Pred => {
    const tok = peek();
    if (tok?.t === '!') {
      k++;
      const inner = unary();
      return (x) => !inner(x);
    }
    if (tok?.t === '(') {
      k++;
      const inner = or();
      expect(')');
      return inner;
    }
    const fn = expect('ident');
    const def = Object.hasOwn(functions, fn.v) ? functions[fn.v]! : undefined;
    if (def === undefined) throw new ConstraintError(`unknown function "${fn.v}" (use ${Object.keys(functions).join(' or ')})`, fn.pos);
    expect('(');
    const args = [expect('str').v];
    if (def.arity === 2) {
      expect(',');
      args.push(expect('str').v);
    }
    expect(')');
    return def.make(args, fn.pos);
  };
  const pred = or();
  if (k < toks.length) throw new ConstraintError(`unexpected "${toks[k]!.v}"`, toks[k]!.pos);
  return pred;
}
