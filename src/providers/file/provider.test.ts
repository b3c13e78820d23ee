import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ParseError } from '../../errors.js';
import { Logger } from '../../observability/logger.js';
import type { ConfigMessage } from '../provider.js';
import { FileProvider, type FileProviderOptions } from './provider.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gantry-file-'));
  dirs.push(d);
  return d;
}

/** until polls cond every 5 ms and fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = 1000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

const router = (name: string, host: string) => `http:\n  routers:\n    ${name}:\n      rule: "Host(\`${host}\`)"\n      service: s\n`;

async function started(opts: Omit<FileProviderOptions, 'watch'> & { watch?: boolean }) {
  const messages: ConfigMessage[] = [];
  const logs: string[] = [];
  const errors: (ParseError | ConfigError | null)[] = [];
  const p = new FileProvider({ watch: true, onError: (e) => errors.push(e), ...opts });
  await p.start((m) => messages.push(m), new Logger('debug', 'text', { write: (l) => logs.push(l) }));
  return { p, messages, logs, errors, last: () => messages[messages.length - 1]?.config as any };
}

test('single file: emits at start and after each change, within 1 s', async () => {
  const dir = tempDir();
  const file = join(dir, 'dynamic.yaml');
  writeFileSync(file, router('a', 'a.example'));
  const t = await started({ filename: file });
  try {
    assert.equal(t.messages.length, 1);
    assert.equal(t.messages[0]!.provider, 'file');
    assert.deepEqual(Object.keys(t.last().http.routers), ['a']);

    const cases: { desc: string; change: () => void; want: string }[] = [
      { desc: 'write in place', change: () => writeFileSync(file, router('b', 'b.example')), want: 'b' },
      {
        desc: 'editor-style replace by rename',
        change: () => {
          writeFileSync(join(dir, '.dynamic.yaml.tmp'), router('c', 'c.example'));
          renameSync(join(dir, '.dynamic.yaml.tmp'), file);
        },
        want: 'c',
      },
      {
        desc: 'deleted then created again',
        change: () => {
          unlinkSync(file);
          writeFileSync(file, router('d', 'd.example'));
        },
        want: 'd',
      },
    ];
    for (const c of cases) {
      c.change();
      const took = await until(() => t.last()?.http?.routers?.[c.want] !== undefined, c.desc);
      assert.ok(took < 1000, `${c.desc}: ${took} ms`);
    }
    // Rewriting the same content emits nothing.
    const n = t.messages.length;
    writeFileSync(file, router('d', 'd.example'));
    await t.p.reload();
    assert.equal(t.messages.length, n);
    assert.equal(t.p.lastError, null);
  } finally {
    await t.p.stop();
  }
});

test('a broken file keeps the last good configuration and reports line and column', async () => {
  const dir = tempDir();
  const file = join(dir, 'dynamic.yaml');
  writeFileSync(file, router('a', 'a.example'));
  const t = await started({ filename: file });
  try {
    const cases: { desc: string; text: string; line: number; column: number }[] = [
      { desc: 'unclosed flow sequence', text: 'http:\n  routers:\n    a: { rule: [\n', line: 4, column: 1 },
      { desc: 'duplicate key', text: 'http:\n  routers: {}\n  routers: {}\n', line: 3, column: 3 },
    ];
    for (const c of cases) {
      const n = t.messages.length;
      writeFileSync(file, c.text);
      await until(() => t.p.lastError !== null, `${c.desc}: error`);
      const err = t.p.lastError;
      assert.ok(err instanceof ParseError, c.desc);
      assert.equal(err.line, c.line, c.desc);
      assert.equal(err.column, c.column, c.desc);
      assert.equal(t.messages.length, n, `${c.desc}: nothing emitted`);
      assert.ok(t.logs.some((l) => l.includes(`${file}:${c.line}:${c.column}`)), `${c.desc}: logged with position`);
      assert.ok(t.errors.includes(err), `${c.desc}: onError`);
      // Back to a good file: the error clears.
      writeFileSync(file, router('a', 'a.example'));
      await until(() => t.p.lastError === null, `${c.desc}: recovery`);
      assert.equal(t.errors[t.errors.length - 1], null);
    }
    // The good content equals the last emitted one, so nothing new was emitted at all.
    assert.equal(t.messages.length, 1);
  } finally {
    await t.p.stop();
  }
});

test('a file missing at start is served once it appears', async () => {
  const dir = tempDir();
  const file = join(dir, 'later.toml');
  const t = await started({ filename: file });
  try {
    assert.equal(t.messages.length, 0);
    assert.ok(t.p.lastError instanceof ConfigError);
    assert.match(t.p.lastError.message, /no such file/);
    writeFileSync(file, '[http.routers.t]\nrule = "Path(`/`)"\nservice = "s"\n');
    await until(() => t.messages.length === 1, 'first emit');
    assert.deepEqual(t.last().http.routers.t, { rule: 'Path(`/`)', service: 's' });
  } finally {
    await t.p.stop();
  }
});

test('directory mode merges every file and reports elements defined twice', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.yaml'), router('a', 'a.example'));
  writeFileSync(join(dir, 'b.yml'), 'http:\n  services:\n    s:\n      loadBalancer:\n        servers: [{ url: "http://127.0.0.1:1" }]\n');
  writeFileSync(join(dir, 'notes.txt'), 'not config');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'c.toml'), '[http.routers.c]\nrule = "Host(`c`)"\nservice = "s"\n');
  const t = await started({ directory: dir });
  try {
    assert.equal(t.messages.length, 1);
    assert.deepEqual(Object.keys(t.last().http.routers).sort(), ['a', 'c']);
    assert.deepEqual(Object.keys(t.last().http.services), ['s']);

    const cases: { desc: string; change: () => void; check: () => boolean }[] = [
      { desc: 'a new file', change: () => writeFileSync(join(dir, 'd.yaml'), router('d', 'd.example')), check: () => t.last().http.routers.d !== undefined },
      { desc: 'a removed file', change: () => unlinkSync(join(dir, 'd.yaml')), check: () => t.last().http.routers.d === undefined },
      {
        desc: 'the same router defined differently in two files',
        change: () => writeFileSync(join(dir, 'e.yaml'), router('a', 'other.example')),
        check: () => t.last().http.routers.a === undefined,
      },
    ];
    for (const c of cases) {
      c.change();
      await until(c.check, c.desc);
    }
    const errors = t.messages[t.messages.length - 1]!.errors ?? [];
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.path, 'http.routers.a');
    assert.match(errors[0]!.message, /a\.yaml and e\.yaml/);

    // A broken file anywhere in the directory: nothing is emitted.
    const n = t.messages.length;
    writeFileSync(join(dir, 'sub', 'c.toml'), '[http.routers.c\n');
    await until(() => t.p.lastError !== null, 'parse error');
    assert.ok(t.p.lastError instanceof ParseError);
    assert.match(t.p.lastError.message, /c\.toml:1:\d+/);
    assert.equal(t.messages.length, n);
  } finally {
    await t.p.stop();
  }
});

test('watch off: read once', async () => {
  const dir = tempDir();
  const file = join(dir, 'x.yaml');
  writeFileSync(file, router('a', 'a'));
  const t = await started({ filename: file, watch: false });
  await t.p.stop();
  assert.equal(t.messages.length, 1);
});

test('options need exactly one of filename and directory', () => {
  assert.throws(() => new FileProvider({ watch: false }), ConfigError);
  assert.throws(() => new FileProvider({ watch: false, filename: 'a', directory: 'b' }), ConfigError);
});
