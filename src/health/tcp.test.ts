import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTcpCheck } from './tcp.js';

test('TCP healthCheck: interval, unhealthyInterval (the interval by default), timeout, port, send and expect', () => {
  const cases = [
    { desc: 'defaults', c: {}, want: { port: 0, send: '', expect: '', intervalMs: 30_000, unhealthyIntervalMs: 30_000, timeoutMs: 5_000 } },
    { desc: 'unhealthyInterval follows interval', c: { interval: '2s' }, want: { port: 0, send: '', expect: '', intervalMs: 2_000, unhealthyIntervalMs: 2_000, timeoutMs: 5_000 } },
    { desc: 'every option', c: { port: 6379, send: 'PING\r\n', expect: '+PONG', interval: '10s', unhealthyInterval: '1s', timeout: '500ms' }, want: { port: 6379, send: 'PING\r\n', expect: '+PONG', intervalMs: 10_000, unhealthyIntervalMs: 1_000, timeoutMs: 500 } },
  ];
  for (const c of cases) assert.deepEqual(normalizeTcpCheck(c.c), c.want, c.desc);
});
