/**
 * Bodies are streamed, not buffered: a 100 MB upload and a 100 MB download pass through Gantry
 * while its resident memory stays flat (peak growth well under the body size).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request } from 'undici';
import { Readable } from 'node:stream';
import { serviceYaml, startBackend, startWithFile, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { agent } from '../helpers/http.js';

const SIZE = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function rssKiB(pid: number): { rss: number; hwm: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

async function* generate(total: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield CHUNK;
}

describe('streaming bodies', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  let b: Backend;

  before(async () => {
    b = await startBackend('stream', (req, res) => {
      if (req.method === 'POST') {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(String(n));
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
      let sent = 0;
      const pump = () => {
        while (sent < SIZE) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    ({ g, cleanup } = await startWithFile(serviceYaml('s', 'stream.test', [b.url])));
  });
  after(async () => {
    await cleanup?.();
    await b?.close();
  });

  it('streams a 100 MB upload with flat memory', async () => {
    const pid = g.proc.pid!;
    const before = rssKiB(pid);
    const res = await request(g.url('/upload'), { method: 'POST', headers: { host: 'stream.test' }, body: Readable.from(generate(SIZE)), dispatcher: agent });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(Number(text), SIZE);
    const after = rssKiB(pid);
    const growthMiB = (after.hwm - before.rss) / 1024;
    process.stderr.write(`upload: rss before ${before.rss >> 10} MiB, peak ${after.hwm >> 10} MiB\n`);
    assert.ok(growthMiB < 60, `peak RSS grew by ${growthMiB.toFixed(1)} MiB for a 100 MiB body`);
  });

  it('streams a 100 MB download with flat memory', async () => {
    const pid = g.proc.pid!;
    const before = rssKiB(pid);
    const res = await request(g.url('/download'), { headers: { host: 'stream.test' }, dispatcher: agent });
    assert.equal(res.statusCode, 200);
    let n = 0;
    for await (const c of res.body) n += (c as Buffer).length;
    assert.equal(n, SIZE);
    const after = rssKiB(pid);
    const growthMiB = (after.hwm - before.rss) / 1024;
    process.stderr.write(`download: rss before ${before.rss >> 10} MiB, peak ${after.hwm >> 10} MiB\n`);
    assert.ok(growthMiB < 60, `peak RSS grew by ${growthMiB.toFixed(1)} MiB for a 100 MiB body`);
  });
});
