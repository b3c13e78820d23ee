import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostHeader, parseListenAddress } from './address.js';

describe('parseHostHeader', () => {
  it('lower-cases the host and splits off the port; refuses what is not a host', () => {
    assert.deepEqual(parseHostHeader('Example.COM:8080'), { host: 'example.com', port: '8080' });
    assert.deepEqual(parseHostHeader('a.test'), { host: 'a.test', port: null });
    assert.deepEqual(parseHostHeader('[::1]:443'), { host: '[::1]', port: '443' });
    assert.deepEqual(parseHostHeader('[::1]'), { host: '[::1]', port: null });
    assert.deepEqual(parseHostHeader(''), { host: '', port: null });
    for (const bad of ['a b', 'a.test:', 'a.test:123456', 'a.test:x', '[::1', '[::1]x', 'a/b', 'a@b']) assert.equal(parseHostHeader(bad), null, bad);
  });

  it('answers a repeated value from its one-entry memo, and the memo never holds a refused value', () => {
    const first = parseHostHeader('Memo.test:81');
    assert.ok(first !== null);
    assert.equal(parseHostHeader('Memo.test:81'), first, 'the same value: the same frozen result');
    assert.ok(Object.isFrozen(first), 'callers share it: it must not be changed');
    assert.equal(parseHostHeader('memo.test:81 '), null, 'a refused value right after');
    assert.equal(parseHostHeader('Memo.test:81'), first, 'a refused value does not evict the memo');
    assert.deepEqual(parseHostHeader('other.test'), { host: 'other.test', port: null });
    assert.deepEqual(parseHostHeader('Memo.test:81'), { host: 'memo.test', port: '81' }, 'another value in between: parsed again, the same answer');
    assert.equal(parseHostHeader('memo.test:81 '), null, 'a refused value is refused every time');
  });
});

describe('parseListenAddress', () => {
  it('reads Traefik-style addresses', () => {
    assert.deepEqual(parseListenAddress(':80'), { host: undefined, port: 80 });
    assert.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListenAddress('[::1]:443'), { host: '::1', port: 443 });
    assert.throws(() => parseListenAddress('80'), /not a listen address/);
    assert.throws(() => parseListenAddress(':70000'), /out of range/);
  });
});
