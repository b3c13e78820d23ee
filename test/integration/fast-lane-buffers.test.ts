/**
 * The fast lane reads server responses into a reused buffer per upstream connection, and joins a
 * response head with its first body bytes in reused write bytes (pool.ts, write-scratch.ts). Both
 * are only safe if bytes still queued on a client socket are never overwritten. These tests make
 * writes queue — clients that stop reading mid-response while others read at full speed — and
 * check every byte of every body, for Content-Length and chunked responses of many sizes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';

/** bodyFor is the deterministic body of /bytes/<seed>/<size>: different for every request. */
function bodyFor(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// The large ones outgrow the socket buffers of a stalled client, so the proxy's writes queue.
const SIZES = [120, 3_000, 15_000, 16_300, 30_000, 70_000, 300_000, 8_000_000];

describe('fast lane: reused read and write buffers', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let b: Backend;

  before(async () => {
    b = await startBackend('bytes', (req, res) => {
      const [, , seed, size, mode] = (req.url ?? '').split('/');
      const body = bodyFor(Number(seed), Number(size));
      if (mode === 'chunked') {
        // Written in uneven pieces: the proxy sees chunk boundaries anywhere in its reads.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let pos = 0;
        const step = (): void => {
          const n = Math.min(body.length - pos, 1 + ((pos * 7919) % 40_000));
          const ok = res.write(body.subarray(pos, pos + n));
          pos += n;
          if (pos >= body.length) res.end();
          else if (ok) setImmediate(step);
          else res.once('drain', step);
        };
        step();
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.end(body);
      }
    });
    const yaml = `http:
  routers:
    bytes:
      rule: Host(\`bytes.test\`)
      service: bytes
  services:
    bytes:
      loadBalancer:
        servers:
          - url: ${b.url}
`;
    const r = await startWithFile(yaml);
    g = r.g;
    cleanup = r.cleanup;
  });
  after(async () => {
    await cleanup?.();
    await b?.close();
  });

  /** fetchBody GETs one body; a stalling client stops reading for a while after its first bytes. */
  function fetchBody(agent: http.Agent, path: string, stall: boolean): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: g.port(), path, agent, headers: { host: 'bytes.test' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => {
          parts.push(d);
          if (stall && parts.length % 64 === 1) {
            // The socket itself stops reading (res.pause() would only stop the parser's output):
            // the kernel buffers fill and the proxy's writes stay queued.
            const socket = res.socket;
            socket.pause();
            setTimeout(() => socket.resume(), 150);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  it('every body arrives intact while some clients stall and others read at full speed', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
    try {
      let seed = 1;
      const jobs: Array<Promise<void>> = [];
      const bad: string[] = [];
      let stalls = 0;
      for (let client = 0; client < 24; client++) {
        jobs.push(
          (async () => {
            for (let round = 0; round < 8; round++) {
              const s = seed++;
              const size = SIZES[(client + round) % SIZES.length]!;
              const mode = (client + round) % 3 === 0 ? 'chunked' : 'length';
              const stall = (client * 5 + round) % 4 === 0;
              if (stall) stalls++;
              const path = `/bytes/${s}/${size}/${mode}`;
              const r = await fetchBody(agent, path, stall);
              if (r.status !== 200 || r.body.length !== size || digest(r.body) !== digest(bodyFor(s, size))) {
                bad.push(`${path} stall=${stall}: status ${r.status}, ${r.body.length} bytes`);
              }
            }
          })(),
        );
      }
      await Promise.all(jobs);
      assert.ok(stalls > 20, 'the test must stall clients');
      assert.deepEqual(bad, []);
    } finally {
      agent.destroy();
    }
  });
});
