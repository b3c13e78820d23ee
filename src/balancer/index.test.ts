import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer, hasAvailableServer, HrwBalancer, LeastTimeBalancer, P2cBalancer, StickyBalancer, WrrBalancer } from './index.js';
import { servers } from './common.case.js';

test('createBalancer chooses the strategy and the sticky wrapper', () => {
  const cases = [
    { desc: 'default is wrr', config: {}, want: WrrBalancer },
    { desc: 'wrr', config: { strategy: 'wrr' as const }, want: WrrBalancer },
    { desc: 'p2c', config: { strategy: 'p2c' as const }, want: P2cBalancer },
    { desc: 'hrw', config: { strategy: 'hrw' as const }, want: HrwBalancer },
    { desc: 'leasttime', config: { strategy: 'leasttime' as const }, want: LeastTimeBalancer },
    { desc: 'sticky with an empty cookie', config: { sticky: { cookie: {} } }, want: StickyBalancer },
    { desc: 'sticky without cookie is not sticky', config: { sticky: {} }, want: WrrBalancer },
  ];
  for (const c of cases) assert.ok(createBalancer(c.config, servers(1, 1), 'svc') instanceof c.want, c.desc);
});

test('hasAvailableServer', () => {
  const cases = [
    { desc: 'all up', weights: [1, 1], down: [] as number[], want: true },
    { desc: 'one down', weights: [1, 1], down: [0], want: true },
    { desc: 'all down', weights: [1, 1], down: [0, 1], want: false },
    { desc: 'only weight 0 up', weights: [1, 0], down: [0], want: false },
    { desc: 'no servers', weights: [], down: [], want: false },
  ];
  for (const c of cases) {
    const s = servers(...c.weights);
    for (const i of c.down) s[i]!.server.activeHealthy = false;
    assert.equal(hasAvailableServer(createBalancer({}, s, 'svc')), c.want, c.desc);
  }
});
