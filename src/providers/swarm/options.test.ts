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
