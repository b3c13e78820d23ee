/**
 * `gantry explain URL [--method M] [--header 'K: V'] [--api URL]` asks a running Gantry's
 * /api/explain which router would take a request, why the others did not, and which server would
 * answer, and prints it readably. Exit 0 when a router matches, 1 when none does or on error.
 */
import { undici } from '../upstreams/undici.js';
import type { ExplainResult } from '../api/explain.js';

export interface ExplainOptions {
  method: string;
  header: string[];
  api: string;
  entrypoint?: string;
  json?: boolean;
}

export async function explainCommand(target: string, opts: ExplainOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const api = new URL(opts.api.includes('://') ? opts.api : `http://${opts.api}`);
  const url = new URL('/api/explain', api.origin);
  url.searchParams.set('url', target);
  url.searchParams.set('method', opts.method);
  for (const h of opts.header) url.searchParams.append('header', h);
  if (opts.entrypoint) url.searchParams.set('entrypoint', opts.entrypoint);
  const headers: Record<string, string> = {};
  // Credentials for an API bound beyond loopback: --api http://user:pass@host:8080.
  if (api.username !== '') headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString('base64')}`;
  let status: number;
  let body: string;
  try {
    const res = await undici().request(url, { headers, headersTimeout: 5000, bodyTimeout: 5000 });
    status = res.statusCode;
    body = await res.body.text();
  } catch (e) {
    err.write(`gantry explain: cannot reach the API at ${api.origin}: ${(e as Error).message}\n`);
    return 1;
  }
  if (status !== 200) {
    err.write(`gantry explain: the API answered ${status}: ${body.trim()}\n`);
    return 1;
  }
  const r = JSON.parse(body) as ExplainResult;
  if (opts.json) out.write(JSON.stringify(r, null, 2) + '\n');
  else out.write(formatExplain(r));
  return r.router === null ? 1 : 0;
}

/** formatExplain renders an explanation for people. */
export function formatExplain(r: ExplainResult): string {
  const lines: string[] = [`${r.request.method} ${r.request.url}`];
  if (r.router === null) {
    lines.push(`  no router matches \u2014 404`, `  nearest: ${r.message.replace(/^no router matches: /, '')}`);
  } else {
    lines.push(`  router:      ${r.router} (entrypoint ${r.entryPoint})`);
    lines.push(`  middlewares: ${r.middlewares.length > 0 ? r.middlewares.join(' \u2192 ') : '(none)'}`);
    lines.push(`  service:     ${r.service}`);
    if (r.server !== null) lines.push(`  server:      ${r.server}`);
    else if (r.servers.length > 0) {
      const up = r.servers.filter((s) => s.status === 'UP');
      lines.push(up.length === 0 ? '  server:      none available (the request would fail)' : `  server:      one of ${up.length} (balanced)`);
    } else lines.push(`  server:      chosen at request time (${r.message.split('; ').pop()})`);
    for (const s of r.servers) lines.push(`    ${s.status === 'UP' ? '\u2713' : '\u2717'} ${s.url} ${s.status} weight=${s.weight} inFlight=${s.inFlight}`);
  }
  lines.push('  candidates (in evaluation order):');
  for (const c of r.candidates) {
    const mark = c.name === r.router ? '\u2192' : c.matched ? '~' : '\u2717';
    lines.push(`    ${mark} ${c.name} [priority ${c.priority}]${c.name === r.router ? ' matched' : c.reason ? `: ${c.reason}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
