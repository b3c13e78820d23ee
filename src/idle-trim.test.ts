import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { collector } from './gc.js';
import { collectKeepingCode, startIdleTrim, youngGenerationBytes } from './idle-trim.js';

const MiB = 1024 * 1024;

/** growYoungGeneration allocates objects that survive scavenges, which makes V8 grow new space. */
function growYoungGeneration(toBytes = 8 * MiB): void {
  for (let round = 0; round < 40 && youngGenerationBytes() < toBytes; round++) {
    const kept: object[] = [];
    for (let i = 0; i < 400_000; i++) kept.push({ i, s: `x${i}` });
    if (kept.length !== 400_000) throw new Error('unreachable');
  }
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('idle trim: a quiet process gives back its young generation and stops once it is given back', async () => {
  growYoungGeneration();
  const before = youngGenerationBytes();
  assert.ok(before >= 8 * MiB, `young generation grew to ${before} bytes`);
  // V8 shrinks new space only when the last allocations are some time back (idle-trim.ts).
  await sleep(1000);
  const trim = startIdleTrim({ intervalMs: 400, maxUtilization: 0.5, minYoungBytes: 4 * MiB, quietIntervals: 1 });
  try {
    // A collection may run too soon after the allocations for V8 to shrink; the next ones retry.
    await sleep(1300);
    assert.ok(trim.trims >= 1 && trim.trims <= 3, `${trim.trims} collections`);
    const after = youngGenerationBytes();
    assert.ok(after <= 2 * MiB, `young generation ${after} bytes after the trim (before: ${before})`);
    const n = trim.trims;
    // Still quiet and given back: no further collection.
    await sleep(900);
    assert.equal(trim.trims, n);
    // Busy intervals grow it again and re-arm; the next quiet ones collect again (at most 3 times).
    const end = Date.now() + 900;
    while (Date.now() < end) {
      growYoungGeneration();
      spin(20);
      await sleep(1);
    }
    assert.ok(youngGenerationBytes() >= 4 * MiB);
    await sleep(1700);
    assert.ok(trim.trims > n && trim.trims <= n + 3, `${trim.trims - n} collections after the busy period`);
    assert.ok(youngGenerationBytes() <= 2 * MiB);
  } finally {
    trim.stop();
  }
});

test('idle trim: under steady load nothing is collected', async () => {
  growYoungGeneration();
  const trim = startIdleTrim({ intervalMs: 50, maxUtilization: 0.5, minYoungBytes: 0, quietIntervals: 1 });
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

test('idle trim: nothing is collected before quietIntervals quiet intervals in a row, and a busy one starts the count again', async () => {
  growYoungGeneration();
  await sleep(1000);
  const trim = startIdleTrim({ intervalMs: 200, maxUtilization: 0.5, minYoungBytes: 4 * MiB, quietIntervals: 6 });
  try {
    await sleep(500);
    // A busy stretch: every interval it covers is above maxUtilization.
    const end = Date.now() + 450;
    while (Date.now() < end) {
      growYoungGeneration();
      spin(20);
      await sleep(1);
    }
    // Six quiet intervals take 1.2 s from here; a third of that later nothing has run.
    await sleep(400);
    assert.equal(trim.trims, 0, 'collected before six quiet intervals in a row');
    await sleep(2600);
    assert.ok(trim.trims >= 1 && trim.trims <= 3, `${trim.trims} collections once quiet long enough`);
    assert.ok(youngGenerationBytes() <= 2 * MiB);
  } finally {
    trim.stop();
  }
});

test('idle trim: the young generation\'s pages go back to the system, not to V8\'s page pool', async () => {
  // A regular full collection shrinks new space but keeps its pages resident for reuse (idle-trim.ts).
  growYoungGeneration(16 * MiB);
  const youngBefore = youngGenerationBytes();
  assert.ok(youngBefore >= 16 * MiB, `young generation grew to ${youngBefore} bytes`);
  await sleep(1000);
  const rssBefore = process.memoryUsage.rss();
  let pause = -1;
  const trim = startIdleTrim({ intervalMs: 300, maxUtilization: 0.5, minYoungBytes: 4 * MiB, quietIntervals: 1, onTrim: (_b, _a, ms) => (pause = ms) });
  try {
    for (let i = 0; i < 40 && !(trim.trims >= 1 && youngGenerationBytes() <= 2 * MiB); i++) await sleep(100);
    const youngAfter = youngGenerationBytes();
    assert.ok(youngAfter <= 2 * MiB, `young generation ${youngAfter} bytes after ${trim.trims} collections`);
    assert.ok(pause >= 0, 'onTrim reports the pause');
    const given = rssBefore - process.memoryUsage.rss();
    const shrunk = youngBefore - youngAfter;
    assert.ok(given >= shrunk / 2, `RSS came down ${(given / MiB).toFixed(1)} MiB; the young generation shrank ${(shrunk / MiB).toFixed(1)} MiB`);
  } finally {
    trim.stop();
  }
});

test('idle trim: compiled code survives repeated trims (last-resort collections age bytecode, and the third would flush it all)', () => {
  // Many small functions, each compiled by one call: their bytecode is what a flush would drop.
  const fns: Array<(n: number) => number> = [];
  for (let i = 0; i < 3000; i++) fns.push(new Function('n', `let s = ${i}; for (let j = 0; j < n; j++) s += j * ${i % 7}; return s;`) as (n: number) => number);
  let sum = 0;
  for (const f of fns) sum += f(3);
  assert.ok(sum > 0);
  const gc = collector();
  assert.ok(gc !== null, 'this Node offers gc');
  // One collection first: what it drops (the functions' compile-time garbage) is not the point.
  collectKeepingCode(gc);
  const before = v8.getHeapCodeStatistics().bytecode_and_metadata_size;
  // Measured on Node 24 without the guard: 995 KiB after the first two, 35 KiB after the third.
  for (let i = 0; i < 5; i++) collectKeepingCode(gc);
  const after = v8.getHeapCodeStatistics().bytecode_and_metadata_size;
  assert.ok(after >= before * 0.9, `bytecode ${(before / 1024).toFixed(0)} KiB before five trims, ${(after / 1024).toFixed(0)} KiB after`);
  assert.equal(fns.length, 3000);
});
