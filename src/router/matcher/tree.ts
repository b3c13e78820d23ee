/**
 * Compiled rule trees. Every node is a long-lived object built once per configuration; matching
 * calls methods on them and allocates nothing (no closures, no regexps per request).
 */
import type { RuleNode } from '../rule/parser.js';

/** Predicate is a compiled node over requests of type R. */
export interface Predicate<R> {
  match(req: R): boolean;
  /** explain returns null when the node matches, else a short reason. */
  explain(req: R): string | null;
  /** text renders the node as rule text. */
  readonly text: string;
}

export class AndPredicate<R> implements Predicate<R> {
  readonly left: Predicate<R>;
  readonly right: Predicate<R>;
  readonly text: string;

  constructor(left: Predicate<R>, right: Predicate<R>) {
    this.left = left;
    this.right = right;
    const side = (p: Predicate<R>): string => (p instanceof OrPredicate ? `(${p.text})` : p.text);
    this.text = `${side(left)} && ${side(right)}`;
  }

  match(req: R): boolean {
    return this.left.match(req) && this.right.match(req);
  }

  explain(req: R): string | null {
    return this.left.explain(req) ?? this.right.explain(req);
  }
}

export class OrPredicate<R> implements Predicate<R> {
  readonly left: Predicate<R>;
  readonly right: Predicate<R>;
  readonly text: string;

  constructor(left: Predicate<R>, right: Predicate<R>) {
    this.left = left;
    this.right = right;
    this.text = `${left.text} || ${right.text}`;
  }

  match(req: R): boolean {
    return this.left.match(req) || this.right.match(req);
  }

  explain(req: R): string | null {
    const l = this.left.explain(req);
    if (l === null) return null;
    const r = this.right.explain(req);
    if (r === null) return null;
    return `${l}, and ${r}`;
  }
}

export class NotPredicate<R> implements Predicate<R> {
  readonly operand: Predicate<R>;
  readonly text: string;

  constructor(operand: Predicate<R>) {
    this.operand = operand;
    this.text = operand instanceof AndPredicate || operand instanceof OrPredicate ? `!(${operand.text})` : `!${operand.text}`;
  }

  match(req: R): boolean {
    return !this.operand.match(req);
  }

  explain(req: R): string | null {
    return this.operand.match(req) ? `${this.operand.text} matched, and the rule negates it` : null;
  }
}

/** ConstPredicate always or never matches (HostSNI(`*`), or a HostRegexp Traefik always matches). */
export class ConstPredicate<R> implements Predicate<R> {
  readonly value: boolean;
  readonly text: string;

  constructor(value: boolean, text: string) {
    this.value = value;
    this.text = text;
  }

  match(_req: R): boolean {
    return this.value;
  }

  explain(_req: R): string | null {
    return this.value ? null : `${this.text} never matches`;
  }
}

/**
 * TreeRule is a compiled rule of either protocol: the predicate tree plus the host (or SNI) names
 * every match requires, which the route tables index. `hosts` is computed by the caller because
 * HTTP and TCP rules name them with different matchers.
 */
export class TreeRule<R> {
  readonly rule: string;
  readonly tree: RuleNode;
  readonly hosts: readonly string[] | null;
  readonly pathPrefixes: readonly string[] | null;
  readonly #root: Predicate<R>;

  constructor(rule: string, tree: RuleNode, root: Predicate<R>, hosts: string[] | null, pathPrefixes: string[] | null = null) {
    this.rule = rule;
    this.tree = tree;
    this.#root = root;
    this.hosts = hosts === null ? null : Object.freeze(hosts);
    this.pathPrefixes = pathPrefixes === null ? null : Object.freeze(pathPrefixes);
  }

  match(req: R): boolean {
    return this.#root.match(req);
  }

  explain(req: R): string | null {
    return this.#root.explain(req);
  }
}
