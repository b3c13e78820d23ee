import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRequestPath, looksLikeFile } from './request-path.js';

const cases: { desc: string; path: string; want: string | number }[] = [
  { desc: 'root', path: '/', want: '/' },
  { desc: 'file', path: '/a/b.css', want: '/a/b.css' },
  { desc: 'directory keeps its slash', path: '/a/', want: '/a/' },
  { desc: 'empty segments dropped', path: '//a///b', want: '/a/b' },
  { desc: 'dot segments dropped', path: '/./a/.', want: '/a/' },
  { desc: 'escapes decoded', path: '/a%20b/caf%C3%A9', want: '/a b/café' },
  { desc: 'encoded dot dropped', path: '/%2e/a', want: '/a' },
  { desc: 'dot-dot', path: '/a/../b', want: 403 },
  { desc: 'leading dot-dot', path: '/..', want: 403 },
  { desc: 'encoded dot-dot', path: '/%2e%2E/x', want: 403 },
  { desc: 'half-encoded dot-dot', path: '/.%2e/x', want: 403 },
  { desc: 'encoded slash', path: '/a%2fb', want: 403 },
  { desc: 'encoded backslash', path: '/a%5Cb', want: 403 },
  { desc: 'literal backslash', path: '/a\\..\\b', want: 403 },
  { desc: 'encoded NUL', path: '/a%00', want: 403 },
  { desc: 'literal NUL', path: '/a\0b', want: 403 },
  { desc: 'dotfile', path: '/.env', want: 404 },
  { desc: 'dot-directory', path: '/.git/config', want: 404 },
  { desc: 'encoded dotfile', path: '/%2Ehtaccess', want: 404 },
  { desc: 'triple dot is a dotfile', path: '/...', want: 404 },
  { desc: '.well-known allowed', path: '/.well-known/x.txt', want: '/.well-known/x.txt' },
  { desc: 'bad escape', path: '/a%2', want: 400 },
  { desc: 'non-hex escape', path: '/a%g1', want: 400 },
  { desc: 'escape that is not UTF-8', path: '/%C3', want: 400 },
  { desc: 'not absolute', path: 'a/b', want: 400 },
];
for (const c of cases) {
  test(`resolveRequestPath: ${c.desc}`, () => assert.equal(resolveRequestPath(c.path), c.want));
}

const fileCases: { desc: string; rel: string; want: boolean }[] = [
  { desc: 'asset', rel: '/app.js', want: true },
  { desc: 'route', rel: '/users/42', want: false },
  { desc: 'directory', rel: '/docs/', want: false },
  { desc: 'dot in a directory name only', rel: '/v1.2/users', want: false },
  { desc: 'trailing dot', rel: '/users.', want: false },
];
for (const c of fileCases) {
  test(`looksLikeFile: ${c.desc}`, () => assert.equal(looksLikeFile(c.rel), c.want));
}
