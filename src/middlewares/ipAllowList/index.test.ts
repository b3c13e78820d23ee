import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../../proxy/context.js';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { ipAllowList } from './index.js';

/** The entrypoint's resolved client IP is simulated with a test-only header. */
function prepare(req: IncomingMessage, ctx: RequestContext): void {
  const ip = req.headers['x-test-client-ip'];
  if (typeof ip === 'string') ctx.clientIP = ip;
}

describe('ipAllowList', () => {
  const cases: Array<{ desc: string; options: Record<string, unknown>; clientIP?: string; xff?: string; status: number }> = [
    { desc: 'allowed client IP', options: { sourceRange: ['20.20.20.20'] }, clientIP: '20.20.20.20', status: 200 },
    { desc: 'other client IP: 403', options: { sourceRange: ['20.20.20.20'] }, clientIP: '20.20.20.21', status: 403 },
    { desc: 'real loopback peer in a CIDR', options: { sourceRange: ['127.0.0.0/8'] }, status: 200 },
    { desc: 'real loopback peer outside', options: { sourceRange: ['10.0.0.0/8'] }, status: 403 },
    { desc: 'custom reject status', options: { sourceRange: ['20.20.20.20'], rejectStatusCode: 404 }, clientIP: '20.20.20.21', status: 404 },
    { desc: 'custom reject status not used when allowed', options: { sourceRange: ['20.20.20.20'], rejectStatusCode: 404 }, clientIP: '20.20.20.20', status: 200 },
    { desc: 'IPv6 range', options: { sourceRange: ['2001:db8::/32'] }, clientIP: '2001:db8::42', status: 200 },
    { desc: 'IPv6 outside range', options: { sourceRange: ['2001:db8::/32'] }, clientIP: '2001:db9::42', status: 403 },
    { desc: 'X-Forwarded-For ignored by default', options: { sourceRange: ['1.1.1.1'] }, clientIP: '9.9.9.9', xff: '1.1.1.1', status: 403 },
    { desc: 'depth 1 takes the right-most X-Forwarded-For entry', options: { sourceRange: ['13.0.0.1'], ipStrategy: { depth: 1 } }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', status: 200 },
    { desc: 'depth 2 takes the second from the right', options: { sourceRange: ['12.0.0.1'], ipStrategy: { depth: 2 } }, xff: '10.0.0.1, 11.0.0.1, 12.0.0.1, 13.0.0.1', status: 200 },
    { desc: 'depth 2 rejects when that entry is not allowed', options: { sourceRange: ['13.0.0.1'], ipStrategy: { depth: 2 } }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', status: 403 },
    { desc: 'depth beyond the header is rejected', options: { sourceRange: ['0.0.0.0/0'], ipStrategy: { depth: 5 } }, xff: '10.0.0.1,11.0.0.1', status: 403 },
    { desc: 'depth with no header is rejected', options: { sourceRange: ['0.0.0.0/0'], ipStrategy: { depth: 1 } }, status: 403 },
    { desc: 'depth entry with a port', options: { sourceRange: ['13.0.0.1'], ipStrategy: { depth: 1 } }, xff: '13.0.0.1:5555', status: 200 },
    { desc: 'excludedIPs skip trusted proxies', options: { sourceRange: ['11.0.0.1'], ipStrategy: { excludedIPs: ['12.0.0.0/8', '13.0.0.1'] } }, xff: '10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1', status: 200 },
    { desc: 'excludedIPs all excluded is rejected', options: { sourceRange: ['0.0.0.0/0'], ipStrategy: { excludedIPs: ['0.0.0.0/0'] } }, xff: '10.0.0.1', status: 403 },
    { desc: 'garbage X-Forwarded-For entry is rejected', options: { sourceRange: ['0.0.0.0/0'], ipStrategy: { depth: 1 } }, xff: 'unknown', status: 403 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(ipAllowList, c.options), { prepare });
      try {
        const headers: Record<string, string> = {};
        if (c.clientIP !== undefined) headers['x-test-client-ip'] = c.clientIP;
        if (c.xff !== undefined) headers['x-forwarded-for'] = c.xff;
        const r = await request(srv.url, '/', { headers });
        assert.equal(r.status, c.status);
        assert.equal(srv.lastSeen() !== null, c.status === 200);
        if (c.status !== 200) assert.match(r.body, new RegExp(`^${c.status} `));
      } finally {
        await srv.close();
      }
    });
  }

  const invalid = [
    { desc: 'empty sourceRange', options: { sourceRange: [] }, re: /sourceRange is empty/ },
    { desc: 'invalid IP', options: { sourceRange: ['foo'] }, re: /sourceRange\[0\]/ },
    { desc: 'invalid status', options: { sourceRange: ['1.1.1.1'], rejectStatusCode: 600 }, re: /invalid HTTP status code 600/ },
    { desc: 'invalid ipv6Subnet', options: { sourceRange: ['1.1.1.1'], ipStrategy: { ipv6Subnet: 200 } }, re: /ipv6Subnet/ },
    { desc: 'unknown ipStrategy option', options: { sourceRange: ['1.1.1.1'], ipStrategy: { deep: 1 } }, re: /./ },
  ];
  for (const c of invalid) it(`rejects ${c.desc}`, () => assert.match(createError(ipAllowList, c.options) ?? '', c.re));
});
