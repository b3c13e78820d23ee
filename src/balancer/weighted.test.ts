import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createWeightedHandler } from './weighted.js';
import { ctx, fakeReq, fakeRes } from './common.case.js';
import type { Handler, RequestContext } from '../proxy/context.js';

function recorder(): { hits: string[]; child: (name: string) => Handler } {
  const hits: string[] = [];
  return {
    hits,
    child: (name) => (_req: IncomingMessage, _res: ServerResponse, _ctx: RequestContext) => void hits.push(name),
  };
}

test('weighted splits between services by weight', () => {
  const cases = [
    { desc: '90/10 canary', weights: [9, 1], n: 1000, want: [900, 100] },
    { desc: '1/1/2', weights: [1, 1, 2], n: 1000, want: [250, 250, 500] },
    { desc: 'weight 0 gets nothing', weights: [1, 0], n: 10, want: [10, 0] },
  ];
  for (const c of cases) {
    const r = recorder();
    const names = c.weights.map((_, i) => `s${i}@file`);
    const h = createWeightedHandler(names.map((name, i) => ({ name, handler: r.child(name), weight: c.weights[i]! })), undefined, 'canary@file');
    for (let i = 0; i < c.n; i++) {
      const req = fakeReq();
      h(req, fakeRes(req), ctx());
    }
    assert.deepEqual(names.map((n) => r.hits.filter((x) => x === n).length), c.want, c.desc);
  }
});

test('weighted skips a child with no available server', () => {
  const r = recorder();
  let v2up = false;
  const h = createWeightedHandler(
    [
      { name: 'v1', handler: r.child('v1'), weight: 1 },
      { name: 'v2', handler: r.child('v2'), weight: 1, available: () => v2up },
    ],
    undefined,
    'canary@file',
  );
  for (let i = 0; i < 10; i++) {
    const req = fakeReq();
    h(req, fakeRes(req), ctx());
  }
  assert.deepEqual(new Set(r.hits), new Set(['v1']));
  v2up = true;
  r.hits.length = 0;
  for (let i = 0; i < 10; i++) {
    const req = fakeReq();
    h(req, fakeRes(req), ctx());
  }
  assert.equal(r.hits.filter((x) => x === 'v2').length, 5);
});

test('weighted sticky keeps a client on one service', () => {
  const r = recorder();
  const h = createWeightedHandler(
    [
      { name: 'v1', handler: r.child('v1'), weight: 1 },
      { name: 'v2', handler: r.child('v2'), weight: 1 },
    ],
    { name: 'canary' },
    'canary@file',
  );
  let cookie: string | undefined;
  for (let i = 0; i < 20; i++) {
    const req = fakeReq(cookie);
    const res = fakeRes(req);
    h(req, res, ctx());
    const set = res.getHeader('set-cookie') as string | undefined;
    if (i === 0) cookie = set!.split(';')[0];
    else assert.equal(set, undefined);
  }
  assert.equal(new Set(r.hits).size, 1);
  assert.ok(!cookie!.includes('v1') && !cookie!.includes('v2'));
});
