/**
 * Access log through the real `gantry run`: JSON to a file with status filters and field filters
 * (dropped, redacted, headers), and Common Log Format to stdout with buffering.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serviceYaml, startBackend, startWithFile, tempDir, waitFor, type Backend } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

describe('access log', () => {
  let a: Backend;
  const tmp = tempDir();
  before(async () => {
    a = await startBackend('a');
  });
  after(async () => {
    await a?.close();
    tmp.cleanup();
  });

  it('writes JSON to --accessLog.filePath, keeping only the filtered statuses and fields', async () => {
    const log = path.join(tmp.dir, 'access.json');
    const { g, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [a.url]), [
      `--accessLog.filePath=${log}`,
      '--accessLog.format=json',
      '--accessLog.filters.statusCodes=404,500-599',
      '--accessLog.fields.names.ClientHost=drop',
      '--accessLog.fields.names.RequestHost=redact',
      '--accessLog.fields.headers.defaultMode=keep',
      '--accessLog.fields.headers.names.Authorization=redact',
      '--accessLog.fields.headers.names.X-Secret=drop',
    ]);
    try {
      await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
      assert.equal((await get(g.url('/ok'), { host: 'w.test' })).status, 200);
      assert.equal((await get(g.url('/missing'), { host: 'nowhere.test', authorization: 'Basic dTpw', 'x-secret': 's', 'user-agent': 'probe/1' })).status, 404);
      let lines: Array<Record<string, unknown>> = [];
      await waitFor(() => {
        lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
        return lines.length >= 1;
      });
      assert.equal(lines.length, 1, 'the 200 is filtered out');
      const l = lines[0]!;
      assert.equal(l['DownstreamStatus'], 404);
      assert.equal(l['RequestPath'], '/missing');
      assert.equal(l['RequestMethod'], 'GET');
      assert.equal(l['entryPointName'], 'web');
      assert.equal(l['ClientHost'], undefined, 'dropped');
      assert.equal(l['RequestHost'], 'REDACTED');
      assert.equal(l['request_Authorization'], 'REDACTED');
      assert.equal(l['request_X-Secret'], undefined);
      assert.equal(l['request_User-Agent'], 'probe/1');
      assert.equal(typeof l['Duration'], 'number');
      assert.match(String(l['GantryError']), /no route/);
    } finally {
      await cleanup();
    }
  });

  it("logs the client's address and port for each request of a kept-alive connection (fast lane)", async () => {
    const log = path.join(tmp.dir, 'peer.json');
    const { g, cleanup } = await startWithFile(serviceYaml('p', 'p.test', [a.url]), [`--accessLog.filePath=${log}`, '--accessLog.format=json']);
    const port = Number(new URL(g.url('/')).port);
    const client = net.connect(port, '127.0.0.1');
    try {
      await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
      await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
      let got = '';
      client.setEncoding('latin1').on('data', (d: string) => (got += d));
      for (const n of [1, 2]) {
        client.write(`GET /peer${n} HTTP/1.1\r\nHost: p.test\r\n\r\n`);
        await waitFor(() => got.split('HTTP/1.1 200').length > n);
      }
      let lines: Array<Record<string, unknown>> = [];
      await waitFor(() => {
        lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
        return lines.length >= 2;
      });
      assert.deepEqual(lines.map((l) => l['RequestPath']), ['/peer1', '/peer2']);
      for (const l of lines) {
        assert.equal(l['ClientHost'], '127.0.0.1');
        assert.equal(l['ClientPort'], String(client.localPort));
        assert.equal(l['ClientAddr'], `127.0.0.1:${client.localPort}`);
      }
    } finally {
      client.destroy();
      await cleanup();
    }
  });

  it('writes Common Log Format to stdout, buffered', async () => {
    const { g, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [a.url]), ['--accessLog', '--accessLog.bufferingSize=3']);
    try {
      await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
      for (let i = 0; i < 3; i++) assert.equal((await get(g.url(`/r${i}?q=1`), { host: 'w.test', 'user-agent': 'probe/2' })).status, 200);
      await waitFor(() => g.stdout.length >= 3);
      const clf = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/r(\d)\?q=1 HTTP\/1\.1" 200 - "-" "probe\/2" 1 "w@file" "http:\/\/127\.0\.0\.1:\d+" \d+ms$/;
      for (const line of g.stdout.slice(0, 3)) assert.match(line, clf);
      assert.deepEqual(g.stdout.slice(0, 3).map((l) => clf.exec(l)![1]), ['0', '1', '2']);
      // Fewer lines than the buffer holds still reach the log (flushed within a second).
      assert.equal((await get(g.url('/late'), { host: 'w.test' })).status, 200);
      await waitFor(() => g.stdout.some((l) => l.includes('/late')), 5000);
    } finally {
      await cleanup();
    }
  });
});
