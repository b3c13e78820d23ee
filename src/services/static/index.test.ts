import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, statSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RequestContext, type Handler, type ResponseModifier } from '../../proxy/context.js';
import { normalizePath } from '../../proxy/normalize.js';
import { ConfigError } from '../../errors.js';
import { createStaticHandler } from './index.js';

const SECRET = 'TOPSECRET';

let tmp = '';
let root = '';
let server: Server;
let port = 0;
let lastCtx: RequestContext | null = null;
const big = Buffer.alloc(200_000);
for (let i = 0; i < big.length; i++) big[i] = i % 251;

/** marker is a response modifier, to prove every head goes through writeHead(). */
const marker: ResponseModifier = {
  modifyResponse(status, headers) {
    headers['x-mod'] = 'yes';
    return status;
  },
};

const files: Record<string, string | Buffer> = {
  'index.html': '<h1>home</h1>\n',
  'home.htm': '<h1>custom index</h1>\n',
  'style.css': 'body { color: red }\n',
  'app.js': 'console.log(1)\n',
  'mod.mjs': 'export {}\n',
  'data.json': '{"a":1}\n',
  'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
  'img.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
  'photo.jpg': 'jpg',
  'photo.jpeg': 'jpeg',
  'anim.gif': 'gif',
  'pic.webp': 'webp',
  'favicon.ico': 'ico',
  'notes.txt': 'notes\n',
  'feed.xml': '<feed/>\n',
  'lib.wasm': Buffer.from([0, 0x61, 0x73, 0x6d]),
  'font.woff': 'woff',
  'font.woff2': 'woff2',
  'app.js.map': '{}',
  'doc.pdf': '%PDF',
  'clip.mp4': 'mp4',
  'clip.webm': 'webm',
  'UPPER.PNG': 'png',
  'blob.unknownext': 'blob',
  README: 'readme',
  'big.bin': big,
  'empty.txt': '',
  'a b.txt': 'space',
  'café.txt': 'accent',
  '.env': `${SECRET}-ENV`,
  '.git/config': `${SECRET}-GIT`,
  '.well-known/security.txt': 'Contact: mailto:sec@example.com\n',
  'docs/index.html': '<h1>docs</h1>\n',
  'docs/page.html': '<p>page</p>\n',
  'nodex/file.txt': 'no index here\n',
  'a/inner.txt': 'inner\n',
};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'gantry-static-'));
  root = join(tmp, 'root');
  mkdirSync(root);
  for (const [name, body] of Object.entries(files)) {
    const p = join(root, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, body);
  }
  // Canaries outside the root that every escape attempt would reach.
  writeFileSync(join(tmp, 'secret'), `${SECRET}-OUTSIDE`);
  mkdirSync(join(tmp, 'etc'));
  writeFileSync(join(tmp, 'etc', 'passwd'), `${SECRET}-PASSWD`);
  mkdirSync(join(tmp, 'outside', 'subdir'), { recursive: true });
  writeFileSync(join(tmp, 'outside', 'secret.txt'), `${SECRET}-DIR`);
  symlinkSync(join(tmp, 'secret'), join(root, 'link-out'));
  symlinkSync(join(tmp, 'outside'), join(root, 'link-out-dir'));
  symlinkSync('/etc/passwd', join(root, 'link-passwd'));
  symlinkSync('style.css', join(root, 'link-in.css'));
  symlinkSync('.env', join(root, 'link-dot'));
  symlinkSync('root', join(tmp, 'root-link'));

  const sites: Record<string, Handler> = {
    main: createStaticHandler({ root: 'root' }, tmp, 'site@file'),
    spa: createStaticHandler({ root, spa: true }, '/', 'spa@file'),
    custom: createStaticHandler({ root, index: 'home.htm' }, '/', 'custom@file'),
    linked: createStaticHandler({ root: join(tmp, 'root-link') }, '/', 'linked@file'),
  };
  server = createServer((req, res) => {
    // The path is taken from the request line as-is: the handler must refuse traversal itself.
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    let path = q === -1 ? target : target.slice(0, q);
    const query = q === -1 ? '' : target.slice(q + 1);
    if (req.headers['x-normalize'] === '1') {
      const n = normalizePath(path);
      if (!n.ok) {
        res.writeHead(400);
        res.end(n.reason);
        return;
      }
      path = n.path;
    }
    const ctx = new RequestContext('web', 'http', '127.0.0.1', 'localhost', String(port), path, query, performance.now());
    if (req.headers['x-modifier'] === '1') ctx.addResponseModifier(marker);
    lastCtx = ctx;
    sites[(req.headers['x-site'] as string | undefined) ?? 'main']!(req, res, ctx);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** fetchRaw sends a request with node:http, which sends the path unchanged. */
function fetchRaw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** sendSocket writes a request line byte for byte on a TCP socket, past any client-side normalisation. */
function sendSocket(target: string, extra = ''): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('connect', () => sock.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      resolve({ status: Number(head.split(' ')[1]), head, body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}

describe('static: path traversal over a raw socket', () => {
  const cases: { desc: string; target: string; status: number[]; normalize?: boolean }[] = [
    { desc: 'literal ..', target: '/../secret', status: [403] },
    { desc: 'literal .. to etc/passwd', target: '/../etc/passwd', status: [403] },
    { desc: 'many literal ..', target: '/../../../../../../../../etc/passwd', status: [403] },
    { desc: '.. after a real directory', target: '/docs/../../secret', status: [403] },
    { desc: 'encoded %2e%2e', target: '/%2e%2e/%2e%2e/etc/passwd', status: [403] },
    { desc: 'upper-case %2E%2E', target: '/%2E%2E/secret', status: [403] },
    { desc: 'mixed .%2e', target: '/.%2e/secret', status: [403] },
    { desc: 'encoded slash', target: '/..%2fsecret', status: [403] },
    { desc: 'encoded slash upper-case', target: '/..%2F..%2Fsecret', status: [403] },
    { desc: 'encoded backslash', target: '/a/..%5c..%5csecret', status: [403] },
    { desc: 'literal backslash (node passes it through)', target: '/a/..\\..\\secret', status: [403] },
    { desc: 'encoded NUL', target: '/index.html%00.txt', status: [403] },
    { desc: 'double-encoded dots are a plain (missing) name', target: '/%252e%252e/secret', status: [404] },
    { desc: 'symlink to a file outside', target: '/link-out', status: [404] },
    { desc: 'symlink to /etc/passwd', target: '/link-passwd', status: [404] },
    { desc: 'file under a symlinked directory outside', target: '/link-out-dir/secret.txt', status: [404] },
    { desc: 'symlinked directory outside, no slash', target: '/link-out-dir', status: [404] },
    { desc: 'symlinked directory outside, slash', target: '/link-out-dir/', status: [404] },
    { desc: 'dotfile', target: '/.env', status: [404] },
    { desc: 'encoded dotfile', target: '/%2eenv', status: [404] },
    { desc: 'file in a dot-directory', target: '/.git/config', status: [404] },
    { desc: 'symlink to a dotfile', target: '/link-dot', status: [404] },
    { desc: 'normalised %2e%2e stays inside the root', target: '/%2e%2e/%2e%2e/etc/passwd', status: [404], normalize: true },
    { desc: 'normalised literal .. stays inside the root', target: '/../secret', status: [404], normalize: true },
    { desc: 'normaliser refuses encoded slash', target: '/..%2fsecret', status: [400], normalize: true },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const r = await sendSocket(c.target, c.normalize ? 'x-normalize: 1\r\n' : '');
      assert.ok(c.status.includes(r.status), `${c.target}: got ${r.status}, want ${c.status.join('|')}\n${r.head}`);
      assert.ok(!r.body.includes(SECRET), `${c.target} leaked: ${r.body}`);
      assert.ok(!r.body.includes('root:'), `${c.target} leaked /etc/passwd`);
    });
  }
});

describe('static: content types', () => {
  const cases: { desc: string; path: string; type: string }[] = [
    { desc: 'html', path: '/index.html', type: 'text/html; charset=utf-8' },
    { desc: 'htm (via custom name)', path: '/home.htm', type: 'text/html; charset=utf-8' },
    { desc: 'css', path: '/style.css', type: 'text/css; charset=utf-8' },
    { desc: 'js', path: '/app.js', type: 'text/javascript; charset=utf-8' },
    { desc: 'mjs', path: '/mod.mjs', type: 'text/javascript; charset=utf-8' },
    { desc: 'json', path: '/data.json', type: 'application/json; charset=utf-8' },
    { desc: 'svg', path: '/logo.svg', type: 'image/svg+xml' },
    { desc: 'png', path: '/img.png', type: 'image/png' },
    { desc: 'jpg', path: '/photo.jpg', type: 'image/jpeg' },
    { desc: 'jpeg', path: '/photo.jpeg', type: 'image/jpeg' },
    { desc: 'gif', path: '/anim.gif', type: 'image/gif' },
    { desc: 'webp', path: '/pic.webp', type: 'image/webp' },
    { desc: 'ico', path: '/favicon.ico', type: 'image/x-icon' },
    { desc: 'txt', path: '/notes.txt', type: 'text/plain; charset=utf-8' },
    { desc: 'xml', path: '/feed.xml', type: 'application/xml; charset=utf-8' },
    { desc: 'wasm', path: '/lib.wasm', type: 'application/wasm' },
    { desc: 'woff', path: '/font.woff', type: 'font/woff' },
    { desc: 'woff2', path: '/font.woff2', type: 'font/woff2' },
    { desc: 'source map', path: '/app.js.map', type: 'application/json; charset=utf-8' },
    { desc: 'pdf', path: '/doc.pdf', type: 'application/pdf' },
    { desc: 'mp4', path: '/clip.mp4', type: 'video/mp4' },
    { desc: 'webm', path: '/clip.webm', type: 'video/webm' },
    { desc: 'upper-case extension', path: '/UPPER.PNG', type: 'image/png' },
    { desc: 'unknown extension', path: '/blob.unknownext', type: 'application/octet-stream' },
    { desc: 'no extension', path: '/README', type: 'application/octet-stream' },
    { desc: 'symlink inside the root, by the requested name', path: '/link-in.css', type: 'text/css; charset=utf-8' },
    { desc: '.well-known is served', path: '/.well-known/security.txt', type: 'text/plain; charset=utf-8' },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const r = await fetchRaw(c.path);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], c.type);
      const name = c.path === '/link-in.css' ? 'style.css' : c.path.slice(1);
      assert.deepEqual(r.body, Buffer.from(files[name]!));
      assert.equal(r.headers['content-length'], String(r.body.length));
      assert.equal(r.headers['accept-ranges'], 'bytes');
    });
  }
});

describe('static: paths, directories and index', () => {
  const cases: { desc: string; path: string; site?: string; status: number; body?: string; location?: string }[] = [
    { desc: 'root serves index.html', path: '/', status: 200, body: files['index.html'] as string },
    { desc: 'directory with slash serves its index', path: '/docs/', status: 200, body: files['docs/index.html'] as string },
    { desc: 'directory without slash redirects', path: '/docs', status: 301, location: './docs/' },
    { desc: 'redirect keeps the query', path: '/docs?x=1&y=%20', status: 301, location: './docs/?x=1&y=%20' },
    { desc: 'file in a directory', path: '/docs/page.html', status: 200, body: files['docs/page.html'] as string },
    { desc: 'directory without index is not listed', path: '/nodex/', status: 404 },
    { desc: 'file asked as a directory', path: '/style.css/', status: 404 },
    { desc: 'missing file', path: '/missing.html', status: 404 },
    { desc: 'missing directory route', path: '/users/42', status: 404 },
    { desc: 'encoded space', path: '/a%20b.txt', status: 200, body: 'space' },
    { desc: 'encoded UTF-8', path: '/caf%C3%A9.txt', status: 200, body: 'accent' },
    { desc: 'escape that is not UTF-8', path: '/%FF.txt', status: 400 },
    { desc: 'malformed escape', path: '/%zz.txt', status: 400 },
    { desc: 'double slashes are one', path: '//docs//page.html', status: 200, body: files['docs/page.html'] as string },
    { desc: 'custom index', path: '/', site: 'custom', status: 200, body: files['home.htm'] as string },
    { desc: 'custom index missing in a directory', path: '/docs/', site: 'custom', status: 404 },
    { desc: 'root given through a symlink', path: '/style.css', site: 'linked', status: 200, body: files['style.css'] as string },
    { desc: 'spa: route falls back to index.html', path: '/users/42', site: 'spa', status: 200, body: files['index.html'] as string },
    { desc: 'spa: route with trailing slash', path: '/users/', site: 'spa', status: 200, body: files['index.html'] as string },
    { desc: 'spa: directory without index', path: '/nodex/', site: 'spa', status: 200, body: files['index.html'] as string },
    { desc: 'spa: real file still served', path: '/style.css', site: 'spa', status: 200, body: files['style.css'] as string },
    { desc: 'spa: real directory index', path: '/docs/', site: 'spa', status: 200, body: files['docs/index.html'] as string },
    { desc: 'spa: missing asset stays 404', path: '/missing.js', site: 'spa', status: 404 },
    { desc: 'spa: dotfile stays 404', path: '/.env', site: 'spa', status: 404 },
    { desc: 'spa: traversal stays 403', path: '/../secret', site: 'spa', status: 403 },
    { desc: 'spa: missing file behind a symlink out is absent', path: '/link-out-dir/x', site: 'spa', status: 200, body: files['index.html'] as string },
    { desc: 'spa: existing file behind a symlink out is absent too', path: '/link-out-dir/subdir', site: 'spa', status: 200, body: files['index.html'] as string },
    { desc: 'missing file behind a symlink out', path: '/link-out-dir/x', status: 404 },
    { desc: 'existing file behind a symlink out: same answer', path: '/link-out-dir/secret.txt', status: 404 },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const r = await fetchRaw(c.path, c.site ? { 'x-site': c.site } : {});
      assert.equal(r.status, c.status, r.body.toString());
      if (c.body !== undefined) assert.equal(r.body.toString(), c.body);
      if (c.location !== undefined) assert.equal(r.headers.location, c.location);
      if (c.status === 200 && c.body?.startsWith('<')) assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.ok(!r.body.toString().includes(SECRET));
    });
  }
});

describe('static: methods', () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    test(`${method} → 405 with Allow`, async () => {
      const r = await fetchRaw('/style.css', {}, method);
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, 'GET, HEAD');
    });
  }
  test('HEAD sends the head without a body', async () => {
    const r = await fetchRaw('/big.bin', {}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(big.length));
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.equal(r.body.length, 0);
  });
  test('a large file is streamed whole', async () => {
    const r = await fetchRaw('/big.bin');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(big));
  });
  test('a client that goes away mid-body does not disturb the server', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/big.bin', agent: false, headers: { 'x-site': 'main' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const r = await fetchRaw('/big.bin');
    assert.ok(r.body.equals(big));
  });
  test('an empty file', async () => {
    const r = await fetchRaw('/empty.txt');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.body.length, 0);
  });
});

describe('static: validators and 304', () => {
  let etag = '';
  let lastModified = '';
  before(async () => {
    const r = await fetchRaw('/style.css');
    etag = r.headers.etag!;
    lastModified = r.headers['last-modified']!;
  });
  test('ETag is weak and derived from size and mtime; Last-Modified is the mtime', () => {
    const st = statSync(join(root, 'style.css'));
    assert.equal(etag, `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`);
    assert.equal(lastModified, new Date(st.mtimeMs).toUTCString());
  });
  const cases: { desc: string; headers: () => Record<string, string>; status: number; method?: string }[] = [
    { desc: 'If-None-Match equal', headers: () => ({ 'if-none-match': etag }), status: 304 },
    { desc: 'If-None-Match strong form matches weakly', headers: () => ({ 'if-none-match': etag.slice(2) }), status: 304 },
    { desc: 'If-None-Match list', headers: () => ({ 'if-none-match': `W/"x", ${etag}` }), status: 304 },
    { desc: 'If-None-Match *', headers: () => ({ 'if-none-match': '*' }), status: 304 },
    { desc: 'If-None-Match other', headers: () => ({ 'if-none-match': 'W/"other"' }), status: 200 },
    { desc: 'If-None-Match on HEAD', headers: () => ({ 'if-none-match': etag }), status: 304, method: 'HEAD' },
    { desc: 'If-Modified-Since equal', headers: () => ({ 'if-modified-since': lastModified }), status: 304 },
    { desc: 'If-Modified-Since later', headers: () => ({ 'if-modified-since': new Date(Date.now() + 3600e3).toUTCString() }), status: 304 },
    { desc: 'If-Modified-Since earlier', headers: () => ({ 'if-modified-since': 'Thu, 01 Jan 1970 00:00:01 GMT' }), status: 200 },
    { desc: 'If-Modified-Since garbage', headers: () => ({ 'if-modified-since': 'yesterday' }), status: 200 },
    {
      desc: 'If-None-Match wins over If-Modified-Since',
      headers: () => ({ 'if-none-match': 'W/"other"', 'if-modified-since': lastModified }),
      status: 200,
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const r = await fetchRaw('/style.css', c.headers(), c.method);
      assert.equal(r.status, c.status);
      assert.equal(r.headers.etag, etag);
      if (c.status === 304) assert.equal(r.body.length, 0);
      else if (c.method !== 'HEAD') assert.equal(r.body.toString(), files['style.css']);
    });
  }
});

describe('static: ranges', () => {
  let lastModified = '';
  let etag = '';
  before(async () => {
    const r = await fetchRaw('/big.bin', {}, 'HEAD');
    lastModified = r.headers['last-modified']!;
    etag = r.headers.etag!;
  });
  const size = big.length;
  const cases: { desc: string; headers: () => Record<string, string>; status: number; range?: [number, number]; path?: string; method?: string }[] = [
    { desc: 'first bytes', headers: () => ({ range: 'bytes=0-99' }), status: 206, range: [0, 99] },
    { desc: 'open-ended', headers: () => ({ range: 'bytes=100000-' }), status: 206, range: [100000, size - 1] },
    { desc: 'suffix', headers: () => ({ range: 'bytes=-500' }), status: 206, range: [size - 500, size - 1] },
    { desc: 'suffix longer than the file', headers: () => ({ range: 'bytes=-999999' }), status: 206, range: [0, size - 1] },
    { desc: 'end past the file is clipped', headers: () => ({ range: 'bytes=199990-300000' }), status: 206, range: [199990, size - 1] },
    { desc: 'unit is case-insensitive', headers: () => ({ range: 'Bytes=1-2' }), status: 206, range: [1, 2] },
    { desc: 'start past the end → 416', headers: () => ({ range: `bytes=${size}-` }), status: 416 },
    { desc: 'zero-length suffix → 416', headers: () => ({ range: 'bytes=-0' }), status: 416 },
    { desc: 'any range of an empty file → 416', headers: () => ({ range: 'bytes=0-' }), status: 416, path: '/empty.txt' },
    { desc: 'multi-range served whole', headers: () => ({ range: 'bytes=0-1,5-6' }), status: 200 },
    { desc: 'bad syntax ignored', headers: () => ({ range: 'bytes=abc' }), status: 200 },
    { desc: 'other unit ignored', headers: () => ({ range: 'items=0-5' }), status: 200 },
    { desc: 'reversed range ignored', headers: () => ({ range: 'bytes=5-1' }), status: 200 },
    { desc: 'If-Range with the (weak) ETag → full', headers: () => ({ range: 'bytes=0-9', 'if-range': etag }), status: 200 },
    { desc: 'If-Range with Last-Modified', headers: () => ({ range: 'bytes=0-9', 'if-range': lastModified }), status: 206, range: [0, 9] },
    { desc: 'If-Range with another date → full', headers: () => ({ range: 'bytes=0-9', 'if-range': 'Thu, 01 Jan 1970 00:00:01 GMT' }), status: 200 },
    { desc: 'HEAD ignores Range', headers: () => ({ range: 'bytes=0-9' }), status: 200, method: 'HEAD' },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const path = c.path ?? '/big.bin';
      const r = await fetchRaw(path, c.headers(), c.method);
      assert.equal(r.status, c.status);
      assert.equal(r.headers['accept-ranges'], 'bytes');
      if (c.status === 206) {
        const [s, e] = c.range!;
        assert.equal(r.headers['content-range'], `bytes ${s}-${e}/${size}`);
        assert.equal(r.headers['content-length'], String(e - s + 1));
        assert.ok(r.body.equals(big.subarray(s, e + 1)));
      } else if (c.status === 416) {
        const total = path === '/big.bin' ? size : 0;
        assert.equal(r.headers['content-range'], `bytes */${total}`);
      } else if (c.method !== 'HEAD') {
        assert.ok(r.body.equals(big));
      }
    });
  }
});

describe('static: logging fields and response modifiers', () => {
  test('ctx.service and ctx.server name the service and root', async () => {
    const r = await fetchRaw('/style.css');
    assert.equal(r.status, 200);
    assert.equal(lastCtx!.service, 'site@file');
    assert.equal(lastCtx!.server, `static:${root}`);
    assert.equal(lastCtx!.status, 200);
  });
  const cases: { desc: string; path: string; headers?: Record<string, string>; status: number; method?: string }[] = [
    { desc: '200', path: '/style.css', status: 200 },
    { desc: '206', path: '/big.bin', headers: { range: 'bytes=0-0' }, status: 206 },
    { desc: '304', path: '/style.css', headers: { 'if-modified-since': new Date(Date.now() + 3600e3).toUTCString() }, status: 304 },
    { desc: '301', path: '/docs', status: 301 },
    { desc: '403', path: '/a/..%2f', status: 403 },
    { desc: '404', path: '/missing', status: 404 },
    { desc: '405', path: '/', status: 405, method: 'POST' },
    { desc: '416', path: '/big.bin', headers: { range: 'bytes=999999-' }, status: 416 },
  ];
  for (const c of cases) {
    test(`modifiers apply to a ${c.desc}`, async () => {
      const r = await fetchRaw(c.path, { 'x-modifier': '1', ...c.headers }, c.method);
      assert.equal(r.status, c.status);
      assert.equal(r.headers['x-mod'], 'yes');
      assert.equal(lastCtx!.status, c.status);
    });
  }
});

describe('static: build-time checks', () => {
  const cases: { desc: string; config: () => { root: string; index?: string }; match: RegExp }[] = [
    { desc: 'missing root', config: () => ({ root: join(tmp, 'nope') }), match: /http\.services\.svc@file\.static\.root: static service "svc@file": root .*nope does not exist/ },
    { desc: 'root is a file', config: () => ({ root: join(root, 'style.css') }), match: /svc@file.*is not a directory/ },
    { desc: 'root under a file', config: () => ({ root: join(root, 'style.css', 'x') }), match: /svc@file.*does not exist/ },
    { desc: 'index with a slash', config: () => ({ root, index: 'docs/index.html' }), match: /static\.index: .*plain file name/ },
    { desc: 'index going up', config: () => ({ root, index: '..' }), match: /static\.index/ },
    { desc: 'hidden index', config: () => ({ root, index: '.env' }), match: /static\.index/ },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      assert.throws(
        () => createStaticHandler(c.config(), '/', 'svc@file'),
        (err: unknown) => err instanceof ConfigError && err.code === 'GANTRY_ERR_CONFIG' && c.match.test(err.message),
      );
    });
  }
  test('a relative root resolves against cwd', () => {
    assert.equal(typeof createStaticHandler({ root: './root' }, tmp, 'svc@file'), 'function');
    assert.equal(realpathSync(join(tmp, 'root-link')), realpathSync(root));
  });
});
