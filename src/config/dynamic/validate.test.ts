import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from '../zod.js';
import { registerMiddleware } from '../../middlewares/registry.js';
import { referenceErrors, validateDynamic } from './validate.js';

// A stand-in factory: validation only needs the type and its option schema.
registerMiddleware({
  type: 'stripPrefix',
  schema: z.strictObject({ prefixes: z.array(z.string().startsWith('/', 'must start with "/"')).min(1), forceSlash: z.boolean().optional() }),
  create: (_o, next) => next,
});

const good = {
  http: {
    routers: { demo: { rule: 'Host(`example.com`) && PathPrefix(`/demo`)', service: 'go-demo', middlewares: ['strip'] } },
    services: { 'go-demo': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002', weight: 2 }] } } },
    middlewares: { strip: { stripPrefix: { prefixes: ['/demo'] } }, both: { chain: { middlewares: ['strip'] } } },
  },
  tcp: {
    routers: { db: { rule: 'HostSNI(`db.example.com`)', service: 'db', tls: { passthrough: true } } },
    services: { db: { loadBalancer: { servers: [{ address: '127.0.0.1:5432' }] } } },
  },
  tls: { certificates: [{ certFile: 'cert.pem', keyFile: 'key.pem' }] },
};

test('a valid configuration passes whole and frozen', () => {
  const { config, errors } = validateDynamic(good);
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(config.http.routers), ['demo']);
  assert.deepEqual(config.http.middlewares.strip, { stripPrefix: { prefixes: ['/demo'] } });
  assert.deepEqual(config.http.middlewares.both, { chain: { middlewares: ['strip'] } });
  assert.equal(config.tcp.services.db?.loadBalancer?.servers?.[0]?.address, '127.0.0.1:5432');
  assert.equal(config.tls.certificates.length, 1);
  assert.ok(Object.isFrozen(config.http.services['go-demo']!.loadBalancer!.servers));
  assert.deepEqual(referenceErrors(config), []);
});

test('empty and missing sections', () => {
  const cases: { desc: string; input: unknown }[] = [
    { desc: 'undefined', input: undefined },
    { desc: 'null', input: null },
    { desc: 'empty object', input: {} },
    { desc: 'null sections', input: { http: null, tcp: { routers: null } } },
  ];
  for (const c of cases) {
    const { config, errors } = validateDynamic(c.input);
    assert.deepEqual(errors, [], c.desc);
    assert.deepEqual(config.http.routers, {}, c.desc);
  }
});

test('a bad element is dropped and reported with its path; the rest stays', () => {
  const cases: { desc: string; patch: (c: any) => void; path: string; message: string; gone: (c: any) => unknown }[] = [
    {
      desc: 'unknown matcher',
      patch: (c) => (c.http.routers.demo.rule = 'Hots(`example.com`)'),
      path: 'http.routers.demo',
      message: 'http.routers.demo.rule: unknown matcher "Hots"',
      gone: (c) => c.http.routers.demo,
    },
    {
      desc: 'router missing its service',
      patch: (c) => delete c.http.routers.demo.service,
      path: 'http.routers.demo',
      message: "http.routers.demo.service: required (only a parent router, named by another router's parentRefs, has none)",
      gone: (c) => c.http.routers.demo,
    },
    {
      desc: 'misspelt router option',
      patch: (c) => (c.http.routers.demo.priorty = 3),
      path: 'http.routers.demo',
      message: 'http.routers.demo.priorty: unknown option (did you mean priority?)',
      gone: (c) => c.http.routers.demo,
    },
    {
      desc: 'unsupported rule syntax',
      patch: (c) => (c.http.routers.demo.ruleSyntax = 'v1'),
      path: 'http.routers.demo',
      message: 'http.routers.demo.ruleSyntax: rule syntax "v1" is not supported (use v3, or v2 for Traefik v2 rules)',
      gone: (c) => c.http.routers.demo,
    },
    {
      desc: 'bad server URL',
      patch: (c) => (c.http.services['go-demo'].loadBalancer.servers[1].url = 'ftp://x'),
      path: 'http.services.go-demo',
      message: 'http.services.go-demo.loadBalancer.servers[1].url: not an http://, https:// or h2c:// URL',
      gone: (c) => c.http.services['go-demo'],
    },
    {
      desc: 'misspelt server option',
      patch: (c) => (c.http.services['go-demo'].loadBalancer.servers[0].wieght = 1),
      path: 'http.services.go-demo',
      message: 'http.services.go-demo.loadBalancer.servers[0].wieght: unknown option (did you mean weight?)',
      gone: (c) => c.http.services['go-demo'],
    },
    {
      desc: 'misspelt service kind',
      patch: (c) => (c.http.services['go-demo'] = { loadBalancr: {} }),
      path: 'http.services.go-demo',
      message: 'http.services.go-demo.loadBalancr: unknown option (did you mean loadBalancer?)',
      gone: (c) => c.http.services['go-demo'],
    },
    {
      desc: 'unknown middleware type',
      patch: (c) => (c.http.middlewares.strip = { stripPrefx: { prefixes: ['/demo'] } }),
      path: 'http.middlewares.strip',
      message: 'http.middlewares.strip.stripPrefx: unknown middleware type "stripPrefx" (did you mean stripPrefix?)',
      gone: (c) => c.http.middlewares.strip,
    },
    {
      desc: 'middleware options checked by its factory schema',
      patch: (c) => (c.http.middlewares.strip.stripPrefix.prefixes = ['demo']),
      path: 'http.middlewares.strip',
      message: 'http.middlewares.strip.stripPrefix.prefixes[0]: must start with "/"',
      gone: (c) => c.http.middlewares.strip,
    },
    {
      desc: 'middleware with two types',
      patch: (c) => (c.http.middlewares.strip.chain = { middlewares: ['x'] }),
      path: 'http.middlewares.strip',
      message: 'http.middlewares.strip: has 2 types (stripPrefix, chain); a middleware has exactly one',
      gone: (c) => c.http.middlewares.strip,
    },
    {
      desc: 'empty chain',
      patch: (c) => (c.http.middlewares.both.chain.middlewares = []),
      path: 'http.middlewares.both',
      message: 'http.middlewares.both.chain.middlewares: lists no middlewares',
      gone: (c) => c.http.middlewares.both,
    },
    {
      desc: 'tcp rule with an http matcher',
      patch: (c) => (c.tcp.routers.db.rule = 'Host(`db.example.com`)'),
      path: 'tcp.routers.db',
      message: 'tcp.routers.db.rule: ',
      gone: (c) => c.tcp.routers.db,
    },
    {
      desc: 'certificate without key',
      patch: (c) => delete c.tls.certificates[0].keyFile,
      path: 'tls.certificates[0]',
      message: 'tls.certificates[0].keyFile: required',
      gone: (c) => c.tls.certificates[0],
    },
  ];
  for (const c of cases) {
    const input = structuredClone(good) as any;
    c.patch(input);
    const { config, errors } = validateDynamic(input);
    assert.ok(errors.length >= 1, `${c.desc}: an error`);
    assert.ok(
      errors.every((e) => e.path === c.path),
      `${c.desc}: path ${JSON.stringify(errors)}`,
    );
    assert.ok(errors[0]!.message.startsWith(c.message), `${c.desc}: ${errors[0]!.message}`);
    assert.equal(c.gone(config), undefined, `${c.desc}: dropped`);
    // Everything else is still there.
    const total = (x: any) =>
      Object.keys(x.http.routers).length + Object.keys(x.http.services).length + Object.keys(x.http.middlewares).length +
      Object.keys(x.tcp.routers).length + Object.keys(x.tcp.services).length + x.tls.certificates.length;
    assert.equal(total(config), 6, `${c.desc}: the rest stays`);
  }
});

test('unknown sections are errors with suggestions', () => {
  const cases: { desc: string; input: unknown; want: { path: string; message: string }[] }[] = [
    { desc: 'top level', input: { htp: {} }, want: [{ path: 'htp', message: 'htp: unknown section (did you mean http?)' }] },
    { desc: 'inside http', input: { http: { router: {} } }, want: [{ path: 'http.router', message: 'http.router: unknown section (did you mean routers?)' }] },
    { desc: 'not a mapping', input: { http: { routers: [] } }, want: [{ path: 'http.routers', message: 'http.routers: expected a mapping of names to definitions' }] },
    { desc: 'element not a mapping', input: { http: { middlewares: { m: 'x' } } }, want: [{ path: 'http.middlewares.m', message: 'http.middlewares.m: expected a mapping with one middleware type, e.g. stripPrefix' }] },
  ];
  for (const c of cases) assert.deepEqual(validateDynamic(c.input).errors, c.want, c.desc);
});

test('referenceErrors finds names not defined in the same configuration', () => {
  const input = structuredClone(good) as any;
  input.http.routers.demo.service = 'go-dem';
  input.http.routers.demo.middlewares = ['strip', 'auth@docker', 'nope'];
  input.http.services.broken = { loadBalancer: { servers: [{ url: 'x' }] } };
  input.http.routers.other = { rule: 'Path(`/`)', service: 'broken' };
  const { config } = validateDynamic(input);
  assert.deepEqual(
    referenceErrors(config, input).map((e) => e.message),
    ['http.routers.demo.service: unknown service "go-dem" (did you mean go-demo?)', 'http.routers.demo.middlewares[2]: unknown middleware "nope"'],
  );
});

test('the input is not frozen or changed', () => {
  const input = structuredClone(good);
  validateDynamic(input);
  assert.ok(!Object.isFrozen(input.http.routers.demo));
  assert.deepEqual(input, good);
});

test('profiles: validated element by element, each error with its path; their middlewares are references', () => {
  const input = structuredClone(good) as any;
  input.http.profiles = {
    'public-https': { entryPoints: ['websecure'], middlewares: ['strip', 'nope'], tls: { certResolver: 'le' }, priority: 3 },
    typo: { entrypoint: ['web'] },
    badTls: { tls: { certResolvr: 'le' } },
    // Option names match case-insensitively, as in Traefik's file provider.
    casing: { entrypoints: ['web'], TLS: { certresolver: 'le' } },
  };
  input.http.routers.demo.profile = 'public-https';
  const { config, errors } = validateDynamic(input);
  assert.deepEqual(errors, [
    { path: 'http.profiles.typo', message: 'http.profiles.typo.entrypoint: unknown option (did you mean entryPoints?)' },
    { path: 'http.profiles.badTls', message: 'http.profiles.badTls.tls.certResolvr: unknown option (did you mean certResolver?)' },
  ]);
  assert.deepEqual(Object.keys(config.http.profiles), ['public-https', 'casing']);
  assert.deepEqual(config.http.profiles.casing, { entryPoints: ['web'], tls: { certResolver: 'le' } });
  assert.equal(config.http.routers.demo?.profile, 'public-https');
  assert.deepEqual(referenceErrors(config, input).map((e) => e.message), ['http.profiles.public-https.middlewares[1]: unknown middleware "nope"']);
  const empty = validateDynamic({ http: { routers: { r: { rule: 'Path(`/`)', service: 's', profile: ' ' } } } });
  assert.deepEqual(empty.errors.map((e) => e.message), ['http.routers.r.profile: profile is empty']);
});

test('Traefik v3.7 router, TCP and UDP elements: what loads and what is refused, with the path', () => {
  const svc = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } };
  const cases: { desc: string; input: unknown; errors: string[] }[] = [
    {
      desc: 'a parent router needs no service; its child may not set entryPoints, tls or observability',
      input: {
        http: {
          routers: {
            parent: { rule: 'PathPrefix(`/api`)' },
            child: { rule: 'Path(`/api/x`)', service: 's', parentRefs: ['parent'], entryPoints: ['web'], tls: {}, observability: { metrics: false } },
          },
          services: { s: svc },
        },
      },
      errors: [
        'http.routers.child.entryPoints: a router with parentRefs must not have entryPoints (it is reached through its parents, which set it)',
        'http.routers.child.tls: a router with parentRefs must not have tls (it is reached through its parents, which set it)',
        'http.routers.child.observability: a router with parentRefs must not have observability (it is reached through its parents, which set it)',
      ],
    },
    {
      desc: 'tracing is refused, traceVerbosity only with tracing: false',
      input: { http: { routers: { a: { rule: 'Path(`/`)', service: 's', observability: { tracing: true } }, b: { rule: 'Path(`/`)', service: 's', observability: { traceVerbosity: 'detailed' } }, c: { rule: 'Path(`/`)', service: 's', observability: { tracing: false, traceVerbosity: 'detailed' } } }, services: { s: svc } } },
      errors: [
        'http.routers.a.observability.tracing: not supported yet (Gantry has no tracing; only false is accepted)',
        'http.routers.b.observability.traceVerbosity: not supported yet (Gantry has no tracing; accepted only with tracing: false)',
      ],
    },
    {
      desc: 'a v2 rule that does not parse as v2',
      input: { http: { routers: { a: { rule: 'PathRegexp(`^/a`)', ruleSyntax: 'v2', service: 's' } }, services: { s: svc } } },
      errors: ['http.routers.a.rule: unknown v2 matcher "PathRegexp" (v2 HTTP matchers: Host, HostHeader, HostRegexp, Path, PathPrefix, Method, ClientIP, Headers, HeadersRegexp, Query) at 1'],
    },
    {
      desc: 'TCP middlewares: one known type with its options',
      input: { tcp: { middlewares: { a: { ipAllowList: { sourceRange: ['10.0.0.0/8'] } }, b: { ipallowlst: {} }, c: { inFlightConn: { amount: 0 } } } } },
      errors: [
        'tcp.middlewares.b.ipallowlst: unknown TCP middleware type "ipallowlst" (did you mean ipAllowList?) (TCP has ipAllowList, ipWhiteList, inFlightConn)',
        'tcp.middlewares.c.inFlightConn.amount: amount must be at least 1',
      ],
    },
    {
      desc: 'UDP is refused',
      input: { udp: { routers: { u: { service: 'x' } } } },
      errors: ['udp.routers.u: not supported yet (Gantry routes HTTP and TCP; UDP routers and services are not implemented)'],
    },
  ];
  for (const c of cases) assert.deepEqual(validateDynamic(c.input).errors.map((e) => e.message), c.errors, c.desc);
});

test('an element named "__proto__" is refused by name, not lost, and does not touch prototypes', () => {
  // JSON.parse (and the YAML and TOML parsers) make "__proto__" an own key, as a provider may send it.
  const input = JSON.parse(
    '{"http":{"routers":{"__proto__":{"rule":"Host(`p.test`)","service":"s"},"ok":{"rule":"Host(`ok.test`)","service":"s"}},' +
      '"services":{"s":{"loadBalancer":{"servers":[{"url":"http://127.0.0.1:1"}]}}},' +
      '"middlewares":{"m":{"__proto__":{"headers":{}}},"__proto__":{"headers":{}}}}}',
  );
  const { config, errors } = validateDynamic(input);
  assert.deepEqual(Object.keys(config.http.routers), ['ok']);
  assert.equal(Object.getPrototypeOf(config.http.routers), Object.prototype);
  const byPath = new Map(errors.map((e) => [e.path, e.message]));
  assert.match(byPath.get('http.routers.__proto__') ?? '', /^http\.routers\.__proto__: this name is reserved/);
  assert.match(byPath.get('http.middlewares.__proto__') ?? '', /reserved/);
  assert.ok(byPath.has('http.middlewares.m'), `a middleware whose type is "__proto__" is an error: ${JSON.stringify(errors)}`);
  assert.equal(Object.hasOwn(Object.prototype, 'rule'), false);
  assert.equal(Object.hasOwn(Object.prototype, 'headers'), false);
});
