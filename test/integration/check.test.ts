/** `gantry check FILE` lists every mistake with its path and exits 1; a good file exits 0. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gantryBin, tempDir } from '../helpers/gantry.js';

function check(file: string) {
  return spawnSync(process.execPath, [gantryBin, 'check', file], { encoding: 'utf8' });
}

describe('gantry check', () => {
  it('exits 1 and lists all three mistakes with their paths', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'bad.yaml');
      fs.writeFileSync(
        file,
        `http:
  routers:
    demo:
      rule: Hots(\`a.test\`)
      service: demo
  services:
    demo:
      loadBalancer:
        servers:
          - url: not-a-url
  middlewares:
    strip:
      stripPrefixx:
        prefixes: [/a]
`,
      );
      const r = check(file);
      const out = r.stdout + r.stderr;
      assert.equal(r.status, 1, out);
      assert.match(out, /http\.routers\.demo\.rule/);
      assert.match(out, /unknown matcher "Hots"/);
      assert.match(out, /http\.services\.demo\.loadBalancer\.servers\[0\]\.url|http\.services\.demo\.loadBalancer\.servers\.0\.url/);
      assert.match(out, /http\.middlewares\.strip/);
      assert.match(out, /stripPrefix/);
    } finally {
      tmp.cleanup();
    }
  });

  it('exits 0 on a valid file', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'good.yaml');
      fs.writeFileSync(file, 'http:\n  routers:\n    a:\n      rule: Host(`a.test`)\n      service: a\n  services:\n    a:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:1" }]\n');
      const r = check(file);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      tmp.cleanup();
    }
  });

  it('reports a syntax error with line and column', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'broken.yaml');
      fs.writeFileSync(file, 'http:\n  routers:\n    a: [oops\n');
      const r = check(file);
      assert.equal(r.status, 1);
      assert.match(r.stdout + r.stderr, /broken\.yaml:\d+:\d+/);
    } finally {
      tmp.cleanup();
    }
  });
});
