import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createError, request, startMiddlewareServer, testEnv } from '../testutil.js';
import { inFlightReq, inFlightReqSchema } from './index.js';

describe('inFlightReq', () => {
  const cases: Array<{
    desc: string;
    options: unknown;
    /** Requests sent while all earlier ones are still held, with the status each gets. */
    held: Array<{ headers?: Record<string, string>; status: number }>;
  }> = [
    { desc: 'amount 1: a second concurrent request gets 429', options: { amount: 1 }, held: [{ status: 200 }, { status: 429 }] },
    { desc: 'amount 2: the third gets 429', options: { amount: 2 }, held: [{ status: 200 }, { status: 200 }, { status: 429 }] },
    {
      desc: 'sources are counted apart',
      options: { amount: 1, sourceCriterion: { requestHeaderName: 'X-Tenant' } },
      held: [
        { headers: { 'x-tenant': 'a' }, status: 200 },
        { headers: { 'x-tenant': 'b' }, status: 200 },
        { headers: { 'x-tenant': 'a' }, status: 429 },
      ],
    },
  ];

  for (const c of cases) {
    it(c.desc, async () => {
      const parked: ServerResponse[] = [];
      let arrived: () => void = () => {};
      const options = inFlightReqSchema.parse(c.options);
      const srv = await startMiddlewareServer(() =>
        inFlightReq.create(options, (_req, res) => {
          parked.push(res);
          arrived();
        }, testEnv()),
      );
      try {
        const pending: Promise<{ status: number }>[] = [];
        for (const [i, h] of c.held.entries()) {
          if (h.status === 200) {
            const got = new Promise<void>((resolve) => (arrived = resolve));
            pending.push(request(srv.url, '/', { headers: h.headers }));
            await got; // the request is now in flight
          } else {
            const r = await request(srv.url, '/', { headers: h.headers });
            assert.equal(r.status, 429, `request ${i}`);
            assert.match(r.body, /Too Many Requests/);
          }
        }
        // Finishing the held requests frees their slots.
        for (const res of parked) res.end('done');
        for (const p of pending) assert.equal((await p).status, 200);
        const again = new Promise<void>((resolve) => (arrived = resolve));
        const last = request(srv.url, '/', { headers: c.held[0]!.headers });
        await again;
        parked.at(-1)!.end('done');
        assert.equal((await last).status, 200);
      } finally {
        await srv.close();
      }
    });
  }

  it('rejects amount 0', () => {
    assert.match(createError(inFlightReq, { amount: 0 }) ?? '', /amount/);
  });
});
