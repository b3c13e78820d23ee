/**
 * The shared limiter against the test bed's real Redis: atomic buckets shared by several
 * clients, AUTH with an ACL user, SELECT, TLS, and the per-replica fallback while Redis is away.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadTestbed, requireComponent } from '../../../../test/helpers/testbed.js';
import { silentLogger } from '../../../observability/logger.js';
import { RateLimiter } from '../index.js';
import { RedisClient, type RedisClientOptions } from './client.js';
import { acquireClient, RedisRateLimiter } from './limiter.js';

function options(address: string, extra: Partial<RedisClientOptions> = {}): RedisClientOptions {
  const [host, port] = address.split(':');
  return { host: host!, port: Number(port), username: '', password: '', db: 0, poolSize: 0, minIdleConns: 0, maxActiveConns: 0, dialTimeoutMs: 2000, readTimeoutMs: 2000, writeTimeoutMs: 2000, tls: null, ...extra };
}

const limits = { ratePerSecond: 1, burst: 3, maxDelayMs: 0 };
let unique = 0;
const name = () => `test-${process.pid}-${Date.now()}-${unique++}@file`;

describe('redis rate limiter', { skip: requireComponent('redis') }, () => {
  const clients: RedisClient[] = [];
  after(() => clients.forEach((c) => c.stop()));
  const client = (o: RedisClientOptions) => {
    const c = new RedisClient(o);
    clients.push(c);
    return c;
  };

  it('shares one bucket between clients: burst 3 means 3 in all, not 3 each', async () => {
    const { redis } = loadTestbed();
    const mw = name();
    const a = new RedisRateLimiter(client(options(redis!.address)), mw, limits, new RateLimiter(1, 3, Date.now), silentLogger);
    const b = new RedisRateLimiter(client(options(redis!.address, { poolSize: 3 })), mw, limits, new RateLimiter(1, 3, Date.now), silentLogger);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).reserve('10.0.0.1')));
    assert.equal(results.filter((w) => w === 0).length, 3, JSON.stringify(results));
    assert.ok(results.filter((w) => w < 0).every((w) => w < -500), 'a refusal says how long to wait (about a second)');
    assert.equal(a.usingRedis && b.usingRedis, true);
    // Other sources have their own bucket.
    assert.equal(await a.reserve('10.0.0.2'), 0);
  });

  it('authenticates as an ACL user, selects a database, speaks TLS', async () => {
    const { redis } = loadTestbed();
    const ca = fs.readFileSync(redis!.ca, 'utf8');
    const cases: Array<{ desc: string; o: RedisClientOptions }> = [
      { desc: 'username and password', o: options(redis!.address, { username: redis!.user, password: redis!.password }) },
      { desc: 'db 3', o: options(redis!.address, { db: 3 }) },
      { desc: 'tls with the CA', o: options(redis!.tlsAddress, { tls: { ca, rejectUnauthorized: true } }) },
    ];
    for (const c of cases) {
      const l = new RedisRateLimiter(client(c.o), name(), limits, new RateLimiter(1, 3, Date.now), silentLogger);
      assert.equal(await l.reserve('x'), 0, c.desc);
      assert.equal(l.usingRedis, true, c.desc);
    }
  });

  it('falls back to the local buckets when Redis refuses us, and still limits', async () => {
    const { redis } = loadTestbed();
    const cases: Array<{ desc: string; o: RedisClientOptions }> = [
      { desc: 'wrong password', o: options(redis!.address, { username: redis!.user, password: 'wrong' }) },
      { desc: 'nothing listening', o: options('127.0.0.1:1') },
      { desc: 'TLS certificate not trusted', o: options(redis!.tlsAddress, { tls: { rejectUnauthorized: true } }) },
    ];
    for (const c of cases) {
      const l = new RedisRateLimiter(client(c.o), name(), limits, new RateLimiter(1, 3, Date.now), silentLogger);
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await l.reserve('y'));
      assert.equal(l.usingRedis, false, c.desc);
      assert.equal(results.filter((w) => w === 0).length, 3, `${c.desc}: ${JSON.stringify(results)}`);
    }
  });

  it('shares one client per connection options, stopped with its last user', () => {
    const { redis } = loadTestbed();
    const a = acquireClient(options(redis!.address, { db: 5 }));
    const b = acquireClient(options(redis!.address, { db: 5 }));
    assert.equal(a.client, b.client);
    a.release();
    a.release();
    const c = acquireClient(options(redis!.address, { db: 5 }));
    assert.equal(c.client, b.client, 'one release per acquire');
    b.release();
    c.release();
    assert.notEqual(acquireClient(options(redis!.address, { db: 5 })).client, b.client);
  });
});
