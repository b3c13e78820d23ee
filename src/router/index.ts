/**
 * The rule language and the route tables: everything the rest of Gantry needs from src/router.
 *
 * Typical use (the watcher, once per snapshot and entrypoint):
 *   const table = new RouteTable(entries, { providersPrecedence });   // never throws on bad rules
 *   for (const e of table.errors) log(`http.routers.${e.name}.rule: ${e.error.message}`);
 * and per request (the proxy):
 *   const path = routingPath(rawPath);            // null → answer 400, as Traefik does
 *   const route = table.match({ host: canonicalHost(req.headers.host), path, method: req.method!,
 *                               headers: req.headersDistinct, query, clientIP: ctx.clientIP });
 */
export { parseRule, formatRule, formatMatcher } from './rule/parser.js';
export { rotateRuleMemos, sweepRuleMemos } from './rule/memo.js';
export type { RuleNode, MatcherNode, AndNode, OrNode, NotNode, RuleKind } from './rule/parser.js';
export { compileHttpRule, defaultHttpPriority, requiredHosts } from './matcher/http.js';
export type { CompiledRule } from './matcher/http.js';
export { compileTcpRule, defaultTcpPriority } from './matcher/tcp.js';
export { canonicalHost, routingPath, queryUnescape } from './matcher/request.js';
export type { MatchRequest, MatchTcpRequest } from './matcher/request.js';
export { RouteTable, TcpRouteTable, validateRoutes, validateRule, hostKey } from './matcher/table.js';
export type { RouteEntry, RouteError, RouteExplanation, RouteTableOptions } from './matcher/table.js';
export { IPChecker, parseAddr } from './matcher/ip.js';
