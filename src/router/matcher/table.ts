/**
 * Route tables: routes sorted as Traefik sorts them, indexed by the exact host their rule requires.
 *
 * Order (Traefik pkg/muxer/http/mux.go `routes.Less`): priority descending, where a priority of 0
 * means the default (the rule's length, see defaultHttpPriority); then provider precedence (the
 * provider listed first in `providersPrecedence` wins; providers not listed come last); then, where
 * Traefik's order is unspecified (same priority and provider: sort.Sort over a map walk), the router
 * name ascending so that Gantry is at least deterministic.
 *
 * Index: a route whose rule requires one of a set of exact hosts (CompiledRule.hosts) is listed
 * under each of those hosts; the other routes form the catch-all list. Each host's candidate list is
 * precomputed as its own routes merged with the catch-all routes in global order, so match() is one
 * Map lookup and a scan of that list; an unknown host scans the catch-all list. Keys drop trailing
 * dots, because Host(`a.com.`) matches "a.com" and Host(`a.com`) matches "a.com.".
 *
 * Invalid rules never throw from the constructor: the route is left out and reported in `errors`
 * (one bad router must not take the others down). validateRoutes() gives the same errors up front.
 */
import { RuleSyntaxError } from '../../errors.js';
import { compileHttpRule, httpPriorityOfTree, type CompiledRule } from './http.js';
import type { MatchRequest, MatchTcpRequest } from './request.js';
import { compileTcpRule, tcpPriorityOfTree } from './tcp.js';

export interface RouteEntry<T> {
  /** Qualified name (`demo@docker`); the part after "@" is the provider for tie-breaks. */
  name: string;
  rule: string;
  /** 0 means the default: the rule's length. */
  priority: number;
  value: T;
}

export interface RouteError {
  readonly name: string;
  readonly rule: string;
  readonly error: RuleSyntaxError;
}

export interface RouteTableOptions {
  /** Provider names, highest precedence first (Traefik's `providers.precedence`). */
  providersPrecedence?: readonly string[];
}

export interface RouteExplanation {
  readonly name: string;
  readonly priority: number;
  readonly matched: boolean;
  readonly reason: string | null;
}

interface Compiled<R, T> {
  readonly entry: RouteEntry<T>;
  readonly rule: CompiledRule<R>;
  readonly priority: number;
  readonly providerRank: number;
}

/** hostKey is the index key of a host: lower-case input, trailing dots removed. */
export function hostKey(host: string): string {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  return end === host.length ? host : host.slice(0, end);
}

function providerOf(name: string): string {
  const at = name.lastIndexOf('@');
  return at < 0 ? '' : name.slice(at + 1);
}

/** compareRoutes is the evaluation order: negative when `a` is tried before `b`. */
function compareRoutes<R, T>(a: Compiled<R, T>, b: Compiled<R, T>): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.providerRank !== b.providerRank) return a.providerRank - b.providerRank;
  return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
}

abstract class HostIndexedTable<R, T> {
  /** Routes left out because their rule does not compile. */
  readonly errors: readonly RouteError[];
  readonly #all: readonly Compiled<R, T>[];
  readonly #catchAll: readonly Compiled<R, T>[];
  readonly #byHost: ReadonlyMap<string, readonly Compiled<R, T>[]>;

  constructor(entries: readonly RouteEntry<T>[], options: RouteTableOptions | undefined, compile: (rule: string) => CompiledRule<R>, defaultPriority: (rule: string, compiled: CompiledRule<R>) => number) {
    const precedence = options?.providersPrecedence ?? [];
    const errors: RouteError[] = [];
    const compiled: Compiled<R, T>[] = [];
    for (const entry of entries) {
      let rule: CompiledRule<R>;
      try {
        rule = compile(entry.rule);
      } catch (err) {
        if (!(err instanceof RuleSyntaxError)) throw err;
        errors.push({ name: entry.name, rule: entry.rule, error: err });
        continue;
      }
      const rank = precedence.indexOf(providerOf(entry.name));
      compiled.push({
        entry,
        rule,
        priority: entry.priority === 0 ? defaultPriority(entry.rule, rule) : entry.priority,
        providerRank: rank < 0 ? precedence.length : rank,
      });
    }
    compiled.sort(compareRoutes);
    this.errors = errors;
    this.#all = compiled;

    // One pass in global order: each route goes to its hosts' lists or to the catch-all list, and
    // every catch-all route is appended to every host list seen so far; host lists created later
    // start with the catch-all routes seen so far. Lists therefore stay in global order.
    const catchAll: Compiled<R, T>[] = [];
    const byHost = new Map<string, Compiled<R, T>[]>();
    for (const c of compiled) {
      const hosts = c.rule.hosts;
      if (hosts === null) {
        catchAll.push(c);
        for (const list of byHost.values()) list.push(c);
        continue;
      }
      const keys = new Set(hosts.map(hostKey));
      for (const k of keys) {
        let list = byHost.get(k);
        if (list === undefined) {
          list = catchAll.slice();
          byHost.set(k, list);
        }
        list.push(c);
      }
    }
    this.#catchAll = catchAll;
    this.#byHost = byHost;
  }

  protected abstract hostOf(req: R): string;

  #candidates(req: R): readonly Compiled<R, T>[] {
    const h = this.hostOf(req);
    return this.#byHost.get(hostKey(h)) ?? this.#catchAll;
  }

  /** match returns the first route, in evaluation order, whose rule matches; null when none does. */
  match(req: R): RouteEntry<T> | null {
    const list = this.#candidates(req);
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.rule.match(req)) return c.entry;
    }
    return null;
  }

  /**
   * explain evaluates every route in evaluation order (not only the host's candidates, so that
   * routes for other hosts show why they were not taken). The first matched one is the winner.
   */
  explain(req: R): RouteExplanation[] {
    return this.#all.map((c) => {
      const reason = c.rule.explain(req);
      return { name: c.entry.name, priority: c.priority, matched: reason === null, reason };
    });
  }

  /** routes lists the valid routes in evaluation order, with their effective priorities. */
  routes(): Array<{ entry: RouteEntry<T>; priority: number; hosts: readonly string[] | null }> {
    return this.#all.map((c) => ({ entry: c.entry, priority: c.priority, hosts: c.rule.hosts }));
  }

  /** candidates lists the routes match() would try for a host (for diagnostics and tests). */
  candidates(host: string): RouteEntry<T>[] {
    return (this.#byHost.get(hostKey(host)) ?? this.#catchAll).map((c) => c.entry);
  }

  get size(): number {
    return this.#all.length;
  }
}

/** RouteTable holds the HTTP routes of one entrypoint. */
export class RouteTable<T> extends HostIndexedTable<MatchRequest, T> {
  constructor(entries: readonly RouteEntry<T>[], options?: RouteTableOptions) {
    super(entries, options, compileHttpRule, (rule, c) => httpPriorityOfTree(rule, c.tree));
  }

  protected hostOf(req: MatchRequest): string {
    return req.host;
  }
}

/** TcpRouteTable holds the TCP routes of one entrypoint, indexed by SNI. */
export class TcpRouteTable<T> extends HostIndexedTable<MatchTcpRequest, T> {
  constructor(entries: readonly RouteEntry<T>[], options?: RouteTableOptions) {
    super(entries, options, compileTcpRule, (rule, c) => tcpPriorityOfTree(rule, c.tree));
  }

  protected hostOf(req: MatchTcpRequest): string {
    return req.sni;
  }
}

/** validateRoutes compiles every rule and returns the errors (empty when all are valid). */
export function validateRoutes(entries: readonly Pick<RouteEntry<unknown>, 'name' | 'rule'>[], kind: 'http' | 'tcp' = 'http'): RouteError[] {
  const errors: RouteError[] = [];
  for (const e of entries) {
    const err = validateRule(e.rule, kind);
    if (err !== null) errors.push({ name: e.name, rule: e.rule, error: err });
  }
  return errors;
}

/** validateRule returns the rule's error, or null when it compiles. */
export function validateRule(rule: string, kind: 'http' | 'tcp' = 'http'): RuleSyntaxError | null {
  try {
    if (kind === 'http') compileHttpRule(rule);
    else compileTcpRule(rule);
    return null;
  } catch (err) {
    if (err instanceof RuleSyntaxError) return err;
    throw err;
  }
}
