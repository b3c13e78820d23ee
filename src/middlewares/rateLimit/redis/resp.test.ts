import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand, MAX_REPLY_BYTES, RespError, RespParser } from './resp.js';

test('encodeCommand writes arrays of bulk strings', () => {
  assert.equal(encodeCommand(['SET', 'k', 'välue', 3]).toString(), '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\nvälue\r\n$1\r\n3\r\n');
});

test('RespParser reads every reply type, split anywhere', () => {
  const wire = '+OK\r\n-NOSCRIPT No matching script\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$3\r\n2.5\r\n*0\r\n';
  const want = ['OK', new RespError('NOSCRIPT No matching script'), 42, 'hello', null, [1, '2.5'], []];
  for (let cut = 0; cut <= wire.length; cut++) {
    const p = new RespParser();
    const got = [...p.push(Buffer.from(wire.slice(0, cut))), ...p.push(Buffer.from(wire.slice(cut)))];
    assert.deepEqual(got, want, `cut at ${cut}`);
    assert.equal((got[1] as RespError).code, 'NOSCRIPT');
  }
});

test('RespParser refuses what is not RESP, and replies too large', () => {
  assert.throws(() => new RespParser().push(Buffer.from('HTTP/1.1 200 OK\r\n')), /unexpected redis reply type/);
  assert.throws(() => new RespParser().push(Buffer.from(`$${MAX_REPLY_BYTES + 1}\r\n`)), /bad redis bulk length/);
  const p = new RespParser();
  assert.throws(() => p.push(Buffer.concat([Buffer.from('+'), Buffer.alloc(MAX_REPLY_BYTES + 1, 'a')])), /larger than/);
});
