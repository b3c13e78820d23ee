import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcmeResolver } from './resolver.js';
import { silentLogger } from '../../observability/logger.js';
import type { AcmeConfig } from '../../config/static/index.js';

test('acme: certificatesDuration sets the renewal window (a third of it) unless renewBefore is given', () => {
  const resolver = (cfg: Partial<AcmeConfig>) => new AcmeResolver('le', { certificatesDuration: 2160, ...cfg } as AcmeConfig, { logger: silentLogger } as unknown as ConstructorParameters<typeof AcmeResolver>[2]);
  const cases = [
    { desc: "Let's Encrypt's 90 days: 30 days before", cfg: {}, want: 720 * 3_600_000 },
    { desc: '7-day certificates: 56 hours before', cfg: { certificatesDuration: 168 }, want: 56 * 3_600_000 },
    { desc: 'renewBefore wins', cfg: { certificatesDuration: 168, renewBefore: 3_600_000 }, want: 3_600_000 },
  ];
  for (const c of cases) assert.equal(resolver(c.cfg).renewBeforeMs, c.want, c.desc);
});
