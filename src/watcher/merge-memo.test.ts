/**
 * MergeMemo: a merge that follows another reuses what did not change (the validated and qualified
 * configuration of each unchanged element) and revalidates the rest, with results equal to a merge
 * without a memo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMessage } from '../providers/provider.js';
import { MergeMemo, mergeConfigs, type MergedConfig } from './merge.js';
import '../middlewares/index.js';

const svc = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9001' }] } };

/** fileConfig builds the configuration anew each time, as a provider re-reading its source does. */
function fileConfig(extra: Record<string, unknown> = {}): ConfigMessage {
  return {
    provider: 'file',
    config: JSON.parse(
      JSON.stringify({
        http: {
          routers: {
            a: { rule: 'Host(`a.example`)', service: 'web', middlewares: ['strip'] },
            b: { rule: 'Host(`b.example`)', service: 'web', entryPoints: ['web'] },
            bad: { rule: 'Host(`bad.example`', service: 'web' },
            ...extra,
          },
          services: { web: svc },
          middlewares: { strip: { stripPrefix: { prefixes: ['/x'] } } },
        },
      }),
    ),
  };
}

/** summary is what the API and the compiler read from a merge: each element's config and errors. */
function summary(m: MergedConfig): unknown {
  const part = (map: Map<string, { config: unknown; errors: string[]; raw: unknown }>) => [...map].map(([k, el]) => [k, el.config, el.errors, el.raw]);
  return { routers: part(m.http.routers), services: part(m.http.services), middlewares: part(m.http.middlewares), providerErrors: m.providerErrors };
}

test('an unchanged element keeps its configuration object; a changed one is validated again', () => {
  const memo = new MergeMemo();
  const first = mergeConfigs([fileConfig()], memo);
  const second = mergeConfigs([fileConfig({ c: { rule: 'Host(`c.example`)', service: 'web' } })], memo);
  const r = (m: MergedConfig, n: string) => m.http.routers.get(`${n}@file`)!;
  assert.equal(r(second, 'a').config, r(first, 'a').config, 'router a is reused');
  assert.equal(second.http.services.get('web@file')!.config, first.http.services.get('web@file')!.config, 'the service is reused');
  assert.equal(second.http.middlewares.get('strip@file')!.config, first.http.middlewares.get('strip@file')!.config);
  assert.deepEqual(r(second, 'a').config, { rule: 'Host(`a.example`)', service: 'web@file', middlewares: ['strip@file'] }, 'qualified as before');
  assert.ok(Object.isFrozen(r(second, 'a').config) && Object.isFrozen(r(second, 'a').config!.middlewares), 'shared configurations are frozen');
  assert.deepEqual(r(second, 'c').config, { rule: 'Host(`c.example`)', service: 'web@file', middlewares: undefined });
  assert.match(r(second, 'bad').errors.join(), /http\.routers\.bad\.rule: /, 'an invalid element keeps its error');
  assert.equal(r(second, 'bad').config, null);

  const third = mergeConfigs([fileConfig({ c: { rule: 'Host(`c.example`)', service: 'web', priority: 7 } })], memo);
  assert.notEqual(r(third, 'c').config, r(second, 'c').config, 'a changed router is built again');
  assert.equal(r(third, 'c').config!.priority, 7);
  assert.equal(r(third, 'b').config, r(first, 'b').config, 'still reused two merges later');
});

test('a merge with a memo gives what a merge without one gives, change after change', () => {
  const memo = new MergeMemo();
  const steps = [
    fileConfig(),
    fileConfig({ c: { rule: 'Host(`c.example`)', service: 'web' } }),
    fileConfig({ c: { rule: 'Host(`c.example`)', service: 'nope', tls: {} } }),
    fileConfig({ a: { rule: 'Host(`a.example`)', service: 'web', middlewares: ['strip', 'other'] } }),
    fileConfig(),
  ];
  for (const [i, step] of steps.entries()) {
    const docker: ConfigMessage = { provider: 'docker', config: { http: { routers: { d: { rule: `Host(\`d${i % 2}.example\`)`, service: 'web@file' } } } } };
    assert.deepEqual(summary(mergeConfigs([docker, step], memo)), summary(mergeConfigs([structuredClone(docker), structuredClone(step)])), `step ${i}`);
  }
});

test('a router that stops being a parent is validated again (it needs a service then)', () => {
  const memo = new MergeMemo();
  const routers = (withChild: boolean) => ({
    provider: 'file',
    config: { http: { routers: { parent: { rule: 'Host(`p.example`)' }, ...(withChild ? { child: { rule: 'Path(`/c`)', service: 'web', parentRefs: ['parent'] } } : {}) }, services: { web: svc } } },
  });
  const first = mergeConfigs([routers(true)], memo);
  assert.deepEqual(first.http.routers.get('parent@file')!.errors, []);
  const second = mergeConfigs([routers(false)], memo);
  assert.match(second.http.routers.get('parent@file')!.errors.join(), /service: required/);
  const third = mergeConfigs([routers(true)], memo);
  assert.deepEqual(third.http.routers.get('parent@file')!.errors, []);
});

test('a provider that leaves is forgotten, and one that comes back is validated anew', () => {
  const memo = new MergeMemo();
  const docker = (): ConfigMessage => ({ provider: 'docker', config: { http: { routers: { d: { rule: 'Host(`d.example`)', service: 'web@file' } } } } });
  const first = mergeConfigs([docker(), fileConfig()], memo);
  mergeConfigs([fileConfig()], memo);
  const third = mergeConfigs([docker(), fileConfig()], memo);
  assert.notEqual(third.http.routers.get('d@docker')!.config, first.http.routers.get('d@docker')!.config);
  assert.deepEqual(third.http.routers.get('d@docker')!.config, first.http.routers.get('d@docker')!.config);
});
