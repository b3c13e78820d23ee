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
 * under each of those hosts; the other routes form the catch-all set. Within each host, and within
 * the catch-all set, routes are indexed again by the literal path prefix their rule requires
 * (CompiledRule.pathPrefixes, from Path/PathPrefix and anchored PathRegexp), in a trie of whole
 * path segments (PathIndex).
 * match() is one Map lookup, a walk down the request path's segments collecting the lists met on
 * the way, and a scan of those lists merged in global order. So neither 10,000 Host routers nor
 * 10,000 PathPrefix routers are scanned one by one, and no list is copied per host at build time.
 * Keys drop trailing dots, because Host(`a.com.`) matches "a.com" and Host(`a.com`) matches "a.com.".
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
  /** Position in the global evaluation order (set once sorted). */
  order: number;
}

/** PathNode is one path segment of a PathIndex: the routes whose required prefix ends here. */
class PathNode<C> {
  readonly routes: C[] = [];
  children: Map<string, PathNode<C>> | null = null;
}

/**
 * PathIndex files routes under the whole leading segments of their required path prefix: a route
 * for PathPrefix(`/api/v1/`) sits under api → v1, one for PathPrefix(`/api/v`) or Path(`/api/v`)
 * under api (its last segment is not whole), one without a required prefix at the root. Walking
 * the request path's whole segments meets every route that can match it (and some that then do
 * not). Lists are filled in global order, so each stays sorted.
 */
class PathIndex<C> {
  readonly root = new PathNode<C>();
  /** Every route of the index, in global order (for diagnostics). */
  readonly all: C[] = [];

  add(c: C, prefixes: readonly string[] | null): void {
    this.all.push(c);
    if (prefixes === null) {
      this.root.routes.push(c);
      return;
    }
    // A route is listed once per node, even when two of its prefixes end at the same one.
    const placed = prefixes.length > 1 ? new Set<PathNode<C>>() : null;
    for (const p of prefixes) {
      let node = this.root;
      let pos = 1;
      for (;;) {
        const slash = p.indexOf('/', pos);
        if (p.charCodeAt(0) !== 47 || slash < 0) break;
        const seg = p.slice(pos, slash);
        node.children ??= new Map();
        let next = node.children.get(seg);
        if (next === undefined) {
          next = new PathNode<C>();
          node.children.set(seg, next);
        }
        node = next;
        pos = slash + 1;
      }
      if (placed === null) node.routes.push(c);
      else if (!placed.has(node)) {
        placed.add(node);
        node.routes.push(c);
      }
    }
  }

  /** gather pushes the non-empty route lists met along `path` onto `out`. */
  gather(path: string, out: C[][]): void {
    let node = this.root;
    if (node.routes.length > 0) out.push(node.routes);
    let pos = 1;
    while (node.children !== null) {
      const slash = path.indexOf('/', pos);
      if (slash < 0) return;
      const next = node.children.get(path.slice(pos, slash));
      if (next === undefined) return;
      node = next;
      if (node.routes.length > 0) out.push(node.routes);
      pos = slash + 1;
    }
  }
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
  readonly #catchAll: PathIndex<Compiled<R, T>>;
  readonly #byHost: ReadonlyMap<string, PathIndex<Compiled<R, T>>>;
  /** Scratch lists for match() (synchronous, so one set per table is enough). */
  readonly #lists: Compiled<R, T>[][] = [];
  readonly #heads: number[] = [];

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
        order: 0,
      });
    }
    compiled.sort(compareRoutes);
    this.errors = errors;
    this.#all = compiled;

    // One pass in global order, so every list of every index stays sorted.
    const catchAll = new PathIndex<Compiled<R, T>>();
    const byHost = new Map<string, PathIndex<Compiled<R, T>>>();
    compiled.forEach((c, i) => {
      c.order = i;
      const prefixes = c.rule.pathPrefixes ?? null;
      const hosts = c.rule.hosts;
      if (hosts === null) {
        catchAll.add(c, prefixes);
        return;
      }
      const keys = hosts.length === 1 ? [hostKey(hosts[0]!)] : new Set(hosts.map(hostKey));
      for (const k of keys) {
        let index = byHost.get(k);
        if (index === undefined) byHost.set(k, (index = new PathIndex()));
        index.add(c, prefixes);
      }
    });
    this.#catchAll = catchAll;
    this.#byHost = byHost;
  }

  protected abstract hostOf(req: R): string;

  /** pathOf is the request path for the path index ('' when the protocol has none: TCP). */
  protected abstract pathOf(req: R): string;

  /** match returns the first route, in evaluation order, whose rule matches; null when none does. */
  match(req: R): RouteEntry<T> | null {
    const lists = this.#lists;
    lists.length = 0;
    const path = this.pathOf(req);
    const host = this.#byHost.get(hostKey(this.hostOf(req)));
    if (host !== undefined) host.gather(path, lists);
    this.#catchAll.gather(path, lists);
    if (lists.length === 1) {
      const list = lists[0]!;
      for (let i = 0; i < list.length; i++) {
        const c = list[i]!;
        if (c.rule.match(req)) return c.entry;
      }
      return null;
    }
    // Several lists: merged on the fly by global order (k is small: the path's depth, twice).
    const heads = this.#heads;
    heads.length = lists.length;
    heads.fill(0);
    for (;;) {
      let best = -1;
      let bestOrder = Infinity;
      for (let k = 0; k < lists.length; k++) {
        const list = lists[k]!;
        const h = heads[k]!;
        if (h < list.length && list[h]!.order < bestOrder) {
          bestOrder = list[h]!.order;
          best = k;
        }
      }
      if (best < 0) return null;
      const c = lists[best]![heads[best]!]!;
      // A route filed under several prefixes can sit in two lists: skip its second copy.
      for (let k = 0; k < lists.length; k++) {
        const list = lists[k]!;
        if (heads[k]! < list.length && list[heads[k]!] === c) heads[k]!++;
      }
      if (c.rule.match(req)) return c.entry;
    }
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

  /** candidates lists the routes match() may try for a host, whatever the path (for diagnostics). */
  candidates(host: string): RouteEntry<T>[] {
    const own = this.#byHost.get(hostKey(host))?.all ?? [];
    return [...own, ...this.#catchAll.all].sort((a, b) => a.order - b.order).map((c) => c.entry);
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

  protected pathOf(req: MatchRequest): string {
    return req.path;
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

  protected pathOf(): string {
    return '';
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
