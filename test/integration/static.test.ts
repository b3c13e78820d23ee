/**
 * The `static` service through the real entrypoint: index files, content types, conditional
 * requests (304), Range, and path traversal attempts sent byte for byte over raw sockets. A canary
 * file sits next to the root (and a symlink in the root points at it): its content must never
 * appear in any answer, whatever the encoding of the attempt.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startWithFile, tempDir, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';
import { rawRequest, statusOf } from '../helpers/raw.js';

const CANARY = 'CANARY-7f3a9c-outside-the-root';

describe('static service through the entrypoint', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  const tmp = tempDir('gantry-static-');
  const root = path.join(tmp.dir, 'site');

  before(async () => {
    fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>\n');
    fs.writeFileSync(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>\n');
    fs.writeFileSync(path.join(root, 'app.js'), 'console.log("app");\n');
    fs.writeFileSync(path.join(root, 'style.css'), 'body { color: red }\n');
    fs.writeFileSync(path.join(root, 'data.json'), '{"ok":true}\n');
    fs.writeFileSync(path.join(root, 'digits.txt'), '0123456789abcdefghij');
    // Outside the root: the canary, reachable only by escaping.
    fs.writeFileSync(path.join(tmp.dir, 'passwd'), `${CANARY}\n`);
    fs.mkdirSync(path.join(tmp.dir, 'etc'));
    fs.writeFileSync(path.join(tmp.dir, 'etc', 'passwd'), `${CANARY}\n`);
    fs.symlinkSync(path.join(tmp.dir, 'passwd'), path.join(root, 'link-out'));
    fs.symlinkSync(path.join(tmp.dir, 'etc'), path.join(root, 'dir-out'));
    const yaml = `http:
  routers:
    site:
      rule: Host(\`site.test\`)
      service: site
  services:
    site:
      static:
        root: ${JSON.stringify(root)}
`;
    ({ g, cleanup } = await startWithFile(yaml));
  });
  after(async () => {
    await cleanup?.();
    tmp.cleanup();
  });

  it('serves index files and files with their content types', async () => {
    const cases = [
      { desc: 'root index', path: '/', body: '<h1>home</h1>\n', type: /^text\/html/ },
      { desc: 'directory index with slash', path: '/docs/', body: '<h1>docs</h1>\n', type: /^text\/html/ },
      { desc: 'javascript', path: '/app.js', body: 'console.log("app");\n', type: /javascript/ },
      { desc: 'css', path: '/style.css', body: 'body { color: red }\n', type: /^text\/css/ },
      { desc: 'json', path: '/data.json', body: '{"ok":true}\n', type: /^application\/json/ },
    ];
    for (const c of cases) {
      const r = await get(g.url(c.path), { host: 'site.test' });
      assert.equal(r.status, 200, `${c.desc}: ${r.body}`);
      assert.equal(r.body, c.body, c.desc);
      assert.match(String(r.headers['content-type']), c.type, c.desc);
    }
    const missing = await get(g.url('/nope.html'), { host: 'site.test' });
    assert.equal(missing.status, 404);
    // A directory without its slash is redirected (or served), never a 5xx.
    const dir = await get(g.url('/docs'), { host: 'site.test' });
    assert.ok(dir.status === 200 || (dir.status >= 301 && dir.status <= 308), `/docs: ${dir.status}`);
  });

  it('answers 304 to If-None-Match and If-Modified-Since', async () => {
    const first = await get(g.url('/app.js'), { host: 'site.test' });
    const etag = String(first.headers['etag']);
    const lastModified = String(first.headers['last-modified']);
    assert.ok(etag.length > 2, 'has an ETag');
    assert.ok(lastModified.length > 0, 'has Last-Modified');
    const byEtag = await get(g.url('/app.js'), { host: 'site.test', 'if-none-match': etag });
    assert.equal(byEtag.status, 304);
    assert.equal(byEtag.body, '');
    const byDate = await get(g.url('/app.js'), { host: 'site.test', 'if-modified-since': lastModified });
    assert.equal(byDate.status, 304);
    const stale = await get(g.url('/app.js'), { host: 'site.test', 'if-none-match': 'W/"other"' });
    assert.equal(stale.status, 200);
  });

  it('serves byte ranges', async () => {
    const cases = [
      { desc: 'closed range', range: 'bytes=2-5', status: 206, body: '2345', contentRange: 'bytes 2-5/20' },
      { desc: 'open range', range: 'bytes=15-', status: 206, body: 'fghij', contentRange: 'bytes 15-19/20' },
      { desc: 'suffix range', range: 'bytes=-3', status: 206, body: 'hij', contentRange: 'bytes 17-19/20' },
      { desc: 'unsatisfiable', range: 'bytes=50-60', status: 416, body: null, contentRange: 'bytes */20' },
    ];
    for (const c of cases) {
      const r = await get(g.url('/digits.txt'), { host: 'site.test', range: c.range });
      assert.equal(r.status, c.status, c.desc);
      if (c.body !== null) assert.equal(r.body, c.body, c.desc);
      assert.equal(r.headers['content-range'], c.contentRange, c.desc);
    }
  });

  it('never serves anything outside the root, however the path is spelt', async () => {
    const attempts = [
      '/../passwd',
      '/../etc/passwd',
      '/../../../../../../etc/passwd',
      '/%2e%2e/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E/%2E%2E/etc/passwd',
      '/..%2fpasswd',
      '/..%2f..%2fetc/passwd',
      '/..%2F..%2Fetc%2Fpasswd',
      '/%2e%2e%2fpasswd',
      '/docs/../../passwd',
      '/docs/%2e%2e/%2e%2e/passwd',
      '/..%5cpasswd',
      '/..%5c..%5cetc%5cpasswd',
      '/%5c..%5cpasswd',
      '/..\\passwd',
      '/.%2e/passwd',
      '/%252e%252e/passwd',
      '/%c0%ae%c0%ae/passwd',
      '/%00../passwd',
      '/link-out',
      '/dir-out/passwd',
      '/./dir-out/passwd',
      '//../passwd',
    ];
    const seen: string[] = [];
    for (const p of attempts) {
      const raw = await rawRequest(g.port(), `GET ${p} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`);
      const status = statusOf(raw);
      seen.push(`${p} → ${status}`);
      assert.ok(!raw.includes(CANARY), `${p} leaked the canary: ${raw}`);
      assert.ok([400, 403, 404].includes(status), `${p} answered ${status}: ${raw.slice(0, 200)}`);
    }
    process.stderr.write(`traversal attempts: ${seen.join(', ')}\n`);
    // The site itself still works after all that.
    const ok = await get(g.url('/'), { host: 'site.test' });
    assert.equal(ok.status, 200);
  });
});
