/**
 * Recursive-descent parser for Traefik v3 rules. Grammar (Go's precedence: `!` binds tightest,
 * then `&&`, then `||`; binary operators are left-associative):
 *
 *   rule    = or EOF
 *   or      = and { "||" and }
 *   and     = unary { "&&" unary }
 *   unary   = "!" unary | primary
 *   primary = "(" or ")" | IDENT "(" [ STRING { "," STRING } [ "," ] ] ")"
 *
 * parseRule also checks what Traefik checks before building matchers: the matcher name is known
 * for the rule kind, the argument count fits (`expectNParameters`), and no argument is empty
 * (`rules.CheckRule`). Value checks (a path starting with "/", a regexp that compiles…) belong to
 * the compiler in ../matcher.
 */
import { RuleSyntaxError } from '../../errors.js';
import { tokenize, type Token } from './lexer.js';
import { arityText, canonicalMatcherName, matchersOf, unknownMatcherHint, type RuleKind } from './names.js';

export type { RuleKind } from './names.js';

/** MatcherNode is one matcher call, e.g. Header(`X-Env`, `prod`). */
export interface MatcherNode {
  readonly kind: 'matcher';
  /** Canonical name (`PathPrefix` even when written `pathprefix`). */
  readonly name: string;
  readonly args: readonly string[];
  /** 1-based position of the matcher name. */
  readonly position: number;
  /** 1-based position of each argument's opening quote. */
  readonly argPositions: readonly number[];
}

export interface AndNode {
  readonly kind: 'and';
  readonly left: RuleNode;
  readonly right: RuleNode;
  readonly position: number;
}

export interface OrNode {
  readonly kind: 'or';
  readonly left: RuleNode;
  readonly right: RuleNode;
  readonly position: number;
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: RuleNode;
  readonly position: number;
}

export type RuleNode = MatcherNode | AndNode | OrNode | NotNode;

class Parser {
  readonly #tokens: Token[];
  readonly #kind: RuleKind;
  #i = 0;

  constructor(tokens: Token[], kind: RuleKind) {
    this.#tokens = tokens;
    this.#kind = kind;
  }

  #peek(): Token {
    return this.#tokens[this.#i]!;
  }

  #next(): Token {
    return this.#tokens[this.#i++]!;
  }

  parse(): RuleNode {
    const node = this.#or();
    const t = this.#peek();
    if (t.kind !== 'eof') throw unexpected(t, 'expected "&&", "||" or the end of the rule');
    return node;
  }

  #or(): RuleNode {
    let left = this.#and();
    while (this.#peek().kind === '||') {
      const op = this.#next();
      const right = this.#and();
      left = { kind: 'or', left, right, position: op.position };
    }
    return left;
  }

  #and(): RuleNode {
    let left = this.#unary();
    while (this.#peek().kind === '&&') {
      const op = this.#next();
      const right = this.#unary();
      left = { kind: 'and', left, right, position: op.position };
    }
    return left;
  }

  #unary(): RuleNode {
    const t = this.#peek();
    if (t.kind === '!') {
      this.#next();
      return { kind: 'not', operand: this.#unary(), position: t.position };
    }
    return this.#primary();
  }

  #primary(): RuleNode {
    const t = this.#next();
    if (t.kind === '(') {
      const inner = this.#or();
      const close = this.#next();
      if (close.kind !== ')') throw unexpected(close, `expected ")" to close the "(" at ${t.position}`);
      return inner;
    }
    if (t.kind === 'ident') return this.#call(t);
    if (t.kind === 'string') throw new RuleSyntaxError('unexpected string: a rule is made of matchers such as Host(`example.com`)', t.position);
    throw unexpected(t, 'expected a matcher, "!" or "("');
  }

  #call(ident: Token): MatcherNode {
    const open = this.#next();
    if (open.kind !== '(') throw unexpected(open, `expected "(" after ${ident.value}`);
    const args: string[] = [];
    const argPositions: number[] = [];
    while (this.#peek().kind !== ')') {
      const a = this.#next();
      if (a.kind !== 'string') throw unexpected(a, 'expected a string argument in backticks or double quotes');
      args.push(a.value);
      argPositions.push(a.position);
      const sep = this.#peek();
      if (sep.kind === ',') this.#next();
      else if (sep.kind !== ')') throw unexpected(sep, 'expected "," or ")"');
    }
    this.#next();
    const name = canonicalMatcherName(this.#kind, ident.value);
    if (name === null) throw new RuleSyntaxError(`unknown matcher "${ident.value}"${unknownMatcherHint(this.#kind, ident.value)}`, ident.position);
    const arity = matchersOf(this.#kind).get(name)!;
    if (!arity.includes(args.length)) throw new RuleSyntaxError(`${name} takes ${arityText(arity)}, got ${args.length}`, ident.position);
    for (let k = 0; k < args.length; k++) {
      if (args[k] === '') throw new RuleSyntaxError(`${name}: argument ${k + 1} is empty`, argPositions[k]!);
    }
    return { kind: 'matcher', name, args, position: ident.position, argPositions };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of rule';
    case 'ident': return `"${t.value}"`;
    case 'string': return 'string';
    default: return `"${t.kind}"`;
  }
}

function unexpected(t: Token, expected: string): RuleSyntaxError {
  return new RuleSyntaxError(`unexpected ${describe(t)}: ${expected}`, t.position);
}

/**
 * parseRule parses a rule of the given kind into its syntax tree.
 * It throws RuleSyntaxError (with a 1-based position) for any error.
 */
export function parseRule(rule: string, kind: RuleKind): RuleNode {
  if (rule.trim() === '') throw new RuleSyntaxError('empty rule', 1);
  return new Parser(tokenize(rule), kind).parse();
}

/** formatMatcher renders a matcher call for messages: Header(`X-Env`, `prod`). */
export function formatMatcher(name: string, args: readonly string[]): string {
  return `${name}(${args.map((a) => (a.includes('`') ? JSON.stringify(a) : `\`${a}\``)).join(', ')})`;
}

/** formatRule renders a tree back to rule text (canonical names, minimal parentheses). */
export function formatRule(node: RuleNode): string {
  switch (node.kind) {
    case 'matcher':
      return formatMatcher(node.name, node.args);
    case 'not':
      return node.operand.kind === 'matcher' || node.operand.kind === 'not' ? `!${formatRule(node.operand)}` : `!(${formatRule(node.operand)})`;
    case 'and': {
      const side = (n: RuleNode): string => (n.kind === 'or' ? `(${formatRule(n)})` : formatRule(n));
      return `${side(node.left)} && ${side(node.right)}`;
    }
    case 'or':
      return `${formatRule(node.left)} || ${formatRule(node.right)}`;
  }
}
