/**
 * Constraints select which containers a provider looks at, in Traefik's label-expression
 * language: ``Label(`a`, `b`)``, ``LabelRegex(`a`, `b.+`)``, combined with `&&`, `||`, `!` and
 * parentheses. The expression is compiled once into a predicate over a container's labels.
 */
import { GantryError } from '../../errors.js';
import { compileGoRegexp, GoRegexpError, type GoRegexp } from '../../regexp/index.js';

export type LabelPredicate = (labels: Record<string, string>) => boolean;

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

/** compileConstraints returns a predicate; an empty expression matches every container. */
export function compileConstraints(expr: string | undefined): LabelPredicate {
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
  const or = (): LabelPredicate => {
    let left = and();
    while (peek()?.t === '||') {
      k++;
      const l = left;
      const r = and();
      left = (x) => l(x) || r(x);
    }
    return left;
  };
  const and = (): LabelPredicate => {
    let left = unary();
    while (peek()?.t === '&&') {
      k++;
      const l = left;
      const r = unary();
      left = (x) => l(x) && r(x);
    }
    return left;
  };
  const unary = (): LabelPredicate => {
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
    expect('(');
    const name = expect('str').v;
    expect(',');
    const value = expect('str').v;
    expect(')');
    switch (fn.v) {
      case 'Label':
        return (labels) => labels[name] === value;
      case 'LabelRegex': {
        // Go syntax in linear time (a label value is input a container's author controls); the
        // whole value must match, as before: the pattern is anchored with a non-capturing group.
        let re: GoRegexp;
        try {
          re = compileGoRegexp(`^(?:${value})$`);
        } catch (err) {
          if (!(err instanceof GoRegexpError)) throw err;
          throw new ConstraintError(`bad regular expression: ${err.message}`, fn.pos);
        }
        return (labels) => labels[name] !== undefined && re.test(labels[name]!);
      }
      default:
        throw new ConstraintError(`unknown function "${fn.v}" (use Label or LabelRegex)`, fn.pos);
    }
  };
  const pred = or();
  if (k < toks.length) throw new ConstraintError(`unexpected "${toks[k]!.v}"`, toks[k]!.pos);
  return pred;
}
