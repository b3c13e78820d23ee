import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessLog } from './access-log.js';
import { RequestContext } from '../proxy/context.js';

const req = { method: 'GET', url: '/', httpVersion: '1.1', headers: { host: 'a.test' }, rawHeaders: ['host', 'a.test'] };

/** logged returns whether the access log wrote a line for a request with these traits. */
function logged(filters: { statusCodes?: string[]; minDurationMs?: number; retryAttempts?: boolean }, r: { status: number; ageMs: number; retries: number }): boolean {
  const lines: string[] = [];
  const log = new AccessLog({ format: 'json', filePath: null, statusCodes: filters.statusCodes ?? [], minDurationMs: filters.minDurationMs ?? 0, retryAttempts: filters.retryAttempts, out: { write: (s: string) => lines.push(s) } });
  const ctx = new RequestContext('web', 'http', '127.0.0.1', 'a.test', '80', '/', '', performance.now() - r.ageMs);
  ctx.status = r.status;
  ctx.retries = r.retries;
  log.log(req, ctx);
  log.flush();
  return lines.join('').length > 0;
}

test('access log filters: statusCodes, minDuration and retryAttempts keep a request when any matches', () => {
  const cases = [
    { desc: 'no filter: everything', f: {}, r: { status: 200, ageMs: 0, retries: 0 }, want: true },
    { desc: 'status in range', f: { statusCodes: ['500-599'] }, r: { status: 502, ageMs: 0, retries: 0 }, want: true },
    { desc: 'status out of range', f: { statusCodes: ['500-599'] }, r: { status: 200, ageMs: 0, retries: 0 }, want: false },
    { desc: 'minDuration: slower is kept', f: { minDurationMs: 50 }, r: { status: 200, ageMs: 200, retries: 0 }, want: true },
    { desc: 'minDuration: faster is dropped', f: { minDurationMs: 1000 }, r: { status: 200, ageMs: 0, retries: 0 }, want: false },
    { desc: 'retryAttempts: a retried request is kept', f: { retryAttempts: true }, r: { status: 200, ageMs: 0, retries: 1 }, want: true },
    { desc: 'retryAttempts: one that was not is dropped', f: { retryAttempts: true }, r: { status: 200, ageMs: 0, retries: 0 }, want: false },
    { desc: 'any filter matching keeps it', f: { statusCodes: ['404'], retryAttempts: true }, r: { status: 200, ageMs: 0, retries: 2 }, want: true },
  ];
  for (const c of cases) assert.equal(logged(c.f, c.r), c.want, c.desc);
});
