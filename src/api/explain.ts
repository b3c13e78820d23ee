/**
 * Explain answers "why did this request go there (or nowhere)?" for a URL, method and headers:
 * which router would take it, why each other router did not, which middlewares would run and which
 * server would answer. It only reads the snapshot: balancer state is not touched, so when several
 * servers are available it names them as candidates rather than guessing the next pick.
 *
 * nearestMiss is the one-line version used in 404 log lines.
 */
import type { MatchRequest, RouteTable } from '../router/index.js';
import { hostKey } from '../router/index.js';
import type { CompiledRouter, Snapshot } from '../watcher/snapshot.js';

export interface ExplainQuery {
  url: URL;
  method: string;
  /** Header name (any case) → values. */
  headers: Record<string, string[]>;
  clientIP: string;
  /** Only this entrypoint; null = every entrypoint, the first that matches wins. */
  entrypoint: string | null;
}

export interface ExplainCandidate {
  name: string;
  priority: number;
  matched: boolean;
  reason: string | null;
  entryPoints: string[];
}

export interface ExplainServer {
  url: string;
  status: 'UP' | 'DOWN';
  weight: number;
  inFlight: number;
}

export interface ExplainResult {
  request: { method: string; url: string; host: string; path: string };
  entryPoint: string | null;
  router: string | null;
  service: string | null;
  middlewares: string[];
  /** The server that would answer when it can be known without picking (one available server), else null. */
  server: string | null;
  /** The servers the balancer would choose among (and the unavailable ones, marked DOWN). */
  servers: ExplainServer[];
  candidates: ExplainCandidate[];
  message: string;
}

/** matchRequestOf turns an explain query into what rules see. */
export function matchRequestOf(q: ExplainQuery): MatchRequest {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(q.headers)) headers[k.toLowerCase()] = v;
  headers['host'] ??= [q.url.host];
  let host = q.url.hostname.toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, path: q.url.pathname, method: q.method.toUpperCase(), headers, query: q.url.search.slice(1), clientIP: q.clientIP };
}

export function explainRequest(s: Snapshot, q: ExplainQuery, now = Date.now()): ExplainResult {
  const req = matchRequestOf(q);
  const eps = q.entrypoint === null ? [...s.tables.keys()] : [q.entrypoint];
  const byName = new Map<string, ExplainCandidate>();
  let winner: CompiledRouter | null = null;
  let winnerEp: string | null = null;
  for (const ep of eps) {
    const table = s.tables.get(ep);
    if (table === undefined) continue;
    for (const x of table.explain(req)) {
      const have = byName.get(x.name);
      if (have !== undefined) {
        have.entryPoints.push(ep);
        continue;
      }
      byName.set(x.name, { name: x.name, priority: x.priority, matched: x.matched, reason: x.reason, entryPoints: [ep] });
    }
    if (winner === null) {
      const hit = table.match(req);
      if (hit !== null) {
        winner = hit.value;
        winnerEp = ep;
      }
    }
  }
  // Matched but not taken: a higher-priority router shadows it.
  for (const c of byName.values()) {
    if (c.matched && winner !== null && c.name !== winner.name) {
      const w = byName.get(winner.name);
      c.reason = `matched, but ${winner.name} comes first (priority ${w?.priority ?? '?'} vs ${c.priority})`;
    }
  }
  const candidates = [...byName.values()].sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : 1));
  // Routers that are in no table are disabled: show them with their error.
  for (const el of s.merged.http.routers.values()) {
    if (byName.has(el.name)) continue;
    const rule = (el.config ?? (el.raw as { rule?: string } | undefined))?.rule;
    candidates.push({
      name: el.name,
      priority: 0,
      matched: false,
      reason: el.errors.length > 0 ? `disabled: ${el.errors.join('; ')}` : `not on ${q.entrypoint ?? 'any entrypoint'}${rule ? ` (rule ${rule})` : ''}`,
      entryPoints: [],
    });
  }
  const middlewares = winner === null ? [] : expandMiddlewares(s, winner.middlewares ?? s.merged.http.routers.get(winner.name)?.config?.middlewares ?? []);
  const servers: ExplainServer[] = [];
  let server: string | null = null;
  let detail = '';
  if (winner !== null) {
    const lb = s.services.get(winner.service);
    if (lb !== undefined) {
      for (const ws of lb.balancer.servers) {
        servers.push({ url: ws.server.url, status: ws.server.available(now) ? 'UP' : 'DOWN', weight: ws.weight, inFlight: ws.server.inFlight });
      }
      const up = servers.filter((x) => x.status === 'UP' && x.weight > 0);
      if (up.length === 1) server = up[0]!.url;
      detail = up.length === 0 ? '; no server is available (502/503)' : up.length === 1 ? `; server ${server}` : `; one of ${up.length} servers: ${up.map((x) => x.url).join(', ')}`;
    } else {
      const type = Object.keys(s.merged.http.services.get(winner.service)?.config ?? {})[0] ?? 'unknown';
      detail = `; service type ${type} chooses at request time`;
    }
  }
  const message =
    winner === null
      ? `no router matches: ${nearestMissOf(eps.map((e) => s.tables.get(e)).filter((t) => t !== undefined), req)}`
      : `router ${winner.name} on entrypoint ${winnerEp} \u2192 service ${winner.service}${middlewares.length > 0 ? ` via ${middlewares.join(', ')}` : ''}${detail}`;
  return {
    request: { method: req.method, url: q.url.href, host: req.host, path: req.path },
    entryPoint: winnerEp,
    router: winner?.name ?? null,
    service: winner?.service ?? null,
    middlewares,
    server,
    servers,
    candidates,
    message,
  };
}

/** expandMiddlewares lists the middlewares in the order they run, chains replaced by their members. */
function expandMiddlewares(s: Snapshot, names: readonly string[], depth = 0): string[] {
  const out: string[] = [];
  for (const n of names) {
    const el = s.merged.http.middlewares.get(n);
    const chain = (el?.config as { chain?: { middlewares?: string[] } } | null | undefined)?.chain;
    if (chain?.middlewares !== undefined && depth < 10) {
      const members = chain.middlewares.map((m) => (m.includes('@') ? m : `${m}@${el!.provider}`));
      out.push(...expandMiddlewares(s, members, depth + 1));
    } else out.push(n);
  }
  return out;
}

/**
 * nearestMiss describes, in one line, the router that came closest to taking a request that no
 * router took: one whose Host matched (then: what else did not), else the first router with no
 * Host requirement, else that no router serves the host at all. Called only when a 404 is logged.
 */
export function nearestMiss(table: RouteTable<CompiledRouter> | undefined, req: MatchRequest): string {
  return nearestMissOf(table === undefined ? [] : [table], req);
}

function nearestMissOf(tables: ReadonlyArray<RouteTable<CompiledRouter>>, req: MatchRequest): string {
  const host = hostKey(req.host);
  let hostOnly: string | null = null;
  let routes = 0;
  for (const t of tables) {
    for (const r of t.routes()) {
      routes++;
      if (r.hosts !== null && r.hosts.some((h) => hostKey(h.toLowerCase()) === host)) {
        return `host matched router ${r.entry.name} but ${r.entry.value.compiled.explain(req) ?? 'it matched'}`;
      }
      if (r.hosts === null && hostOnly === null) {
        const why = r.entry.value.compiled.explain(req);
        if (why !== null) hostOnly = `router ${r.entry.name} did not match: ${why}`;
      }
    }
  }
  if (hostOnly !== null) return hostOnly;
  return routes === 0 ? 'no router is configured on this entrypoint' : `no router serves host ${req.host || '(none)'} (${routes} routers checked)`;
}
