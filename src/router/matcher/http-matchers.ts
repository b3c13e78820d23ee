/**
 * The HTTP matchers of Traefik v3 (pkg/muxer/http/matcher.go) as long-lived predicate objects.
 */
import type { GoRegexp } from '../../regexp/index.js';
import { formatMatcher } from '../rule/parser.js';
import { IPChecker, parseClientAddr } from './ip.js';
import { headerValue, queryHasValue, type MatchRequest, type QueryValueTest } from './request.js';
import type { Predicate } from './tree.js';

type P = Predicate<MatchRequest>;

export function isASCII(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function show(s: string): string {
  return s === '' ? '(empty)' : s;
}

/**
 * HostExpr matches a host against a host expression (Traefik pkg/muxer/muxer.go
 * DomainMatchHostExpression): "**.example.com" matches any subdomain (one or more labels),
 * "*.example.com" exactly one label, anything else is an exact, case-insensitive name.
 */
class HostExpr {
  readonly kind: 'exact' | 'single' | 'multi';
  readonly expr: string;
  /** For 'single': the expression after "*"; for 'multi': "." + the suffix. */
  readonly tail: string;

  constructor(expr: string) {
    this.expr = expr;
    if (expr.startsWith('**.')) {
      this.kind = 'multi';
      this.tail = expr.slice(2);
    } else if (expr.startsWith('*')) {
      this.kind = 'single';
      this.tail = expr.slice(1);
    } else {
      this.kind = 'exact';
      this.tail = '';
    }
  }

  test(domain: string): boolean {
    switch (this.kind) {
      case 'exact':
        return domain === this.expr;
      case 'multi':
        return domain.length > this.tail.length && domain.endsWith(this.tail);
      case 'single': {
        // Go replaces the first label with "*" and compares: the rest, from the first dot, must equal the tail.
        const dot = domain.indexOf('.');
        if (dot < 0) return this.tail === '';
        return domain.length - dot === this.tail.length && domain.endsWith(this.tail);
      }
    }
  }
}

/** HostLeaf is Host(`name`): case-insensitive, port ignored, one trailing dot ignored on either side. */
export class HostLeaf implements P {
  readonly text: string;
  readonly host: string;
  readonly #expr: HostExpr;
  readonly #exprNoDot: HostExpr | null;

  constructor(host: string) {
    this.host = host.toLowerCase();
    this.text = formatMatcher('Host', [host]);
    this.#expr = new HostExpr(this.host);
    this.#exprNoDot = this.host.endsWith('.') ? new HostExpr(this.host.slice(0, -1)) : null;
  }

  match(req: MatchRequest): boolean {
    const h = req.host;
    if (h.length === 0) return false;
    if (this.#expr.test(h)) return true;
    if (this.#exprNoDot !== null && this.#exprNoDot.test(h)) return true;
    return h.charCodeAt(h.length - 1) === 46 && this.#expr.test(h.slice(0, -1));
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `host ${show(req.host)} did not match ${this.text}`;
  }
}

/**
 * HostRegexpLeaf is HostRegexp(`re`) on the canonical (lower-case, port-less) host. Traefik also
 * tests the pattern against the CNAME-flattened host, which is "" when CNAME flattening is off:
 * a pattern that matches the empty string therefore matches every request. We keep that.
 */
export class HostRegexpLeaf implements P {
  readonly text: string;
  readonly #re: GoRegexp;
  readonly #always: boolean;

  constructor(pattern: string, re: GoRegexp) {
    this.text = formatMatcher('HostRegexp', [pattern]);
    this.#re = re;
    this.#always = re.test('');
  }

  match(req: MatchRequest): boolean {
    return this.#always || this.#re.test(req.host);
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `host ${show(req.host)} did not match ${this.text}`;
  }
}

export class PathLeaf implements P {
  readonly text: string;
  readonly #path: string;

  constructor(path: string) {
    this.text = formatMatcher('Path', [path]);
    this.#path = path;
  }

  match(req: MatchRequest): boolean {
    return req.path === this.#path;
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `path ${show(req.path)} did not match ${this.text}`;
  }
}

export class PathPrefixLeaf implements P {
  readonly text: string;
  readonly #prefix: string;

  constructor(prefix: string) {
    this.text = formatMatcher('PathPrefix', [prefix]);
    this.#prefix = prefix;
  }

  match(req: MatchRequest): boolean {
    return req.path.startsWith(this.#prefix);
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `path ${show(req.path)} did not match ${this.text}`;
  }
}

export class PathRegexpLeaf implements P {
  readonly text: string;
  readonly #re: GoRegexp;

  constructor(pattern: string, re: GoRegexp) {
    this.text = formatMatcher('PathRegexp', [pattern]);
    this.#re = re;
  }

  match(req: MatchRequest): boolean {
    return this.#re.test(req.path);
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `path ${show(req.path)} did not match ${this.text}`;
  }
}

/** MethodLeaf upper-cases the rule's method and compares it with the request method as sent. */
export class MethodLeaf implements P {
  readonly text: string;
  readonly #method: string;

  constructor(method: string) {
    this.text = formatMatcher('Method', [method]);
    this.#method = method.toUpperCase();
  }

  match(req: MatchRequest): boolean {
    return req.method === this.#method;
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `method ${show(req.method)} did not match ${this.text}`;
  }
}

/**
 * Go's server takes Host out of req.Header (into req.Host) and Transfer-Encoding too (into
 * req.TransferEncoding), and HTTP/2 pseudo-headers are never in it: Header() and HeaderRegexp()
 * on those names never match in Traefik, nor here.
 */
function headerInvisible(lowerName: string): boolean {
  return lowerName === 'host' || lowerName === 'transfer-encoding' || lowerName.charCodeAt(0) === 58;
}

abstract class HeaderLeafBase implements P {
  abstract readonly text: string;
  readonly name: string;
  readonly #lower: string;
  readonly #invisible: boolean;

  constructor(name: string) {
    this.name = name;
    this.#lower = name.toLowerCase();
    this.#invisible = headerInvisible(this.#lower);
  }

  abstract testValue(v: string): boolean;

  match(req: MatchRequest): boolean {
    if (this.#invisible) return false;
    const v = headerValue(req.headers, this.#lower);
    if (v === undefined) return false;
    if (typeof v === 'string') return this.testValue(v);
    for (let i = 0; i < v.length; i++) if (this.testValue(v[i]!)) return true;
    return false;
  }

  explain(req: MatchRequest): string | null {
    if (this.match(req)) return null;
    const v = this.#invisible ? undefined : headerValue(req.headers, this.#lower);
    const seen = v === undefined ? 'absent' : JSON.stringify(v);
    return `header ${this.name} ${seen} did not match ${this.text}`;
  }
}

export class HeaderLeaf extends HeaderLeafBase {
  readonly text: string;
  readonly #value: string;

  constructor(name: string, value: string) {
    super(name);
    this.text = formatMatcher('Header', [name, value]);
    this.#value = value;
  }

  testValue(v: string): boolean {
    return v === this.#value;
  }
}

export class HeaderRegexpLeaf extends HeaderLeafBase {
  readonly text: string;
  readonly #re: GoRegexp;

  constructor(name: string, pattern: string, re: GoRegexp) {
    super(name);
    this.text = formatMatcher('HeaderRegexp', [name, pattern]);
    this.#re = re;
  }

  testValue(v: string): boolean {
    return this.#re.test(v);
  }
}

/** QueryLeaf is Query(`k`, `v`), Query(`k`) (which wants an empty value, `?k` or `?k=`) and QueryRegexp. */
export class QueryLeaf implements P, QueryValueTest {
  readonly text: string;
  readonly #key: string;
  readonly #value: string;
  readonly #re: GoRegexp | null;

  constructor(text: string, key: string, value: string, re: GoRegexp | null) {
    this.text = text;
    this.#key = key;
    this.#value = value;
    this.#re = re;
  }

  testQueryValue(v: string): boolean {
    return this.#re === null ? v === this.#value : this.#re.test(v);
  }

  match(req: MatchRequest): boolean {
    return queryHasValue(req.query, this.#key, this);
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `query ${req.query === '' ? '(empty)' : JSON.stringify(req.query)} did not match ${this.text}`;
  }
}

export class ClientIPLeaf implements P {
  readonly text: string;
  readonly #checker: IPChecker;

  constructor(range: string, checker: IPChecker) {
    this.text = formatMatcher('ClientIP', [range]);
    this.#checker = checker;
  }

  match(req: MatchRequest): boolean {
    const a = parseClientAddr(req.clientIP);
    return a !== null && this.#checker.containsAddr(a);
  }

  explain(req: MatchRequest): string | null {
    return this.match(req) ? null : `client IP ${show(req.clientIP)} did not match ${this.text}`;
  }
}
