import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renewalWindow } from './renewal.js';

test('renewalWindow follows Traefik\'s table for certificatesDuration, checking at least hourly', () => {
  const h = 3_600_000;
  const cases = [
    { desc: 'Let\'s Encrypt, 90 days (the default 2160 h)', hours: 2160, renewBefore: 30 * 24 * h, check: h },
    { desc: 'a year', hours: 8760, renewBefore: 120 * 24 * h, check: h },
    { desc: '30 days', hours: 720, renewBefore: 10 * 24 * h, check: h },
    { desc: '7 days', hours: 168, renewBefore: 2 * 24 * h, check: h },
    { desc: '6 days (Let\'s Encrypt short-lived)', hours: 144, renewBefore: 2 * 24 * h, check: h },
    { desc: '1 day', hours: 24, renewBefore: 6 * h, check: 10 * 60_000 },
    { desc: 'under a day', hours: 1, renewBefore: 20 * 60_000, check: 60_000 },
  ];
  for (const c of cases) assert.deepEqual(renewalWindow(c.hours), { renewBeforeMs: c.renewBefore, checkEveryMs: c.check }, c.desc);
});
