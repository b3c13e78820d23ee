import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSyntaxError } from '../../errors.js';
import { compileHttpRule, defaultHttpPriority } from './http.js';
import type { MatchRequest } from './request.js';
import { RouteTable, TcpRouteTable, validateRoutes, validateRule, type RouteEntry } from './table.js';
import { requestFromURL } from './testing.js';

const route = (name: string, rule: string, priority = 0): RouteEntry<string> => ({ name, rule, priority, value: name });

describe('RouteTable ordering', () => {
  it('default priority is the rule length: longer rules first', () => {
    const t = new RouteTable([route('short@file', 'PathPrefix(`/`)'), route('long@file', 'PathPrefix(`/api`)')]);
    assert.equal(t.match(requestFromURL('http://x/api/v1'))?.name, 'long@file');
    assert.equal(t.match(requestFromURL('http://x/web'))?.name, 'short@file');
  });

  it('explicit priority wins over length, negative priorities sort last', () => {
    const t = new RouteTable([route('a@file', 'PathPrefix(`/api/v1/users`)'), route('b@file', 'PathPrefix(`/`)', 1000), route('c@file', 'PathPrefix(`/api`)', -5)]);
    assert.deepEqual(t.routes().map((r) => [r.entry.name, r.priority]), [['b@file', 1000], ['a@file', 27], ['c@file', -5]]);
  });

  const tieCases: Array<{ desc: string; routes: RouteEntry<string>[]; precedence?: string[]; expected: string[] }> = [
    {
      desc: 'equal priority: provider precedence decides',
      routes: [route('x@docker', 'Host(`a`)'), route('x@file', 'Host(`a`)')],
      precedence: ['file', 'docker'],
      expected: ['x@file', 'x@docker'],
    },
    {
      desc: 'providers not listed come after listed ones',
      routes: [route('x@rest', 'Host(`a`)'), route('x@docker', 'Host(`a`)')],
      precedence: ['docker'],
      expected: ['x@docker', 'x@rest'],
    },
    {
      desc: 'priority first, precedence second',
      routes: [route('x@file', 'Host(`a`)'), route('y@docker', 'Host(`a`)', 100)],
      precedence: ['file', 'docker'],
      expected: ['y@docker', 'x@file'],
    },
    {
      desc: 'same priority and provider: name order (Traefik leaves it unspecified)',
      routes: [route('b@file', 'Host(`a`)'), route('a@file', 'Host(`b`)')],
      expected: ['a@file', 'b@file'],
    },
  ];
  for (const c of tieCases) {
    it(c.desc, () => {
      const t = new RouteTable(c.routes, { providersPrecedence: c.precedence });
      assert.deepEqual(t.routes().map((r) => r.entry.name), c.expected);
    });
  }

  it('double wildcard hosts rank below the exact hosts they cover', () => {
    const t = new RouteTable([route('wild@file', 'Host(`**.example.com`)'), route('exact@file', 'Host(`a.example.com`)')]);
    assert.equal(t.match(requestFromURL('http://a.example.com'))?.name, 'exact@file');
    assert.equal(t.match(requestFromURL('http://b.a.example.com'))?.name, 'wild@file');
  });
});

describe('RouteTable errors', () => {
  it('a bad rule is reported and skipped, the others still route', () => {
    const t = new RouteTable([route('bad@file', 'Hots(`a`)'), route('good@file', 'Host(`a`)'), route('bad2@file', 'Path(`x`)')]);
    assert.deepEqual(t.errors.map((e) => e.name), ['bad@file', 'bad2@file']);
    assert.ok(t.errors[0]!.error instanceof RuleSyntaxError);
    assert.equal(t.errors[0]!.error.message, 'unknown matcher "Hots" (did you mean "Host"?) at 1');
    assert.equal(t.match(requestFromURL('http://a/'))?.name, 'good@file');
    assert.equal(t.size, 1);
  });

  it('validateRoutes and validateRule report the same errors up front', () => {
    assert.deepEqual(validateRoutes([route('bad@file', 'Hots(`a`)'), route('ok@file', 'Host(`a`)')]).map((e) => [e.name, e.error.position]), [['bad@file', 1]]);
    assert.equal(validateRule('Host(`a`)'), null);
    assert.equal(validateRule('HostSNI(`a`)', 'tcp'), null);
    assert.ok(validateRule('HostSNI(`a`)', 'http') instanceof RuleSyntaxError);
  });
});

describe('RouteTable explain', () => {
  it('lists every route in evaluation order with its reason', () => {
    const t = new RouteTable([route('api@file', 'Host(`a.test`) && PathPrefix(`/v1`)'), route('other@file', 'Host(`b.test`)'), route('all@file', 'PathPrefix(`/`)')]);
    assert.deepEqual(t.explain(requestFromURL('http://a.test/v2')), [
      { name: 'api@file', priority: 35, matched: false, reason: 'path /v2 did not match PathPrefix(`/v1`)' },
      { name: 'other@file', priority: 14, matched: false, reason: 'host a.test did not match Host(`b.test`)' },
      { name: 'all@file', priority: 15, matched: true, reason: null },
    ].sort((x, y) => y.priority - x.priority));
  });
});

/** LinearScan is the reference: every route, sorted as Traefik sorts, first match wins. */
class LinearScan {
  readonly #sorted: Array<{ name: string; rule: ReturnType<typeof compileHttpRule> }>;

  constructor(entries: RouteEntry<string>[], precedence: string[]) {
    const rank = (name: string): number => {
      const i = precedence.indexOf(name.slice(name.lastIndexOf('@') + 1));
      return i < 0 ? precedence.length : i;
    };
    this.#sorted = entries
      .filter((e) => validateRule(e.rule) === null)
      .map((e) => ({ e, p: e.priority === 0 ? defaultHttpPriority(e.rule) : e.priority }))
      .sort((a, b) => b.p - a.p || rank(a.e.name) - rank(b.e.name) || (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0))
      .map(({ e }) => ({ name: e.name, rule: compileHttpRule(e.rule) }));
  }

  match(req: MatchRequest): string | null {
    for (const r of this.#sorted) if (r.rule.match(req)) return r.name;
    return null;
  }
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RouteTable host index (conformance with a linear scan)', () => {
  const hosts = ['a.test', 'b.test', 'c.test', 'a.test.', 'x.a.test', 'y.x.a.test', 'localhost', '10::10'];
  const paths = ['/', '/v1', '/v1/users', '/v2', '/admin', '/static/app.js'];
  const providers = ['file', 'docker', 'rest'];

  function randomRule(r: () => number): string {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const h = (): string => pick(hosts);
    const p = (): string => pick(paths);
    const templates: Array<() => string> = [
      () => `Host(\`${h()}\`)`,
      () => `Host(\`${h()}\`) && PathPrefix(\`${p()}\`)`,
      () => `Host(\`${h()}\`) || Host(\`${h()}\`)`,
      () => `(Host(\`${h()}\`) || Host(\`${h()}\`)) && Path(\`${p()}\`)`,
      () => `PathPrefix(\`${p()}\`)`,
      () => `!Host(\`${h()}\`) && PathPrefix(\`${p()}\`)`,
      () => `HostRegexp(\`^[a-c]\\.test$\`)`,
      () => `Host(\`${h()}\`) && PathRegexp(\`^/v[12]\`)`,
      () => `PathRegexp(\`^/v1/\`) || PathRegexp(\`^/ad\`)`,
      () => `PathRegexp(\`^/v1|users\`)`,
      () => `Host(\`*.a.test\`)`,
      () => `Host(\`**.a.test\`) && PathPrefix(\`${p()}\`)`,
      () => `Host(\`${h().toUpperCase()}\`) && Method(\`POST\`)`,
      () => `Host(\`${h()}\`) && Header(\`X-Env\`, \`prod\`)`,
      () => `Host(\`${h()}\`) || PathPrefix(\`${p()}\`)`,
      () => `!(!Host(\`${h()}\`) || !PathPrefix(\`${p()}\`))`,
      () => 'Hots(`broken`)',
    ];
    return pick(templates)();
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random tables and requests agree (seed ${seed})`, () => {
      const r = prng(seed);
      const entries: RouteEntry<string>[] = [];
      const n = 20 + Math.floor(r() * 60);
      for (let i = 0; i < n; i++) {
        const priority = r() < 0.7 ? 0 : Math.floor(r() * 40) - 5;
        entries.push(route(`r${i}@${providers[Math.floor(r() * providers.length)]}`, randomRule(r), priority));
      }
      const precedence = ['docker', 'file'];
      const table = new RouteTable(entries, { providersPrecedence: precedence });
      const linear = new LinearScan(entries, precedence);
      for (let k = 0; k < 300; k++) {
        const host = [...hosts, 'unknown.test', 'UNKNOWN'][Math.floor(r() * (hosts.length + 2))]!.toLowerCase();
        const url = `http://${host}${paths[Math.floor(r() * paths.length)]}`;
        const req = requestFromURL(url, { method: r() < 0.5 ? 'GET' : 'POST', headers: r() < 0.5 ? { 'x-env': 'prod' } : {} });
        assert.equal(table.match(req)?.name ?? null, linear.match(req), `${req.method} ${url}`);
        const winner = table.explain(req).find((x) => x.matched)?.name ?? null;
        assert.equal(winner, table.match(req)?.name ?? null, 'explain names the same winner');
      }
    });
  }

  it('10,000 routers on distinct hosts: a host scans only its own routes and the catch-alls', () => {
    const entries: RouteEntry<string>[] = [];
    for (let i = 0; i < 10_000; i++) entries.push(route(`svc${i}@docker`, `Host(\`svc${i}.example.com\`) && PathPrefix(\`/\`)`));
    entries.push(route('health@file', 'Path(`/health`)'));
    entries.push(route('fallback@file', 'PathPrefix(`/`)', 1));
    const t = new RouteTable(entries);
    for (const i of [0, 1234, 9999]) {
      const candidates = t.candidates(`svc${i}.example.com`);
      assert.deepEqual(candidates.map((c) => c.name), [`svc${i}@docker`, 'health@file', 'fallback@file']);
      assert.equal(t.match(requestFromURL(`http://svc${i}.example.com/x`))?.name, `svc${i}@docker`);
    }
    assert.equal(t.candidates('nobody.example.com').length, 2);
    assert.equal(t.candidates('svc5.example.com.').length, 3);
    assert.equal(t.match(requestFromURL('http://nobody.example.com/x'))?.name, 'fallback@file');
  });

  it('a route on several hosts is a candidate for each', () => {
    const t = new RouteTable([route('ab@file', 'Host(`a`) || Host(`B`)'), route('c@file', 'Host(`c`)')]);
    assert.deepEqual(t.candidates('b').map((c) => c.name), ['ab@file']);
    assert.deepEqual(t.candidates('a').map((c) => c.name), ['ab@file']);
    assert.deepEqual(t.candidates('zzz'), []);
  });
});

describe('TcpRouteTable', () => {
  it('routes by SNI, the catch-all last', () => {
    const t = new TcpRouteTable([route('any@file', 'HostSNI(`*`)'), route('db@file', 'HostSNI(`db.test`)'), route('re@file', 'HostSNIRegexp(`^.+\\.test$`)')]);
    assert.deepEqual(t.routes().map((r) => [r.entry.name, r.priority]), [['re@file', 27], ['db@file', 18], ['any@file', -1]]);
    assert.equal(t.match({ sni: 'db.test', clientIP: '', alpn: [] })?.name, 're@file');
    assert.equal(t.match({ sni: '', clientIP: '', alpn: [] })?.name, 'any@file');
    assert.deepEqual(t.candidates('db.test').map((c) => c.name), ['re@file', 'db@file', 'any@file']);
  });
});

describe('RouteTable path index', () => {
  const routes = [
    route('api@file', 'PathPrefix(`/api/`)', 10),
    route('v1@file', 'PathPrefix(`/api/v1/`)', 5),
    route('exact@file', 'Path(`/api/v1/x`)', 20),
    route('hostapi@file', 'Host(`h.test`) && PathPrefix(`/api`)', 1),
    route('root@file', 'PathPrefix(`/`)'),
    route('partial@file', 'PathPrefix(`/ap`)', 100),
    route('either@file', 'PathPrefix(`/api/v2/`) || PathPrefix(`/other/`)', 50),
    route('notpath@file', '!PathPrefix(`/api/`) && Method(`POST`)', 200),
    route('hostonly@file', 'Host(`h.test`)', 3),
    route('hostdeep@file', 'Host(`h.test`) && PathPrefix(`/a/b/c/`)', 4),
    route('twohosts@file', '(Host(`h.test`) || Host(`g.test`)) && Path(`/api/v1/x`)', 25),
    // Indexed under the literal prefix of an anchored PathRegexp (/api/v), or not at all (an
    // alternation, an unanchored pattern).
    route('regexp@file', 'PathRegexp(`^/api/v[0-9]+/x$`)', 22),
    route('regexpalt@file', 'PathRegexp(`^/other/[0-9]|^/ap$`)', 60),
    route('regexpunanchored@file', 'PathRegexp(`/v1/$`)', 21),
  ];
  const t = new RouteTable(routes);

  it('answers exactly as a scan of every route in evaluation order', () => {
    const all = t.routes().map((r) => ({ name: r.entry.name, rule: compileHttpRule(r.entry.rule) }));
    const paths = ['/', '/a', '/a/b/c/d', '/ap', '/apx', '/api', '/api/', '/api/v1', '/api/v1/', '/api/v1/x', '/api/v1/xy', '/api/v2/z', '/other', '/other/1', '/zzz/'];
    let checked = 0;
    for (const host of ['h.test', 'g.test', 'x.test']) {
      for (const path of paths) {
        for (const method of ['GET', 'POST']) {
          const req = requestFromURL(`http://${host}${path}`, { method });
          const want = all.find((r) => r.rule.match(req))?.name ?? null;
          assert.equal(t.match(req)?.name ?? null, want, `${method} ${host}${path}`);
          checked++;
        }
      }
    }
    assert.equal(checked, 90);
  });

  it('keeps 10,000 path-prefix routers cheap to build and to match', () => {
    const many: RouteEntry<string>[] = [route('catchall@file', 'PathPrefix(`/`)')];
    for (let i = 0; i < 5000; i++) many.push(route(`h${i}@file`, `Host(\`h${i}.test\`)`), route(`p${i}@file`, `PathPrefix(\`/svc${i}/\`)`));
    const big = new RouteTable(many);
    assert.equal(big.match(requestFromURL('http://h42.test/svc7/x'))?.name, 'p7@file');
    assert.equal(big.match(requestFromURL('http://bench.local/'))?.name, 'catchall@file');
    assert.equal(big.match(requestFromURL('http://h42.test/'))?.name, 'h42@file');
  });
});
