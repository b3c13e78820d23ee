import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from '../zod.js';
import { canonicalize } from './canonical.js';
import { canonicalConfig, validateDynamic } from './validate.js';
import '../../middlewares/index.js';

const schema = z.strictObject({
  loadBalancer: z
    .strictObject({
      servers: z.array(z.strictObject({ url: z.string(), weight: z.number().optional() })).optional(),
      healthCheck: z.strictObject({ path: z.string().optional(), headers: z.record(z.string(), z.string()).optional() }).optional(),
      passHostHeader: z.boolean().optional(),
    })
    .optional(),
  names: z.array(z.string()).optional(),
  port: z.string().optional(),
});

test('canonicalize spells option names and reads scalars as Traefik does', () => {
  const cases: { desc: string; input: unknown; want: unknown }[] = [
    { desc: 'lower-case names', input: { loadbalancer: { healthcheck: { path: '/h' } } }, want: { loadBalancer: { healthCheck: { path: '/h' } } } },
    { desc: 'names inside lists of objects', input: { loadBalancer: { servers: [{ URL: 'http://a', Weight: 2 }] } }, want: { loadBalancer: { servers: [{ url: 'http://a', weight: 2 }] } } },
    { desc: 'map keys are kept', input: { loadBalancer: { healthCheck: { headers: { 'X-Foo': 'a', path: 'b' } } } }, want: { loadBalancer: { healthCheck: { headers: { 'X-Foo': 'a', path: 'b' } } } } },
    { desc: 'unknown names are kept for validation to refuse', input: { loadBalancr: {} }, want: { loadBalancr: {} } },
    { desc: 'a duplicate in two spellings is kept as written', input: { loadBalancer: {}, loadbalancer: {} }, want: { loadBalancer: {}, loadbalancer: {} } },
    { desc: 'a scalar for a list is split on commas', input: { names: 'a, b,c' }, want: { names: ['a', 'b', 'c'] } },
    { desc: 'a single scalar for a list', input: { names: '*' }, want: { names: ['*'] } },
    { desc: 'text for a number and a boolean', input: { loadBalancer: { servers: [{ url: 'u', weight: '3' }], passHostHeader: 'false' } }, want: { loadBalancer: { servers: [{ url: 'u', weight: 3 }], passHostHeader: false } } },
    { desc: 'a number for text', input: { port: 8080 }, want: { port: '8080' } },
    { desc: 'non-numeric text for a number is left for validation', input: { loadBalancer: { servers: [{ url: 'u', weight: 'x' }] } }, want: { loadBalancer: { servers: [{ url: 'u', weight: 'x' }] } } },
  ];
  for (const c of cases) assert.deepEqual(canonicalize(schema, c.input), c.want, c.desc);
});

test('validateDynamic accepts Traefik case-insensitive names and still refuses unknown ones', () => {
  const raw = {
    HTTP: {
      Routers: { r: { Rule: 'Host(`a`)', Service: 's', Middlewares: 'rl, ip' } },
      services: { s: { loadbalancer: { servers: [{ url: 'http://127.0.0.1:1' }], healthcheck: { path: '/h', interval: '1s' } } } },
      middlewares: {
        rl: { ratelimit: { average: '10', burst: 5 } },
        ip: { ipallowlist: { sourcerange: '127.0.0.1/32, ::1' } },
        old: { ipWhiteList: { sourceRange: ['10.0.0.0/8'] } },
        bad: { stripPrefix: { prefixs: ['/a'] } },
      },
    },
  };
  const { config, errors } = validateDynamic(raw);
  assert.deepEqual(
    errors.map((e) => e.message),
    ['http.middlewares.bad.stripPrefix.prefixes: required', 'http.middlewares.bad.stripPrefix.prefixs: unknown option (did you mean prefixes?)'],
  );
  assert.deepEqual(config.http.routers.r, { rule: 'Host(`a`)', service: 's', middlewares: ['rl', 'ip'] });
  assert.deepEqual(config.http.middlewares.rl, { rateLimit: { average: 10, burst: 5 } });
  assert.deepEqual(config.http.middlewares.ip, { ipAllowList: { sourceRange: ['127.0.0.1/32', '::1'] } });
  assert.ok(config.http.services.s?.loadBalancer?.healthCheck);
  // The raw view the watcher keeps for the API uses the same spelling.
  assert.ok(((canonicalConfig(raw) as { http: { routers: object } }).http.routers as Record<string, unknown>).r);
});

test('canonicalize shares what needs no change and copies only the objects and lists that change', () => {
  const servers = [{ url: 'http://a' }, { url: 'http://b', weight: 2 }];
  const canonical = { loadBalancer: { servers, passHostHeader: true }, names: ['x'] };
  assert.equal(canonicalize(schema, canonical), canonical, 'a canonical value is returned as it is');
  const input = { loadBalancer: { servers: [{ url: 'http://a' }, { url: 'http://b', weight: '2' }], passHostHeader: true }, names: ['x'] };
  const before = structuredClone(input);
  const out = canonicalize(schema, input) as typeof canonical;
  assert.deepEqual(out, { loadBalancer: { servers: [{ url: 'http://a' }, { url: 'http://b', weight: 2 }], passHostHeader: true }, names: ['x'] });
  assert.deepEqual(input, before, 'the input is not modified');
  assert.notEqual(out, input);
  assert.notEqual(out.loadBalancer.servers, input.loadBalancer.servers, 'the list with a change is copied');
  assert.equal(out.loadBalancer.servers[0], input.loadBalancer.servers[0], 'its unchanged element is shared');
  assert.equal(out.names, input.names, 'an unchanged sibling is shared');
});

test('canonicalConfig keeps canonically written elements as the provider gave them', () => {
  const a = { rule: 'Host(`a`)', service: 's', entryPoints: ['web'] };
  const b = { Rule: 'Host(`b`)', service: 's' };
  const raw = { http: { routers: { a, b }, services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } } } };
  const out = canonicalConfig(raw) as { http: { routers: Record<string, unknown> } };
  assert.equal(out.http.routers.a, a);
  assert.deepEqual(out.http.routers.b, { rule: 'Host(`b`)', service: 's' });
  assert.deepEqual(Object.keys(out.http.routers), ['a', 'b'], 'the order of elements is kept');
  assert.deepEqual(b, { Rule: 'Host(`b`)', service: 's' }, 'the input is not modified');
  const all = { http: { routers: { a } } };
  assert.equal((canonicalConfig(all) as typeof all).http.routers, all.http.routers, 'a section with no change is kept whole');
});
