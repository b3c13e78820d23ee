import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_API, defaultApiUrl } from './api-url.js';

test('the client commands default to the API address gantry run reads from GANTRY_API_ADDRESS', () => {
  assert.equal(defaultApiUrl({}), BUILTIN_API);
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: '127.0.0.1:19711' }), 'http://127.0.0.1:19711');
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: ':8081' }), 'http://127.0.0.1:8081');
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: '0.0.0.0:8082' }), 'http://127.0.0.1:8082');
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: '[::]:8083' }), 'http://[::1]:8083');
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: '[::1]:8084' }), 'http://[::1]:8084');
  assert.equal(defaultApiUrl({ GANTRY_API_ADDRESS: 'not an address' }), BUILTIN_API);
});
