import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketAccessHint } from './access-hint.js';

test('a socket refused with EACCES gets a hint naming the group to add; other errors do not', () => {
  const eacces = Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' });
  assert.match(socketAccessHint(eacces, 'unix:///var/run/docker.sock') ?? '', /--group-add \$\(stat -c %g \/var\/run\/docker\.sock\)/);
  assert.match(socketAccessHint({ cause: { code: 'EACCES' } }, 'unix:///run/d.sock') ?? '', /may not open \/run\/d\.sock/);
  assert.equal(socketAccessHint(Object.assign(new Error('x'), { code: 'ENOENT' }), 'unix:///var/run/docker.sock'), undefined);
  assert.equal(socketAccessHint(eacces, 'tcp://127.0.0.1:2375'), undefined);
});
