import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etagMatches, ifRangeAllows, notModified, parseRange, UNSATISFIABLE, weakETag } from './conditional.js';

test('weakETag', () => assert.equal(weakETag(255, 1000.9), 'W/"ff-3e8"'));

const etagCases: { desc: string; header: string; want: boolean }[] = [
  { desc: 'same weak tag', header: 'W/"ff-3e8"', want: true },
  { desc: 'strong form', header: '"ff-3e8"', want: true },
  { desc: 'in a list with spaces', header: '"a" ,  W/"ff-3e8" ', want: true },
  { desc: 'star', header: '*', want: true },
  { desc: 'other', header: 'W/"ff-3e9"', want: false },
  { desc: 'unquoted', header: 'ff-3e8', want: false },
];
for (const c of etagCases) test(`etagMatches: ${c.desc}`, () => assert.equal(etagMatches(c.header, 'W/"ff-3e8"'), c.want));

const mtime = Date.parse('Tue, 10 Nov 2026 10:00:00 GMT') + 750; // sub-second part is ignored
const nmCases: { desc: string; inm?: string; ims?: string; want: boolean }[] = [
  { desc: 'no validators', want: false },
  { desc: 'same second', ims: 'Tue, 10 Nov 2026 10:00:00 GMT', want: true },
  { desc: 'one second before', ims: 'Tue, 10 Nov 2026 09:59:59 GMT', want: false },
  { desc: 'invalid date', ims: 'soon', want: false },
  { desc: 'If-None-Match wins', inm: '"x"', ims: 'Tue, 10 Nov 2026 10:00:00 GMT', want: false },
];
for (const c of nmCases) test(`notModified: ${c.desc}`, () => assert.equal(notModified(c.inm, c.ims, 'W/"1"', mtime), c.want));

const lm = 'Tue, 10 Nov 2026 10:00:00 GMT';
const irCases: { desc: string; ifRange?: string; want: boolean }[] = [
  { desc: 'absent', want: true },
  { desc: 'equal date', ifRange: lm, want: true },
  { desc: 'other date', ifRange: 'Tue, 10 Nov 2026 10:00:01 GMT', want: false },
  { desc: 'entity tag', ifRange: '"abc"', want: false },
  { desc: 'weak entity tag', ifRange: 'W/"abc"', want: false },
];
for (const c of irCases) test(`ifRangeAllows: ${c.desc}`, () => assert.equal(ifRangeAllows(c.ifRange, lm), c.want));

const rangeCases: { desc: string; header: string; size: number; want: ReturnType<typeof parseRange> }[] = [
  { desc: 'closed', header: 'bytes=0-9', size: 100, want: { start: 0, end: 9 } },
  { desc: 'spaces', header: 'bytes= 5 - 6 ', size: 100, want: { start: 5, end: 6 } },
  { desc: 'open', header: 'bytes=90-', size: 100, want: { start: 90, end: 99 } },
  { desc: 'suffix', header: 'bytes=-10', size: 100, want: { start: 90, end: 99 } },
  { desc: 'suffix over size', header: 'bytes=-1000', size: 100, want: { start: 0, end: 99 } },
  { desc: 'end clipped', header: 'bytes=50-1000', size: 100, want: { start: 50, end: 99 } },
  { desc: 'last byte', header: 'bytes=99-99', size: 100, want: { start: 99, end: 99 } },
  { desc: 'start at size', header: 'bytes=100-', size: 100, want: UNSATISFIABLE },
  { desc: 'huge start', header: 'bytes=99999999999999999999-', size: 100, want: UNSATISFIABLE },
  { desc: 'zero suffix', header: 'bytes=-0', size: 100, want: UNSATISFIABLE },
  { desc: 'empty file', header: 'bytes=-5', size: 0, want: UNSATISFIABLE },
  { desc: 'multi', header: 'bytes=0-1,3-4', size: 100, want: null },
  { desc: 'reversed', header: 'bytes=9-0', size: 100, want: null },
  { desc: 'negative', header: 'bytes=-1-5', size: 100, want: null },
  { desc: 'no dash', header: 'bytes=5', size: 100, want: null },
  { desc: 'only dash', header: 'bytes=-', size: 100, want: null },
  { desc: 'other unit', header: 'lines=0-1', size: 100, want: null },
  { desc: 'no unit', header: '0-1', size: 100, want: null },
];
for (const c of rangeCases) test(`parseRange: ${c.desc}`, () => assert.deepEqual(parseRange(c.header, c.size), c.want));
