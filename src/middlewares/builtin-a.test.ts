import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { middlewareFactory } from './registry.js';
import './builtin-a.js';

describe('builtin-a registration', () => {
  const types = ['stripPrefix', 'stripPrefixRegex', 'addPrefix', 'replacePath', 'replacePathRegex', 'redirectScheme', 'redirectRegex', 'headers', 'basicAuth', 'digestAuth', 'ipAllowList', 'ipWhiteList', 'encodedCharacters'];
  for (const type of types) {
    it(`registers ${type}`, () => assert.equal(middlewareFactory(type)?.type, type));
  }
});
