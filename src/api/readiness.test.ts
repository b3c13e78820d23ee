import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Logger } from '../observability/logger.js';
import { FirstLoad } from '../providers/first-load.js';
import { Readiness, type ReadinessDeps } from './readiness.js';

function setup(over: Partial<ReadinessDeps> & { names?: string[] } = {}) {
  const lines: string[] = [];
  const providers = (over.names ?? ['docker', 'etcd']).map((name) => ({ name, loaded: new FirstLoad() }));
  let applies = 0;
  const listeners: Array<() => void> = [];
  const r = new Readiness({
    providers,
    applyAll: () => ++applies,
    onSnapshot: (fn) => listeners.push(fn),
    logger: new Logger('info', 'json', { write: (l) => void lines.push(l) }),
    ...over,
  });
  return { r, providers, lines, listeners, applies: () => applies };
}

test('not ready until every provider has loaded; then the configuration is applied at once', async () => {
  const { r, providers, lines, applies } = setup();
  r.start();
  await tick();
  assert.equal(r.ready, false);
  assert.deepEqual(r.waiting(), ['provider docker', 'provider etcd']);
  providers[1]!.loaded.mark();
  await tick();
  assert.deepEqual(r.waiting(), ['provider docker']);
  assert.equal(applies(), 0, 'nothing forced before all are in');
  providers[0]!.loaded.mark();
  await tick();
  assert.equal(r.ready, true);
  assert.deepEqual(r.waiting(), []);
  assert.equal(applies(), 1, 'applied without waiting for the reload throttle');
  assert.equal(lines.filter((l) => l.includes('"gantry ready"')).length, 1);
});

test('no provider at all: ready at once', async () => {
  const { r } = setup({ names: [] });
  r.start();
  await tick();
  assert.equal(r.ready, true);
});

test('a failed build keeps it not ready until a snapshot builds', async () => {
  let ok = false;
  const { r, providers, listeners } = setup({ names: ['file'], applyAll: () => (ok ? 7 : null) });
  r.start();
  providers[0]!.loaded.mark();
  await tick();
  assert.equal(r.ready, false);
  assert.deepEqual(r.waiting(), ['the first configuration to be applied']);
  ok = true;
  for (const fn of listeners) fn();
  assert.equal(r.ready, true);
});

test('once ready, stays ready', async () => {
  const { r, providers } = setup({ names: ['file'] });
  r.start();
  providers[0]!.loaded.mark();
  await tick();
  providers[0]!.loaded.mark();
  assert.equal(r.ready, true);
  assert.deepEqual(r.waiting(), []);
});
