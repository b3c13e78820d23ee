/**
 * TCP matchers with Traefik v3 semantics (pkg/muxer/tcp/matcher.go, mux.go) and compileTcpRule.
 */
import { RuleSyntaxError } from '../../errors.js';
import type { GoRegexp } from '../../regexp/index.js';
import { formatMatcher, parseRule, type MatcherNode, type RuleNode } from '../rule/parser.js';
import { RuleMemo } from '../rule/memo.js';
import type { CompiledRule } from './http.js';
import { ipArg, regexpArg } from './http.js';
import { IPChecker, parseClientAddr } from './ip.js';
import type { MatchTcpRequest } from './request.js';
import { AndPredicate, ConstPredicate, NotPredicate, OrPredicate, type Predicate, TreeRule } from './tree.js';

type P = Predicate<MatchTcpRequest>;

// Traefik's almostFQDN: `^[[:alnum:]\.-]+$`.
const ALMOST_FQDN = /^[0-9A-Za-z.-]+$/;

// tlsalpn01.ACMETLS1Protocol: reserved for ACME TLS-ALPN-01 challenges.
const ACME_TLS_ALPN = 'acme-tls/1';

function show(s: string): string {
  return s === '' ? '(empty)' : s;
}

/**
 * HostSNILeaf compares the (lower-case) SNI with the host, also without one trailing dot.
 * An empty SNI (no TLS, or no server name) never matches a named host.
 */
class HostSNILeaf implements P {
  readonly text: string;
  readonly #host: string;
  readonly #trimmed: string;

  constructor(host: string) {
    this.text = formatMatcher('HostSNI', [host]);
    this.#host = host.toLowerCase();
    this.#trimmed = this.#host.endsWith('.') ? this.#host.slice(0, -1) : this.#host;
  }

  match(req: MatchTcpRequest): boolean {
    const sni = req.sni;
    return sni !== '' && (sni === this.#host || sni === this.#trimmed);
  }

  explain(req: MatchTcpRequest): string | null {
    return this.match(req) ? null : `SNI ${show(req.sni)} did not match ${this.text}`;
  }
}

class HostSNIRegexpLeaf implements P {
  readonly text: string;
  readonly #re: GoRegexp;

  constructor(pattern: string, re: GoRegexp) {
    this.text = formatMatcher('HostSNIRegexp', [pattern]);
    this.#re = re;
  }

  match(req: MatchTcpRequest): boolean {
    return this.#re.test(req.sni);
  }

  explain(req: MatchTcpRequest): string | null {
    return this.match(req) ? null : `SNI ${show(req.sni)} did not match ${this.text}`;
  }
}

class TcpClientIPLeaf implements P {
  readonly text: string;
  readonly #checker: IPChecker;

  constructor(range: string, checker: IPChecker) {
    this.text = formatMatcher('ClientIP', [range]);
    this.#checker = checker;
  }

  match(req: MatchTcpRequest): boolean {
    const a = parseClientAddr(req.clientIP);
    return a !== null && this.#checker.containsAddr(a);
  }

  explain(req: MatchTcpRequest): string | null {
    return this.match(req) ? null : `client IP ${show(req.clientIP)} did not match ${this.text}`;
  }
}

class ALPNLeaf implements P {
  readonly text: string;
  readonly #proto: string;

  constructor(proto: string) {
    this.text = formatMatcher('ALPN', [proto]);
    this.#proto = proto;
  }

  match(req: MatchTcpRequest): boolean {
    return req.alpn.includes(this.#proto);
  }

  explain(req: MatchTcpRequest): string | null {
    return this.match(req) ? null : `ALPN [${req.alpn.join(', ')}] did not match ${this.text}`;
  }
}

function leaf(node: MatcherNode): P {
  const a0 = node.args[0]!;
  const at = node.argPositions[0]!;
  switch (node.name) {
    case 'HostSNI':
      if (a0 === '*') return new ConstPredicate<MatchTcpRequest>(true, formatMatcher('HostSNI', ['*']));
      if (!ALMOST_FQDN.test(a0)) throw new RuleSyntaxError(`HostSNI: ${JSON.stringify(a0)} is not a valid hostname`, at);
      return new HostSNILeaf(a0);
    case 'HostSNIRegexp':
      if (/[^\x00-\x7f]/.test(a0)) throw new RuleSyntaxError(`HostSNIRegexp: ${JSON.stringify(a0)} is not a valid hostname`, at);
      return new HostSNIRegexpLeaf(a0, regexpArg(node, 0));
    case 'ClientIP':
      return new TcpClientIPLeaf(a0, ipArg(node));
    case 'ALPN':
      if (a0 === ACME_TLS_ALPN) throw new RuleSyntaxError(`ALPN: protocol ${JSON.stringify(a0)} is reserved for ACME and not allowed`, at);
      return new ALPNLeaf(a0);
    default:
      throw new RuleSyntaxError(`unknown matcher "${node.name}"`, node.position);
  }
}

function build(node: RuleNode): P {
  switch (node.kind) {
    case 'matcher':
      return leaf(node);
    case 'and':
      return new AndPredicate(build(node.left), build(node.right));
    case 'or':
      return new OrPredicate(build(node.left), build(node.right));
    case 'not':
      return new NotPredicate(build(node.operand));
  }
}

/** requiredSNIs is requiredHosts for HostSNI: exact names (not `*`) every match requires, or null. */
function requiredSNIs(node: RuleNode, negated = false): string[] | null {
  switch (node.kind) {
    case 'matcher':
      if (negated || node.name !== 'HostSNI' || node.args[0] === '*') return null;
      return [node.args[0]!.toLowerCase()];
    case 'not':
      return requiredSNIs(node.operand, !negated);
    default: {
      const isAnd = (node.kind === 'and') !== negated;
      const l = requiredSNIs(node.left, negated);
      const r = requiredSNIs(node.right, negated);
      if (isAnd) {
        if (l === null) return r;
        if (r === null) return l;
        return l.length <= r.length ? l : r;
      }
      if (l === null || r === null) return null;
      return [...new Set([...l, ...r])];
    }
  }
}

/**
 * isTcpCatchAll reports Traefik's catch-all rule: a single HostSNI(`*`) leaf. Traefik checks the
 * leaf without looking at its negation flag, so `!HostSNI(`*`)` counts too (and never matches).
 */
function isTcpCatchAll(tree: RuleNode): boolean {
  let n = tree;
  while (n.kind === 'not') n = n.operand;
  return n.kind === 'matcher' && n.name === 'HostSNI' && n.args[0] === '*';
}

/**
 * defaultTcpPriority is the priority Traefik gives a TCP router whose priority is 0: -1 for the
 * HostSNI(`*`) catch-all (so it is tried last), else the rule's length in bytes.
 */
export function defaultTcpPriority(rule: string): number {
  try {
    return tcpPriorityOfTree(rule, parseRule(rule, 'tcp'));
  } catch {
    return Buffer.byteLength(rule, 'utf8');
  }
}

/** tcpPriorityOfTree is defaultTcpPriority for a rule already parsed. */
export function tcpPriorityOfTree(rule: string, tree: RuleNode): number {
  return isTcpCatchAll(tree) ? -1 : Buffer.byteLength(rule, 'utf8');
}

/** compileTcpRule parses and compiles a TCP rule; it throws RuleSyntaxError. */
export function compileTcpRule(rule: string): CompiledRule<MatchTcpRequest> {
  return compiledTcpRules.get(rule);
}

const compiledTcpRules = new RuleMemo((rule): CompiledRule<MatchTcpRequest> => {
  const tree = parseRule(rule, 'tcp');
  return new TreeRule<MatchTcpRequest>(rule, tree, build(tree), requiredSNIs(tree));
});
