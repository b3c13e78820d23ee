import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIdleTrim, youngGenerationBytes } from './idle-trim.js';

const MiB = 1024 * 1024;

/** growYoungGeneration allocates objects that survive scavenges, which makes V8 grow new space. */
function growYoungGeneration(): void {
  for (let round = 0; round < 20 && youngGenerationBytes() < 8 * MiB; round++) {
    const kept: object[] = [];
    for (let i = 0; i < 400_000; i++) kept.push({ i, s: `x${i}` });
    if (kept.length !== 400_000) throw new Error('unreachable');
  }
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('idle trim: a quiet process gives back its young generation once per quiet period', async () => {
  growYoungGeneration();
  const before = youngGenerationBytes();
  assert.ok(before >= 8 * MiB, `young generation grew to ${before} bytes`);
  // V8 shrinks new space only when the last allocations are some time back (idle-trim.ts).
  await sleep(1000);
  const trim = startIdleTrim({ intervalMs: 400, maxUtilization: 0.5, minYoungBytes: 4 * MiB });
  try {
    await sleep(1000);
    assert.equal(trim.trims, 1);
    const after = youngGenerationBytes();
    assert.ok(after <= 2 * MiB, `young generation ${after} bytes after the trim (before: ${before})`);
    // Still quiet: no second collection.
    await sleep(900);
    assert.equal(trim.trims, 1);
    // Busy intervals grow it again and re-arm; the next quiet one collects again.
    const end = Date.now() + 900;
    while (Date.now() < end) {
      growYoungGeneration();
      spin(20);
      await sleep(1);
    }
    assert.ok(youngGenerationBytes() >= 4 * MiB);
    await sleep(1000);
    assert.equal(trim.trims, 2);
  } finally {
    trim.stop();
  }
});

test('idle trim: under steady load nothing is collected', async () => {
  growYoungGeneration();
  const trim = startIdleTrim({ intervalMs: 50, maxUtilization: 0.5, minYoungBytes: 0 });
  try {
    // The loop is busy 80 % of every interval: above maxUtilization each time.
    const end = Date.now() + 500;
    while (Date.now() < end) {
      spin(8);
      await sleep(2);
    }
    assert.equal(trim.trims, 0);
  } finally {
    trim.stop();
  }
});
