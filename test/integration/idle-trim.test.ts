/**
 * Idle trim through `gantry run`: a process with nothing to route goes quiet after start-up and,
 * after six quiet 5 s intervals in a row (30 s), runs one collection that gives back to the system the young generation start-up grew
 * (src/idle-trim.ts). Read from its DEBUG log line. Ports: :0.
 *
 *   npx tsc -p tsconfig.json && node --test dist/test/integration/idle-trim.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGantry, tempDir } from '../helpers/gantry.js';

test('a quiet gantry gives back its young generation once', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const file = path.join(tmp.dir, 'empty.yaml');
  fs.writeFileSync(file, 'http: {}\n');
  const g = await startGantry(['--entrypoints.web.address=127.0.0.1:0', '--api.address=127.0.0.1:0', `--providers.file.filename=${file}`, '--log.level=DEBUG']);
  t.after(() => g.stop());
  // Six quiet 5 s intervals (~35 s with start-up's busy one); V8 may keep the young generation at
  // the first collection, and the trim then tries again at the next ones (up to 3): ≤ 50 s, 90 allowed.
  const line = await g.waitForLog((l) => l.msg === 'idle trim: collected' && Number(l['afterMiB']) <= 2, 90_000);
  const before = Number(line['beforeMiB']);
  const after = Number(line['afterMiB']);
  assert.ok(before >= 4, `before ${before} MiB`);
  assert.ok(after <= 2, `after ${after} MiB (before ${before})`);
  // The pages go back to the system, not to V8's page pool: a regular full collection leaves the
  // whole 1 MiB semispace resident (logged as 1), the last-resort flavor only what is in use (0.3).
  assert.ok(after < 1, `young generation ${after} MiB resident after the trim`);
  assert.ok(Number(line['pauseMs']) >= 0, `pauseMs ${line['pauseMs']}`);
});
