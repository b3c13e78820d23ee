import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFlat, splitKey } from './decode.js';
import { normalize, renderTemplate } from './template.js';

test('splitKey: dotted and bracketed indices', () => {
  assert.deepEqual(splitKey('a.servers[0].url'), ['a', 'servers', '0', 'url']);
  assert.deepEqual(splitKey('a.servers.1.url'), ['a', 'servers', '1', 'url']);
  assert.deepEqual(splitKey('a.b[0][2]'), ['a', 'b', '0', '2']);
  assert.equal(splitKey('a..b'), null);
});

test('decodeFlat: other prefixes and non-config keys are ignored', () => {
  const res = decodeFlat({ 'gantry.enable': 'true', 'gantry.docker.network': 'x', 'traefik.http.routers.a.rule': 'Host(`a`)', 'other.http.x': 'y' }, 'gantry');
  assert.deepEqual(res, { config: {}, errors: [] });
});

test('decodeFlat: prefix is case-insensitive, names keep their case', () => {
  const res = decodeFlat({ 'Traefik.HTTP.Routers.MyApp.Rule': 'Host(`a`)', 'traefik.http.routers.MyApp.EntryPoints': 'web' }, 'traefik');
  assert.deepEqual(res.config, { http: { routers: { MyApp: { rule: 'Host(`a`)', entryPoints: ['web'] } } } });
});

test('decodeFlat: errors isolate the element', () => {
  const res = decodeFlat(
    {
      'gantry.http.routers.ok.rule': 'Host(`ok`)',
      'gantry.http.routers.bad.rule': 'Host(`bad`)',
      'gantry.http.routers.bad.tls.passthrough': 'true',
      'gantry.http.middlewares.m.nosuch.x': '1',
      'gantry.http.routers': 'x',
    },
    'gantry',
  );
  assert.deepEqual(res.config, { http: { routers: { ok: { rule: 'Host(`ok`)' } } } });
  assert.deepEqual(
    res.errors.map((e) => [e.path, e.message]),
    [
      ['http.middlewares.m', 'label "gantry.http.middlewares.m.nosuch.x": unknown option "nosuch"'],
      [undefined, 'label "gantry.http.routers": too short: expected e.g. http.routers.<name>.rule'],
      ['http.routers.bad', 'label "gantry.http.routers.bad.tls.passthrough": unknown option "passthrough"'],
    ],
  );
});

test('decodeFlat: booleans, numbers, tls=true, list of objects needs indices', () => {
  const res = decodeFlat(
    {
      'gantry.http.routers.r.tls': 'true',
      'gantry.http.services.s.loadbalancer.servers': 'http://a',
      'gantry.http.services.t.loadbalancer.sticky.cookie': 'true',
      'gantry.http.middlewares.c.compress.minresponsebodybytes': '1024',
      'gantry.http.middlewares.r.retry.attempts': '3',
      'gantry.http.middlewares.r.retry.initialinterval': '100ms',
    },
    'gantry',
  );
  assert.deepEqual(res.config, {
    http: {
      routers: { r: { tls: {} } },
      services: { t: { loadBalancer: { sticky: { cookie: {} } } } },
      middlewares: { c: { compress: { minResponseBodyBytes: 1024 } }, r: { retry: { attempts: 3, initialInterval: '100ms' } } },
    },
  });
  assert.equal(res.errors.length, 1);
  assert.match(res.errors[0]!.message, /is a list of objects/);
});

test('template: normalize and functions', () => {
  assert.equal(normalize('my_app.1'), 'my-app-1');
  const data = { Name: 'my_app', Domain: 'docker.localhost', Labels: { 'a.b': 'x' } };
  assert.equal(renderTemplate('Host(`{{ normalize .Name }}.{{ .Domain }}`)', data), 'Host(`my-app.docker.localhost`)');
  assert.equal(renderTemplate('{{ index .Labels "a.b" }}-{{lower "AB"}}', data), 'x-ab');
  assert.throws(() => renderTemplate('{{ .Nope }}', data), /unknown field/);
  assert.throws(() => renderTemplate('{{ .Name ', data), /unclosed/);
});

test('decodeFlat: a "__proto__" anywhere in a label is refused, and Object.prototype stays untouched', () => {
  const res = decodeFlat(
    {
      'traefik.http.routers.__proto__.rule': 'Host(`x`)',
      'traefik.http.routers.__proto__.service': 'evil',
      'traefik.http.routers.a.__proto__.middlewares': 'm',
      'traefik.http.services.__proto__.loadbalancer.server.port': '80',
      'traefik.http.routers.ok.rule': 'Host(`ok`)',
    },
    'traefik',
  );
  const plain = {} as Record<string, unknown>;
  assert.equal(plain['rule'], undefined, 'a label wrote into Object.prototype');
  assert.equal(plain['service'], undefined);
  assert.equal(Object.hasOwn(Object.prototype, 'rule'), false);
  assert.deepEqual(res.config, { http: { routers: { ok: { rule: 'Host(`ok`)' } } } });
  assert.equal(res.errors.length, 4);
  for (const e of res.errors) assert.match(e.message, /"__proto__" is reserved/);
  assert.deepEqual(res.errors.map((e) => e.source).sort(), [
    'traefik.http.routers.__proto__.rule',
    'traefik.http.routers.__proto__.service',
    'traefik.http.routers.a.__proto__.middlewares',
    'traefik.http.services.__proto__.loadbalancer.server.port',
  ]);
});
