/**
 * The circuit breaker's expression language, as Traefik's (vulcand/oxy cbreaker predicates.go):
 *
 *   expr   := and ('||' and)*
 *   and    := term ('&&' term)*
 *   term   := '(' expr ')' | metric op number | number op metric
 *   metric := NetworkErrorRatio() | ResponseCodeRatio(from, to, dividedByFrom, dividedByTo)
 *           | LatencyAtQuantileMS(quantile)
 *   op     := '>' | '<' | '>=' | '<=' | '==' | '!='
 *
 * parseExpression compiles it once into a tree of predicates over Metrics. A syntax error is a
 * ConfigError that names the 1-based character position.
 */
import { ConfigError } from '../../errors.js';

/** MetricsView is what the expression reads; the circuit breaker's rolling window implements it. */
export interface MetricsView {
  networkErrorRatio(): number;
  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number;
  latencyAtQuantileMS(quantile: number): number;
}

export type Predicate = (m: MetricsView) => boolean;
type Metric = (m: MetricsView) => number;

const enum T {
  Ident,
  Number,
  LParen,
  RParen,
  Comma,
  And,
  Or,
  Op,
  End,
}

interface Token {
  kind: T;
  text: string;
  pos: number;
}

function fail(pos: number, message: string): never {
  throw new ConfigError('expression', `${message} at ${pos}`);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    const pos = i + 1;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j]!)) j++;
      out.push({ kind: T.Ident, text: src.slice(i, j), pos });
      i = j;
      continue;
    }
    if (/[0-9.]/.test(ch) || (ch === '-' && /[0-9.]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < src.length && /[0-9.eE]/.test(src[j]!)) j++;
      const text = src.slice(i, j);
      if (!Number.isFinite(Number(text))) fail(pos, `invalid number "${text}"`);
      out.push({ kind: T.Number, text, pos });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ kind: two === '&&' ? T.And : T.Or, text: two, pos });
      i += 2;
      continue;
    }
    if (two === '>=' || two === '<=' || two === '==' || two === '!=') {
      out.push({ kind: T.Op, text: two, pos });
      i += 2;
      continue;
    }
    if (ch === '>' || ch === '<') out.push({ kind: T.Op, text: ch, pos });
    else if (ch === '(') out.push({ kind: T.LParen, text: ch, pos });
    else if (ch === ')') out.push({ kind: T.RParen, text: ch, pos });
    else if (ch === ',') out.push({ kind: T.Comma, text: ch, pos });
    else fail(pos, `unexpected character "${ch}"`);
    i++;
  }
  out.push({ kind: T.End, text: '', pos: src.length + 1 });
  return out;
}

class Parser {
  readonly #tokens: Token[];
  #at = 0;

  constructor(src: string) {
    this.#tokens = tokenize(src);
  }

  parse(): Predicate {
    if (this.#peek().kind === T.End) fail(1, 'empty expression');
    const p = this.#or();
    const t = this.#peek();
    if (t.kind !== T.End) fail(t.pos, `unexpected "${t.text}"`);
    return p;
  }

  #peek(): Token {
    return this.#tokens[this.#at]!;
  }

  #take(kind: T, what: string): Token {
    const t = this.#tokens[this.#at]!;
    if (t.kind !== kind) fail(t.pos, t.kind === T.End ? `expected ${what}, found end of expression` : `expected ${what}, found "${t.text}"`);
    this.#at++;
    return t;
  }

  #or(): Predicate {
    let left = this.#and();
    while (this.#peek().kind === T.Or) {
      this.#at++;
      const a = left;
      const b = this.#and();
      left = (m) => a(m) || b(m);
    }
    return left;
  }

  #and(): Predicate {
    let left = this.#term();
    while (this.#peek().kind === T.And) {
      this.#at++;
      const a = left;
      const b = this.#term();
      left = (m) => a(m) && b(m);
    }
    return left;
  }

  #term(): Predicate {
    const t = this.#peek();
    if (t.kind === T.LParen) {
      this.#at++;
      const inner = this.#or();
      this.#take(T.RParen, '")"');
      return inner;
    }
    if (t.kind === T.Number) {
      this.#at++;
      const op = this.#take(T.Op, 'a comparison operator');
      const metric = this.#metric();
      return compare(() => Number(t.text), op.text, metric);
    }
    const metric = this.#metric();
    const op = this.#take(T.Op, 'a comparison operator (>, <, >=, <=, ==, !=)');
    const n = Number(this.#take(T.Number, 'a number').text);
    return compare(metric, op.text, () => n);
  }

  #metric(): Metric {
    const name = this.#take(T.Ident, 'a metric such as NetworkErrorRatio()');
    this.#take(T.LParen, '"("');
    const args: number[] = [];
    if (this.#peek().kind !== T.RParen) {
      args.push(Number(this.#take(T.Number, 'a number').text));
      while (this.#peek().kind === T.Comma) {
        this.#at++;
        args.push(Number(this.#take(T.Number, 'a number').text));
      }
    }
    this.#take(T.RParen, '")"');
    switch (name.text) {
      case 'NetworkErrorRatio':
        arity(name, args, 0);
        return (m) => m.networkErrorRatio();
      case 'ResponseCodeRatio': {
        arity(name, args, 4);
        const [from, to, dFrom, dTo] = args as [number, number, number, number];
        if (from >= to || dFrom >= dTo) fail(name.pos, 'ResponseCodeRatio ranges must have from < to');
        return (m) => m.responseCodeRatio(from, to, dFrom, dTo);
      }
      case 'LatencyAtQuantileMS': {
        arity(name, args, 1);
        const q = args[0]!;
        if (q <= 0 || q > 100) fail(name.pos, 'LatencyAtQuantileMS quantile must be in (0, 100]');
        return (m) => m.latencyAtQuantileMS(q);
      }
      default:
        return fail(name.pos, `unknown metric "${name.text}" (want NetworkErrorRatio, ResponseCodeRatio or LatencyAtQuantileMS)`);
    }
  }
}

function arity(name: Token, args: number[], n: number): void {
  if (args.length !== n) fail(name.pos, `${name.text} takes ${n} argument${n === 1 ? '' : 's'}, got ${args.length}`);
}

function compare(left: Metric, op: string, right: Metric): Predicate {
  switch (op) {
    case '>':
      return (m) => left(m) > right(m);
    case '<':
      return (m) => left(m) < right(m);
    case '>=':
      return (m) => left(m) >= right(m);
    case '<=':
      return (m) => left(m) <= right(m);
    case '==':
      return (m) => left(m) === right(m);
    default:
      return (m) => left(m) !== right(m);
  }
}

/** parseExpression compiles a circuit breaker expression or throws a ConfigError with the position. */
export function parseExpression(src: string): Predicate {
  return new Parser(src).parse();
}
