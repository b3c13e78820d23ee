/**
 * Profiles (`http.profiles`) applied by mergeConfigs: resolution of a router's `profile` across
 * providers, precedence of the router's own fields, middleware order, and the errors of a missing,
 * ambiguous or invalid profile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMessage } from '../providers/provider.js';
import { mergeConfigs } from './merge.js';

const svc = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9001' }] } };

const file: ConfigMessage = {
  provider: 'file',
  config: {
    http: {
      profiles: {
        'public-https': { entryPoints: ['websecure'], middlewares: ['secure-headers'], tls: { certResolver: 'le' }, priority: 5 },
        internal: { entryPoints: ['admin'], middlewares: ['secure-headers', 'allow-lan'] },
      },
      middlewares: {},
    },
  },
};

function docker(routers: Record<string, unknown>): ConfigMessage {
  return { provider: 'docker', config: { http: { routers, services: { w: svc } } } };
}

function router(merged: ReturnType<typeof mergeConfigs>, name: string) {
  const el = merged.http.routers.get(name);
  assert.ok(el, `router ${name} exists`);
  return el;
}

test('a router takes the profile where it sets nothing; its own fields win', () => {
  const cases: Array<{ desc: string; router: Record<string, unknown>; want: Record<string, unknown> }> = [
    {
      desc: 'bare name found in the file provider',
      router: { rule: 'Host(`w.test`)', service: 'w', profile: 'public-https' },
      want: {
        rule: 'Host(`w.test`)', service: 'w@docker', profile: 'public-https@file',
        entryPoints: ['websecure'], middlewares: ['secure-headers@file'], tls: { certResolver: 'le' }, priority: 5,
      },
    },
    {
      desc: 'own entryPoints, priority and TLS options win; middlewares of the profile come first',
      router: { rule: 'Host(`w.test`)', service: 'w', profile: 'public-https', entryPoints: ['web'], priority: 1, middlewares: ['strip'], tls: { domains: [{ main: 'w.test' }] } },
      want: {
        rule: 'Host(`w.test`)', service: 'w@docker', profile: 'public-https@file',
        entryPoints: ['web'], middlewares: ['secure-headers@file', 'strip@docker'], tls: { certResolver: 'le', domains: [{ main: 'w.test' }] }, priority: 1,
      },
    },
    {
      desc: 'a middleware named by both runs once, at the profile\'s place',
      router: { rule: 'Host(`w.test`)', service: 'w', profile: 'internal@file', middlewares: ['allow-lan@file', 'strip'] },
      want: {
        rule: 'Host(`w.test`)', service: 'w@docker', profile: 'internal@file',
        entryPoints: ['admin'], middlewares: ['secure-headers@file', 'allow-lan@file', 'strip@docker'],
      },
    },
  ];
  for (const c of cases) {
    const merged = mergeConfigs([file, docker({ w: c.router })]);
    const el = router(merged, 'w@docker');
    assert.deepEqual(el.errors, [], c.desc);
    assert.deepEqual(el.config, c.want, c.desc);
  }
});

test('a bare profile name resolves in the router\'s own provider first', () => {
  const own: ConfigMessage = {
    provider: 'docker',
    config: { http: { routers: { w: { rule: 'Host(`w.test`)', service: 'w', profile: 'internal' } }, services: { w: svc }, profiles: { internal: { entryPoints: ['web'] } } } },
  };
  const merged = mergeConfigs([file, own]);
  assert.deepEqual(router(merged, 'w@docker').config?.entryPoints, ['web']);
  assert.equal(router(merged, 'w@docker').config?.profile, 'internal@docker');
});

test('a missing, ambiguous or invalid profile disables that router only, with the reason', () => {
  const rest: ConfigMessage = { provider: 'rest', config: { http: { profiles: { internal: { entryPoints: ['web'] } } } } };
  const bad: ConfigMessage = { provider: 'etcd', config: { http: { profiles: { broken: { entryPoints: { web: true }, middlewars: [] } } } } };
  const merged = mergeConfigs([
    file,
    rest,
    bad,
    docker({
      ok: { rule: 'Host(`ok.test`)', service: 'w', profile: 'public-https' },
      typo: { rule: 'Host(`a.test`)', service: 'w', profile: 'public-http' },
      twice: { rule: 'Host(`b.test`)', service: 'w', profile: 'internal' },
      broken: { rule: 'Host(`c.test`)', service: 'w', profile: 'broken' },
      qualified: { rule: 'Host(`d.test`)', service: 'w', profile: 'public-https@rest' },
    }),
  ]);
  assert.deepEqual(router(merged, 'ok@docker').errors, []);
  const cases: Array<{ name: string; error: RegExp }> = [
    { name: 'typo@docker', error: /^http\.routers\.typo\.profile: profile "public-http" does not exist \(did you mean public-https\?\)$/ },
    { name: 'twice@docker', error: /^http\.routers\.twice\.profile: profile "internal" is defined by several providers \(internal@file, internal@rest\); name one of them$/ },
    { name: 'broken@docker', error: /^http\.routers\.broken\.profile: profile "broken@etcd" is invalid: http\.profiles\.broken/ },
    { name: 'qualified@docker', error: /^http\.routers\.qualified\.profile: profile "public-https@rest" does not exist/ },
  ];
  for (const c of cases) {
    const el = router(merged, c.name);
    assert.equal(el.config, null, c.name);
    assert.equal(el.errors.length, 1, `${c.name}: ${el.errors.join('; ')}`);
    assert.match(el.errors[0]!, c.error);
  }
  // The invalid profile's own errors are reported with their paths, as provider errors.
  const messages = merged.providerErrors.filter((e) => e.provider === 'etcd').map((e) => [e.path, e.message]);
  assert.ok(messages.length >= 2, JSON.stringify(messages));
  assert.ok(messages.every(([p]) => p === 'http.profiles.broken'), JSON.stringify(messages));
  assert.ok(messages.some(([, m]) => /^http\.profiles\.broken\.entryPoints: /.test(m!)), JSON.stringify(messages));
  assert.ok(messages.some(([, m]) => /middlewars/.test(m!)), JSON.stringify(messages));
});

test('routers without a profile are untouched', () => {
  const merged = mergeConfigs([file, docker({ w: { rule: 'Host(`w.test`)', service: 'w' } })]);
  assert.deepEqual(router(merged, 'w@docker').config, { rule: 'Host(`w.test`)', service: 'w@docker', middlewares: undefined });
});
