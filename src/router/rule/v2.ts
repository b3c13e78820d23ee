/**
 * Traefik v2 rules (`ruleSyntax: v2`), which Traefik v3 still accepts for migration
 * (pkg/muxer/http/matcher_v2.go, pkg/muxer/tcp/matcher_v2.go): the same operators and strings
 * as v3, but matchers take several values and paths and hosts are gorilla/mux templates.
 * translateV2Rule rewrites a v2 rule into the v3 rule that matches the same requests, so the
 * rest of Gantry (compiler, route tables, explain) knows one language and user regexps still go
 * through the linear-time engine (src/regexp):
 *
 *   Host(`a`, `b`)                     → Host(`a`) || Host(`b`)           (HostHeader too)
 *   HostRegexp(`{sub:[a-z]+}.x.com`)   → HostRegexp(`(?i)^(?:[a-z]+)\.x\.com$`)   ({name} is [^.]+)
 *   Path(`/a/{id:[0-9]+}`)             → PathRegexp(`^/a/(?:[0-9]+)$`)    ({name} is [^/]+)
 *   PathPrefix(`/api/{v}`)             → PathRegexp(`^/api/(?:[^/]+)`)    (no template: PathPrefix)
 *   Method(`GET`, `post`)              → Method(`GET`) || Method(`POST`)
 *   Headers(`K`, `V`, …)               → Header(`K`, `V`) && …            (empty V: the header is present)
 *   HeadersRegexp(`K`, `re`, …)        → HeaderRegexp(`K`, `re`) && …
 *   Query(`k=v`, `k2={n:[0-9]+}`)      → Query(`k`, `v`) && QueryRegexp(`k2`, `^(?:[0-9]+)$`)
 *   ClientIP(`a`, `b`)                 → ClientIP(`a`) || ClientIP(`b`)
 * and for TCP: HostSNI, HostSNIRegexp (templates), ALPN and ClientIP with several values.
 */
import { RuleSyntaxError } from '../../errors.js';
import { tokenize, type Token } from './lexer.js';
import { formatRule, type MatcherNode, type RuleKind, type RuleNode } from './parser.js';

type Translate = (args: readonly string[], pos: number, argPos: readonly number[]) => RuleNode;

const HTTP_V2: Readonly<Record<string, Translate>> = {
  Host: (a, p, ap) => any(a, p, ap, (v, q) => m('Host', [v], q)),
  HostHeader: (a, p, ap) => any(a, p, ap, (v, q) => m('Host', [v], q)),
  HostRegexp: (a, p, ap) => any(a, p, ap, (v, q) => m('HostRegexp', [`(?i)^${template(v, '[^.]+', q)}$`], q)),
  Path: (a, p, ap) => any(a, p, ap, (v, q) => (v.includes('{') ? m('PathRegexp', [`^${template(v, '[^/]+', q)}$`], q) : m('Path', [v], q))),
  PathPrefix: (a, p, ap) => any(a, p, ap, (v, q) => (v.includes('{') ? m('PathRegexp', [`^${template(v, '[^/]+', q)}`], q) : m('PathPrefix', [v], q))),
  Method: (a, p, ap) => any(a, p, ap, (v, q) => m('Method', [v.toUpperCase()], q)),
  ClientIP: (a, p, ap) => any(a, p, ap, (v, q) => m('ClientIP', [v], q)),
  Headers: (a, p) => all(pairs('Headers', a, p), p, ([k, v], q) => (v === '' ? m('HeaderRegexp', [k, '^'], q) : m('Header', [k, v], q))),
  HeadersRegexp: (a, p) => all(pairs('HeadersRegexp', a, p), p, ([k, v], q) => (v === '' ? m('HeaderRegexp', [k, '^'], q) : m('HeaderRegexp', [k, v], q))),
  Query: (a, p) => {
    // As Traefik: every value is split at its first "=" and the parts taken two by two.
    const flat = a.flatMap((v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? [v] : [v.slice(0, eq), v.slice(eq + 1)];
    });
    return all(pairs('Query', flat, p), p, ([k, v], q) => {
      if (v === '') return m('Query', [k], q);
      return v.includes('{') ? m('QueryRegexp', [k, `^${template(v, '.*', q)}$`], q) : m('Query', [k, v], q);
    });
  },
};

const TCP_V2: Readonly<Record<string, Translate>> = {
  HostSNI: (a, p, ap) => (a.includes('*') ? m('HostSNI', ['*'], p) : any(a, p, ap, (v, q) => m('HostSNI', [v], q))),
  HostSNIRegexp: (a, p, ap) => any(a, p, ap, (v, q) => m('HostSNIRegexp', [`(?i)^${template(v, '[^.]+', q)}$`], q)),
  ALPN: (a, p, ap) => any(a, p, ap, (v, q) => m('ALPN', [v], q)),
  ClientIP: (a, p, ap) => any(a, p, ap, (v, q) => m('ClientIP', [v], q)),
};

function m(name: string, args: string[], position: number): MatcherNode {
  return { kind: 'matcher', name, args, position, argPositions: args.map(() => position) };
}

/** any ORs one matcher per value (a v2 matcher with several values matches any of them). */
function any(values: readonly string[], pos: number, argPos: readonly number[], one: (v: string, pos: number) => RuleNode): RuleNode {
  if (values.length === 0) throw new RuleSyntaxError('a v2 matcher needs at least one value', pos);
  let node = one(values[0]!, argPos[0] ?? pos);
  for (let i = 1; i < values.length; i++) node = { kind: 'or', left: node, right: one(values[i]!, argPos[i] ?? pos), position: pos };
  return node;
}

/** all ANDs one matcher per pair (every header or query pair must match). */
function all(list: ReadonlyArray<readonly [string, string]>, pos: number, one: (pair: readonly [string, string], pos: number) => RuleNode): RuleNode {
  let node = one(list[0]!, pos);
  for (let i = 1; i < list.length; i++) node = { kind: 'and', left: node, right: one(list[i]!, pos), position: pos };
  return node;
}

function pairs(name: string, values: readonly string[], pos: number): Array<[string, string]> {
  if (values.length === 0 || values.length % 2 !== 0) throw new RuleSyntaxError(`${name} (v2) takes key/value pairs, got ${values.length} value${values.length === 1 ? '' : 's'}`, pos);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < values.length; i += 2) out.push([values[i]!, values[i + 1]!]);
  return out;
}

/** quoteMeta escapes RE2 metacharacters (Go's regexp.QuoteMeta). */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * template turns a gorilla/mux template (`/users/{id:[0-9]+}`) into a regexp body: literal parts
 * quoted, `{name}` as `defaultPattern`, `{name:pattern}` as the pattern in a non-capturing group.
 * Braces nest, as gorilla's braceIndices counts them.
 */
export function template(t: string, defaultPattern: string, pos: number): string {
  let out = '';
  let level = 0;
  let start = 0;
  let literal = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '{') {
      if (level === 0) {
        out += quoteMeta(t.slice(literal, i));
        start = i;
      }
      level++;
    } else if (c === '}') {
      level--;
      if (level < 0) throw new RuleSyntaxError(`unbalanced braces in "${t}"`, pos);
      if (level === 0) {
        const inner = t.slice(start + 1, i);
        const colon = inner.indexOf(':');
        const name = colon < 0 ? inner : inner.slice(0, colon);
        const pattern = colon < 0 ? defaultPattern : inner.slice(colon + 1);
        if (name === '' || pattern === '') throw new RuleSyntaxError(`missing name or pattern in "${t.slice(start, i + 1)}"`, pos);
        out += `(?:${pattern})`;
        literal = i + 1;
      }
    }
  }
  if (level !== 0) throw new RuleSyntaxError(`unbalanced braces in "${t}"`, pos);
  return out + quoteMeta(t.slice(literal));
}

/** V2Parser is the v3 grammar (see parser.ts) with v2 matchers, building the translated tree. */
class V2Parser {
  readonly #tokens: Token[];
  readonly #table: Readonly<Record<string, Translate>>;
  readonly #kind: RuleKind;
  #i = 0;

  constructor(tokens: Token[], kind: RuleKind) {
    this.#tokens = tokens;
    this.#kind = kind;
    this.#table = kind === 'http' ? HTTP_V2 : TCP_V2;
  }

  parse(): RuleNode {
    const node = this.#or();
    const t = this.#tokens[this.#i]!;
    if (t.kind !== 'eof') throw new RuleSyntaxError('expected "&&", "||" or the end of the rule', t.position);
    return node;
  }

  #or(): RuleNode {
    let left = this.#and();
    while (this.#tokens[this.#i]!.kind === '||') {
      const op = this.#tokens[this.#i++]!;
      left = { kind: 'or', left, right: this.#and(), position: op.position };
    }
    return left;
  }

  #and(): RuleNode {
    let left = this.#unary();
    while (this.#tokens[this.#i]!.kind === '&&') {
      const op = this.#tokens[this.#i++]!;
      left = { kind: 'and', left, right: this.#unary(), position: op.position };
    }
    return left;
  }

  #unary(): RuleNode {
    const t = this.#tokens[this.#i]!;
    if (t.kind === '!') {
      this.#i++;
      return { kind: 'not', operand: this.#unary(), position: t.position };
    }
    if (t.kind === '(') {
      this.#i++;
      const inner = this.#or();
      const close = this.#tokens[this.#i++]!;
      if (close.kind !== ')') throw new RuleSyntaxError(`expected ")" to close the "(" at ${t.position}`, close.position);
      return inner;
    }
    if (t.kind !== 'ident') throw new RuleSyntaxError('expected a matcher, "!" or "("', t.position);
    this.#i++;
    if (this.#tokens[this.#i++]!.kind !== '(') throw new RuleSyntaxError(`expected "(" after ${t.value}`, t.position);
    const args: string[] = [];
    const argPos: number[] = [];
    while (this.#tokens[this.#i]!.kind !== ')') {
      const a = this.#tokens[this.#i++]!;
      if (a.kind !== 'string') throw new RuleSyntaxError('expected a string argument in backticks or double quotes', a.position);
      args.push(a.value);
      argPos.push(a.position);
      const sep = this.#tokens[this.#i]!;
      if (sep.kind === ',') this.#i++;
      else if (sep.kind !== ')') throw new RuleSyntaxError('expected "," or ")"', sep.position);
    }
    this.#i++;
    const name = v2Name(this.#table, t.value);
    if (name === null) {
      throw new RuleSyntaxError(`unknown v2 matcher "${t.value}" (v2 ${this.#kind.toUpperCase()} matchers: ${Object.keys(this.#table).join(', ')})`, t.position);
    }
    return this.#table[name]!(args, t.position, argPos);
  }
}

/** v2Name accepts Traefik's four spellings of a matcher name (as declared, lower, upper, Title). */
function v2Name(table: Readonly<Record<string, Translate>>, written: string): string | null {
  for (const name of Object.keys(table)) {
    const l = name.toLowerCase();
    if (written === name || written === l || written === name.toUpperCase() || written === l.charAt(0).toUpperCase() + l.slice(1)) return name;
  }
  return null;
}

/** translateV2Rule returns the v3 rule text for a v2 rule; it throws RuleSyntaxError with a position. */
export function translateV2Rule(rule: string, kind: RuleKind): string {
  if (rule.trim() === '') throw new RuleSyntaxError('empty rule', 1);
  return formatRule(new V2Parser(tokenize(rule), kind).parse());
}
