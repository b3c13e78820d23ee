/** The Swarm provider's label options as they shape routers: exposedByDefault, domain, defaultRule. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/types.js';
import { buildSwarmConfig, type SwarmBuildOptions } from './build.js';

const DIR = new URL('../../../../src/providers/swarm/testdata/', import.meta.url);
const load = <T>(f: string): T => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as T;

test('swarm: exposedByDefault, domain and defaultRule', () => {
  const tasks = load<SwarmTask[]>('tasks-host-network.json');
  const nodes = load<SwarmNode[]>('nodes.json');
  const withLabels = (labels: Record<string, string>) => {
    const s = load<SwarmService[]>('services-host-network.json');
    s[0]!.Spec!.Labels = { 'gantry.http.services.rec.loadbalancer.server.port': '18351', ...labels };
    return s;
  };
  const rules = (labels: Record<string, string>, opts: SwarmBuildOptions) => {
    const routers = (buildSwarmConfig(withLabels(labels), tasks, nodes, { localNodeId: nodes[0]!.ID, ...opts }).config as { http?: { routers?: Record<string, { rule: string }> } }).http?.routers ?? {};
    return Object.values(routers).map((r) => r.rule);
  };
  const cases: Array<{ desc: string; labels: Record<string, string>; opts: SwarmBuildOptions; want: string[] }> = [
    { desc: 'domain gives the default rule', labels: {}, opts: { domain: 'swarm.test' }, want: ['Host(`gantry-rec-swarm.swarm.test`)'] },
    { desc: 'defaultRule template', labels: {}, opts: { defaultRule: 'Host(`{{ .Name }}.apps.test`)' }, want: ['Host(`gantry-rec-swarm.apps.test`)'] },
    { desc: 'exposedByDefault false: not routed', labels: {}, opts: { domain: 'swarm.test', exposedByDefault: false }, want: [] },
    { desc: 'exposedByDefault false: gantry.enable=true is', labels: { 'gantry.enable': 'true' }, opts: { domain: 'swarm.test', exposedByDefault: false }, want: ['Host(`gantry-rec-swarm.swarm.test`)'] },
  ];
  for (const c of cases) assert.deepEqual(rules(c.labels, c.opts), c.want, c.desc);
});

test('swarm: watch false reads services and tasks once and opens no events stream', async (t) => {
  const http = await import('node:http');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { SwarmProvider } = await import('./provider.js');
  const { silentLogger } = await import('../../observability/logger.js');
  const nodes = load<SwarmNode[]>('nodes.json');
  const answers: Record<string, unknown> = {
    '/info': { Swarm: { LocalNodeState: 'active', NodeID: nodes[0]!.ID } },
    '/services': load<SwarmService[]>('services-host-network.json'),
    '/tasks': load<SwarmTask[]>('tasks-host-network.json'),
    '/nodes': nodes,
  };
  const calls: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfs-'));
  const socket = path.join(dir, 'd.sock');
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://d').pathname.replace(/^\/v[\d.]+/, '');
    calls.push(p);
    if (p === '/_ping') return res.writeHead(200, { 'api-version': '1.41' }).end('OK');
    if (p in answers) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[p]));
    if (p === '/events') return; // a stream that never ends
    res.writeHead(404).end('{"message":"no"}');
  });
  await new Promise<void>((r) => server.listen(socket, r));
  const provider = new SwarmProvider({ endpoint: `unix://${socket}`, watch: false });
  t.after(async () => {
    await provider.stop();
    server.closeAllConnections();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const msgs: unknown[] = [];
  await provider.start((m) => msgs.push(m), silentLogger);
  assert.ok(msgs.length >= 1);
  assert.ok(calls.includes('/services') && calls.includes('/tasks'), calls.join(' '));
  assert.equal(calls.includes('/events'), false, 'no events stream');
});

test('swarm (recorded-contract daemon): a task that reaches running with no event to tell is routed by the back-off poll, not the next refresh', async (t) => {
  const http = await import('node:http');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { SwarmProvider } = await import('./provider.js');
  const { silentLogger } = await import('../../observability/logger.js');
  const nodes = load<SwarmNode[]>('nodes.json');
  const running = load<SwarmTask[]>('tasks-host-network.json');
  // The first listings show the task starting; its container's start event came before our stream.
  const starting = running.map((task) => ({ ...task, Status: { ...task.Status, State: 'starting' } }));
  let taskListings = 0;
  const answers: Record<string, () => unknown> = {
    '/info': () => ({ Swarm: { LocalNodeState: 'active', NodeID: nodes[0]!.ID } }),
    '/services': () => load<SwarmService[]>('services-host-network.json'),
    '/tasks': () => (++taskListings <= 2 ? starting : running),
    '/nodes': () => nodes,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gfs-'));
  const socket = path.join(dir, 'd.sock');
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://d').pathname.replace(/^\/v[\d.]+/, '');
    if (p === '/_ping') return res.writeHead(200, { 'api-version': '1.41' }).end('OK');
    if (p === '/events') return void res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders(); // open, and silent
    const answer = answers[p];
    if (answer) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer()));
    res.writeHead(404).end('{"message":"no"}');
  });
  await new Promise<void>((r) => server.listen(socket, r));
  const provider = new SwarmProvider({ endpoint: `unix://${socket}`, refreshSeconds: 60 });
  t.after(async () => {
    await provider.stop();
    server.closeAllConnections();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const routers = (m: unknown) => Object.keys((m as { config: { http?: { routers?: object } } }).config.http?.routers ?? {});
  let routed!: () => void;
  const seen = new Promise<void>((resolve) => (routed = resolve));
  await provider.start((m) => void (routers(m).length > 0 && routed()), silentLogger);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not routed after 10 s (${taskListings} task listings)`)), 10_000).unref());
  // 250 + 500 ms of back-off here; the 10 s bound leaves room for a slow machine, far below the 60 s refresh.
  await Promise.race([seen, timeout]);
  assert.ok(taskListings >= 3, `${taskListings} task listings`);
});
