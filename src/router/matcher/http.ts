/**
 * compileHttpRule: HTTP rule text → predicate tree (see http-matchers.ts), plus the hosts a rule
 * requires and its default priority.
 */
import { RuleSyntaxError } from '../../errors.js';
import { formatMatcher, parseRule, type MatcherNode, type RuleNode } from '../rule/parser.js';
import { RuleMemo } from '../rule/memo.js';
import { compileGoRegexp, GoRegexpError, literalPrefix, type GoRegexp } from '../../regexp/index.js';
import {
  ClientIPLeaf,
  HeaderLeaf,
  HeaderRegexpLeaf,
  HostLeaf,
  HostRegexpLeaf,
  isASCII,
  MethodLeaf,
  PathLeaf,
  PathPrefixLeaf,
  PathRegexpLeaf,
  QueryLeaf,
} from './http-matchers.js';
import { IPChecker } from './ip.js';
import type { MatchRequest } from './request.js';
import { AndPredicate, NotPredicate, OrPredicate, type Predicate, TreeRule } from './tree.js';

type P = Predicate<MatchRequest>;

/** regexpArg compiles a Go regexp argument (once per rule), turning its errors into RuleSyntaxError. */
export function regexpArg(node: MatcherNode, k: number): GoRegexp {
  try {
    return compileGoRegexp(node.args[k]!);
  } catch (err) {
    if (err instanceof GoRegexpError) throw new RuleSyntaxError(`${node.name}: error parsing regexp: ${err.message}`, node.argPositions[k]!);
    throw err;
  }
}

/** ipArg builds the checker of a ClientIP argument. */
export function ipArg(node: MatcherNode): IPChecker {
  try {
    return new IPChecker([node.args[0]!]);
  } catch (err) {
    throw new RuleSyntaxError(`ClientIP: ${(err as Error).message}`, node.argPositions[0]!);
  }
}

function leaf(node: MatcherNode): P {
  const a = node.args;
  const at = (k: number): number => node.argPositions[k]!;
  switch (node.name) {
    case 'Host':
      if (!isASCII(a[0]!)) throw new RuleSyntaxError(`Host: invalid value ${JSON.stringify(a[0])}, non-ASCII characters are not allowed`, at(0));
      return new HostLeaf(a[0]!);
    case 'HostRegexp':
      if (!isASCII(a[0]!)) throw new RuleSyntaxError(`HostRegexp: invalid value ${JSON.stringify(a[0])}, non-ASCII characters are not allowed`, at(0));
      return new HostRegexpLeaf(a[0]!, regexpArg(node, 0));
    case 'Path':
    case 'PathPrefix':
      if (!a[0]!.startsWith('/')) throw new RuleSyntaxError(`${node.name}: path ${JSON.stringify(a[0])} does not start with a '/'`, at(0));
      return node.name === 'Path' ? new PathLeaf(a[0]!) : new PathPrefixLeaf(a[0]!);
    case 'PathRegexp':
      return new PathRegexpLeaf(a[0]!, regexpArg(node, 0));
    case 'Method':
      return new MethodLeaf(a[0]!);
    case 'Header':
      return new HeaderLeaf(a[0]!, a[1]!);
    case 'HeaderRegexp':
      return new HeaderRegexpLeaf(a[0]!, a[1]!, regexpArg(node, 1));
    case 'Query':
      return new QueryLeaf(formatMatcher('Query', a), a[0]!, a[1] ?? '', null);
    case 'QueryRegexp':
      // With one argument, QueryRegexp is Query (Traefik's queryRegexp calls query).
      return new QueryLeaf(formatMatcher('QueryRegexp', a), a[0]!, a[1] ?? '', a.length === 2 ? regexpArg(node, 1) : null);
    case 'ClientIP':
      return new ClientIPLeaf(a[0]!, ipArg(node));
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

/**
 * requiredValues walks a rule for a necessary condition: a list of values one of which every
 * matching request must have, where `leaf` names the values a single (non-negated) matcher
 * requires, or null. AND keeps the smaller side, OR needs both sides and unites them, and under
 * negation De Morgan swaps the two.
 */
function requiredValues(node: RuleNode, negated: boolean, leaf: (m: RuleNode & { kind: 'matcher' }) => string[] | null): string[] | null {
  switch (node.kind) {
    case 'matcher':
      return negated ? null : leaf(node);
    case 'not':
      return requiredValues(node.operand, !negated, leaf);
    case 'and':
    case 'or': {
      const isAnd = (node.kind === 'and') !== negated;
      const l = requiredValues(node.left, negated, leaf);
      const r = requiredValues(node.right, negated, leaf);
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
 * requiredHosts returns the exact hosts one of which every matching request must have, or null
 * when the rule can match some other host. Wildcard Host expressions, HostRegexp and negated
 * Host give null.
 */
export function requiredHosts(node: RuleNode): string[] | null {
  return requiredValues(node, false, (m) => (m.name !== 'Host' || m.args[0]!.startsWith('*') ? null : [m.args[0]!.toLowerCase()]));
}

/**
 * requiredPathPrefixes returns literal prefixes one of which the path of every matching request
 * starts with (from Path and PathPrefix, which compare strings exactly, and from PathRegexp
 * patterns that start with `^` and literal text, see literalPrefix), or null when the rule can
 * match any path. The route table indexes routes by them (table.ts, PathIndex).
 */
export function requiredPathPrefixes(node: RuleNode): string[] | null {
  return requiredValues(node, false, (m) => {
    if (m.name === 'Path' || m.name === 'PathPrefix') return [m.args[0]!];
    const prefix = m.name === 'PathRegexp' ? literalPrefix(m.args[0]!) : '';
    return prefix === '' ? null : [prefix];
  });
}

/** positiveHosts lists Host values not under negation, as Traefik's ParseDomains does. */
function positiveHosts(node: RuleNode, negated: boolean, out: string[]): void {
  if (node.kind === 'matcher') {
    if (!negated && node.name === 'Host') out.push(node.args[0]!.toLowerCase());
  } else if (node.kind === 'not') positiveHosts(node.operand, !negated, out);
  else {
    positiveHosts(node.left, negated, out);
    positiveHosts(node.right, negated, out);
  }
}

/**
 * defaultHttpPriority is Traefik's GetRulePriority: the rule's length in bytes (Go's len), minus 2
 * for each positive `**.` double-wildcard Host so that it ranks below the hosts it covers.
 */
export function defaultHttpPriority(rule: string): number {
  try {
    return httpPriorityOfTree(rule, parseRule(rule, 'http'));
  } catch {
    return Buffer.byteLength(rule, 'utf8');
  }
}

/** httpPriorityOfTree is defaultHttpPriority for a rule already parsed. */
export function httpPriorityOfTree(rule: string, tree: RuleNode): number {
  let priority = Buffer.byteLength(rule, 'utf8');
  const hosts: string[] = [];
  positiveHosts(tree, false, hosts);
  for (const h of hosts) if (h.startsWith('**.')) priority -= 2;
  return priority;
}

/** CompiledRule is a rule ready to match requests. */
export interface CompiledRule<R = MatchRequest> {
  readonly rule: string;
  readonly tree: RuleNode;
  match(req: R): boolean;
  /** null when the request matches, else a short reason. */
  explain(req: R): string | null;
  /** Exact host names one of which every match requires (lower-case), or null. */
  readonly hosts: readonly string[] | null;
  /** Literal path prefixes one of which every match requires, or null (HTTP rules only). */
  readonly pathPrefixes?: readonly string[] | null;
}

/** compileHttpRule parses and compiles an HTTP rule; it throws RuleSyntaxError. */
export function compileHttpRule(rule: string): CompiledRule<MatchRequest> {
  return compiledHttpRules.get(rule);
}

// A compiled rule holds no per-request or per-snapshot state, so one serves every snapshot (memo.ts).
const compiledHttpRules = new RuleMemo((rule): CompiledRule<MatchRequest> => {
  const tree = parseRule(rule, 'http');
  return new TreeRule<MatchRequest>(rule, tree, build(tree), requiredHosts(tree), requiredPathPrefixes(tree));
});

