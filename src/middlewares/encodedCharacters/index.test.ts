import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, createError, request, startMiddlewareServer } from '../testutil.js';
import { encodedCharacters } from './index.js';

describe('encodedCharacters', () => {
  const cases: Array<{ desc: string; options: Record<string, boolean>; path: string; status: number }> = [
    { desc: 'a plain path passes', options: {}, path: '/a/b?x=%3B', status: 200 },
    { desc: 'encoded semicolon is refused by default', options: {}, path: '/a%3Bb', status: 400 },
    { desc: 'lower-case hex too', options: {}, path: '/a%3bb', status: 400 },
    { desc: 'encoded percent', options: {}, path: '/a%25b', status: 400 },
    { desc: 'encoded question mark', options: {}, path: '/a%3fb', status: 400 },
    { desc: 'encoded hash', options: {}, path: '/a%23b', status: 400 },
    { desc: 'allowed semicolon', options: { allowEncodedSemicolon: true }, path: '/a%3Bb', status: 200 },
    { desc: 'allowing one keeps the others refused', options: { allowEncodedSemicolon: true }, path: '/a%23b', status: 400 },
    { desc: 'other escapes pass', options: {}, path: '/caf%C3%A9', status: 200 },
    { desc: 'everything allowed', options: { allowEncodedSlash: true, allowEncodedBackSlash: true, allowEncodedNullCharacter: true, allowEncodedSemicolon: true, allowEncodedPercent: true, allowEncodedQuestionMark: true, allowEncodedHash: true }, path: '/a%25%3B', status: 200 },
  ];
  for (const c of cases) {
    it(c.desc, async () => {
      const srv = await startMiddlewareServer(build(encodedCharacters, c.options));
      try {
        const r = await request(srv.url, c.path);
        assert.equal(r.status, c.status);
        assert.equal(srv.lastSeen() !== null, c.status === 200);
      } finally {
        await srv.close();
      }
    });
  }
  it('rejects unknown options', () => assert.match(createError(encodedCharacters, { allowEncodedSlashes: true }) ?? '', /allowEncodedSlashes/));
});
