import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createError, request, startMiddlewareServer, testEnv } from '../testutil.js';
import { createRateLimit, rateLimit, rateLimitSchema, RateLimiter } from './index.js';

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('rateLimit', () => {
  const cases: Array<{
    desc: string;
    options: unknown;
    /** Each step: clock advance before the request, extra headers, expected status and Retry-After. */
    steps: Array<{ advance?: number; headers?: Record<string, string>; status: number; retryAfter?: string }>;
  }> = [
    {
      desc: 'a burst goes through, the next request gets 429 with Retry-After',
      options: { average: 1, burst: 3 },
      steps: [{ status: 200 }, { status: 200 }, { status: 200 }, { status: 429, retryAfter: '1' }],
    },
    {
      desc: 'tokens come back with time',
      options: { average: 1, burst: 1 },
      steps: [{ status: 200 }, { status: 429 }, { advance: 1000, status: 200 }, { status: 429 }],
    },
    {
      desc: 'Retry-After is the wait rounded up to whole seconds',
      options: { average: 1, period: '10s', burst: 1 },
      steps: [{ status: 200 }, { advance: 500, status: 429, retryAfter: '10' }, { advance: 7000, status: 429, retryAfter: '3' }],
    },
    {
      desc: 'average 0 means no limit',
      options: { average: 0 },
      steps: [{ status: 200 }, { status: 200 }, { status: 200 }],
    },
    {
      desc: 'burst 0 is read as 1, as Traefik does',
      options: { average: 1, burst: 0 },
      steps: [{ status: 200 }, { status: 429 }],
    },
    {
      desc: 'requestHeaderName gives each header value its own bucket',
      options: { average: 1, burst: 1, sourceCriterion: { requestHeaderName: 'X-User' } },
      steps: [
        { headers: { 'x-user': 'a' }, status: 200 },
        { headers: { 'x-user': 'b' }, status: 200 },
        { headers: { 'x-user': 'a' }, status: 429 },
      ],
    },
    {
      desc: 'ipStrategy depth reads X-Forwarded-For from the right',
      options: { average: 1, burst: 1, sourceCriterion: { ipStrategy: { depth: 1 } } },
      steps: [
        { headers: { 'x-forwarded-for': '1.1.1.1' }, status: 200 },
        { headers: { 'x-forwarded-for': '2.2.2.2' }, status: 200 },
        { headers: { 'x-forwarded-for': '9.9.9.9, 1.1.1.1' }, status: 429 },
      ],
    },
    {
      desc: 'requestHost groups by Host header',
      options: { average: 1, burst: 1, sourceCriterion: { requestHost: true } },
      steps: [
        { headers: { host: 'a.example' }, status: 200 },
        { headers: { host: 'b.example' }, status: 200 },
        { headers: { host: 'a.example' }, status: 429 },
      ],
    },
  ];

  for (const c of cases) {
    it(c.desc, async () => {
      const clock = fakeClock();
      const options = rateLimitSchema.parse(c.options);
      const srv = await startMiddlewareServer((next) => createRateLimit(options, next, testEnv(), clock.now));
      try {
        for (const [i, step] of c.steps.entries()) {
          clock.advance(step.advance ?? 0);
          const r = await request(srv.url, '/', { headers: step.headers });
          assert.equal(r.status, step.status, `step ${i}`);
          if (step.status === 429) {
            assert.match(r.body, /Too Many Requests/);
            assert.ok(r.headers['retry-after'], 'Retry-After is set');
            assert.ok(Number(r.headers['retry-after']) >= 1);
            assert.equal(srv.lastSeen(), null);
          }
          if (step.retryAfter !== undefined) assert.equal(r.headers['retry-after'], step.retryAfter, `step ${i}`);
        }
      } finally {
        await srv.close();
      }
    });
  }

  const reserveCases: Array<{ desc: string; rate: number; burst: number; advances: number[]; want: Array<'now' | 'delay' | 'refuse'> }> = [
    { desc: 'a short wait is absorbed by delaying', rate: 2, burst: 1, advances: [0, 400], want: ['now', 'delay'] },
    { desc: 'a long wait is refused', rate: 2, burst: 1, advances: [0, 100], want: ['now', 'refuse'] },
    { desc: 'a refused request takes no token', rate: 2, burst: 1, advances: [0, 100, 0, 400], want: ['now', 'refuse', 'refuse', 'now'] },
  ];
  for (const c of reserveCases) {
    it(`reserve: ${c.desc}`, () => {
      const clock = fakeClock();
      const rl = new RateLimiter(c.rate, c.burst, clock.now);
      const got = c.advances.map((a) => {
        clock.advance(a);
        const w = rl.reserve('x');
        return w === 0 ? 'now' : w > 0 ? 'delay' : 'refuse';
      });
      assert.deepEqual(got, c.want);
    });
  }

  it('keeps at most maxSources buckets and forgets idle ones', () => {
    const clock = fakeClock();
    const rl = new RateLimiter(1, 1, clock.now, 3);
    for (let i = 0; i < 10; i++) rl.reserve(`s${i}`);
    assert.ok(rl.size <= 3, `size ${rl.size}`);
    clock.advance(60_000);
    rl.reserve('fresh1');
    rl.reserve('fresh2');
    assert.ok(rl.size <= 3);
  });

  const invalid: Array<{ desc: string; options: unknown; error: RegExp }> = [
    { desc: 'negative average', options: { average: -1 }, error: /average/ },
    { desc: 'bad period', options: { average: 1, period: 'soon' }, error: /duration/ },
    { desc: 'unknown field', options: { average: 1, avg: 2 }, error: /avg/ },
    { desc: 'bad excluded IP', options: { average: 1, sourceCriterion: { ipStrategy: { excludedIPs: ['nope'] } } }, error: /nope/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.desc}`, () => {
      const err = createError(rateLimit, c.options);
      assert.ok(err !== null);
      assert.match(err, c.error);
    });
  }
});
