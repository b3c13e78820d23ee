import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createError, request, startMiddlewareServer, testEnv } from '../testutil.js';
import { writeHead } from '../../proxy/respond.js';
import { silentLogger } from '../../observability/logger.js';
import { circuitBreaker, circuitBreakerSchema, CircuitBreaker, createCircuitBreaker, parseExpression } from './index.js';
import type { MetricsView } from './expression.js';

function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 5_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const view = (net: number, codes: number, latency: number): MetricsView => ({
  networkErrorRatio: () => net,
  responseCodeRatio: () => codes,
  latencyAtQuantileMS: () => latency,
});

describe('circuitBreaker expression', () => {
  const cases: Array<{ desc: string; expr: string; metrics?: MetricsView; want?: boolean; error?: RegExp }> = [
    { desc: 'network error ratio over', expr: 'NetworkErrorRatio() > 0.5', metrics: view(0.6, 0, 0), want: true },
    { desc: 'network error ratio under', expr: 'NetworkErrorRatio() > 0.5', metrics: view(0.4, 0, 0), want: false },
    { desc: 'latency >=', expr: 'LatencyAtQuantileMS(50.0) >= 100', metrics: view(0, 0, 100), want: true },
    { desc: 'response code ratio <=', expr: 'ResponseCodeRatio(500, 600, 0, 600) <= 0.25', metrics: view(0, 0.3, 0), want: false },
    { desc: '&& binds tighter than ||', expr: 'NetworkErrorRatio() > 0.5 || ResponseCodeRatio(500, 600, 0, 600) > 0.5 && LatencyAtQuantileMS(99) > 10', metrics: view(0, 0.9, 5), want: false },
    { desc: 'parentheses', expr: '(NetworkErrorRatio() > 0.5 || ResponseCodeRatio(500, 600, 0, 600) > 0.5) && LatencyAtQuantileMS(99) < 10', metrics: view(0, 0.9, 5), want: true },
    { desc: 'number on the left', expr: '0.5 < NetworkErrorRatio()', metrics: view(0.6, 0, 0), want: true },
    { desc: 'unknown metric names its position', expr: 'NetworkErrorRatio() > 0.5 && Foo() > 1', error: /unknown metric "Foo".* at 30/ },
    { desc: 'missing operator', expr: 'NetworkErrorRatio() 0.5', error: /expected a comparison operator.* at 21/ },
    { desc: 'dangling &&', expr: 'NetworkErrorRatio() > 0.5 &&', error: /found end of expression at 29/ },
    { desc: 'stray character', expr: 'NetworkErrorRatio() > 0.5 & x', error: /unexpected character "&" at 27/ },
    { desc: 'wrong arity', expr: 'ResponseCodeRatio(500, 600) > 0.5', error: /takes 4 arguments, got 2 at 1/ },
    { desc: 'unclosed parenthesis', expr: '(NetworkErrorRatio() > 0.5', error: /expected "\)".* at 27/ },
    { desc: 'empty', expr: '   ', error: /empty expression at 1/ },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      if (c.error) {
        assert.throws(() => parseExpression(c.expr), (err: Error) => {
          assert.equal(err.name, 'ConfigError');
          assert.match(err.message, c.error!);
          return true;
        });
        return;
      }
      assert.equal(parseExpression(c.expr)(c.metrics!), c.want);
    });
  }

  it('a bad expression is a configuration error of the middleware', () => {
    assert.match(createError(circuitBreaker, { expression: 'NetworkErrorRatio() >' }) ?? '', /expression: expected a number, found end of expression at 22/);
  });
});

describe('circuitBreaker state machine', () => {
  it('trips on the expression, falls back, recovers gradually and closes', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker(parseExpression('NetworkErrorRatio() > 0.5'), 100, 10_000, 10_000, clock.now, silentLogger, 'cb');
    assert.equal(b.state, 'closed');
    // Healthy traffic keeps it closed.
    for (let i = 0; i < 5; i++) {
      assert.equal(b.refuse(), false);
      b.record(200, 5);
      clock.advance(50);
    }
    assert.equal(b.state, 'closed');
    // Failures trip it at the next check.
    for (let i = 0; i < 10; i++) {
      b.record(502, 5);
      clock.advance(20);
    }
    assert.equal(b.state, 'open');
    assert.equal(b.refuse(), true);
    clock.advance(9_000);
    assert.equal(b.refuse(), true, 'still inside fallbackDuration');
    // After fallbackDuration: recovering, a growing share goes through.
    clock.advance(1_001);
    let let1 = 0;
    for (let i = 0; i < 100; i++) if (!b.refuse()) let1++;
    assert.equal(b.state, 'recovering');
    assert.ok(let1 <= 2, `almost nothing at the start of recovery (${let1})`);
    clock.advance(5_000);
    let let2 = 0;
    for (let i = 0; i < 100; i++) if (!b.refuse()) let2++;
    // oxy's ratio controller: the share let through so far follows the elapsed share of recovery.
    const share = (let1 + let2) / 200;
    assert.ok(Math.abs(share - 0.5) < 0.05, `about half let through by mid recovery (${share})`);
    clock.advance(5_001);
    assert.equal(b.refuse(), false);
    assert.equal(b.state, 'closed');
  });

  it('checks at most once per checkPeriod', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker(parseExpression('ResponseCodeRatio(500, 600, 0, 600) > 0.5'), 1_000, 10_000, 10_000, clock.now, silentLogger, 'cb');
    b.record(200, 1); // first check happens here: healthy
    b.record(500, 1);
    b.record(500, 1);
    assert.equal(b.state, 'closed', 'next check only after checkPeriod');
    clock.advance(1_000);
    b.record(500, 1);
    assert.equal(b.state, 'open');
  });

  it('trips on latency', () => {
    const clock = fakeClock();
    const b = new CircuitBreaker(parseExpression('LatencyAtQuantileMS(50) > 100'), 0, 10_000, 10_000, clock.now, silentLogger, 'cb');
    b.record(200, 10);
    assert.equal(b.state, 'closed');
    b.record(200, 500);
    b.record(200, 500);
    assert.equal(b.state, 'open');
  });
});

describe('circuitBreaker middleware', () => {
  const cases: Array<{ desc: string; options: Record<string, unknown>; fallback: number }> = [
    { desc: 'answers 503 when open', options: {}, fallback: 503 },
    { desc: 'answers responseCode when open', options: { responseCode: 429 }, fallback: 429 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const clock = fakeClock();
      let upstreamStatus = 502;
      const options = circuitBreakerSchema.parse({ expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '100ms', ...c.options });
      let breaker: CircuitBreaker | null = null;
      const srv = await startMiddlewareServer(() => {
        const built = createCircuitBreaker(
          options,
          (_req, res, ctx) => {
            writeHead(res, ctx, upstreamStatus, { 'content-type': 'text/plain' });
            res.end('upstream');
          },
          testEnv(),
          clock.now,
        );
        breaker = built.breaker;
        return built.handler;
      });
      try {
        let r = await request(srv.url, '/');
        assert.equal(r.status, 502);
        // The status is accounted when the response closes: wait for it rather than sleeping.
        while (breaker!.state !== 'open') await new Promise((resolve) => setImmediate(resolve));
        r = await request(srv.url, '/');
        assert.equal(r.status, c.fallback);
        assert.doesNotMatch(r.body, /upstream/);
        upstreamStatus = 200;
        clock.advance(10_001); // past fallbackDuration: the next request starts recovery
        r = await request(srv.url, '/');
        assert.ok(r.status === c.fallback || r.status === 200);
        assert.equal(breaker!.state, 'recovering');
        clock.advance(10_001); // past recoveryDuration
        r = await request(srv.url, '/');
        assert.equal(r.status, 200);
        assert.equal(breaker!.state, 'closed');
      } finally {
        await srv.close();
      }
    });
  }

  const invalid: Array<{ desc: string; options: unknown; error: RegExp }> = [
    { desc: 'missing expression', options: {}, error: /expression/ },
    { desc: 'bad duration', options: { expression: 'NetworkErrorRatio() > 0.5', fallbackDuration: 'later' }, error: /duration/ },
    { desc: 'bad responseCode', options: { expression: 'NetworkErrorRatio() > 0.5', responseCode: 42 }, error: /responseCode/ },
  ];
  for (const c of invalid) {
    it(`rejects ${c.desc}`, () => {
      assert.match(createError(circuitBreaker, c.options) ?? '', c.error);
    });
  }
});
