/**
 * Golden tests: each testdata/*.json holds a container's labels and environment and the dynamic
 * configuration they must produce (Caddy's caddyfile_adapt habit). `UPDATE_GOLDEN=1` rewrites the
 * `expected` part of every file from the current output; review the diff before committing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { httpRouterSchema, httpServiceSchema } from '../dynamic/schema.js';
import { buildContainerConfig, envMap, resolveServers, type LabelOptions } from './index.js';

// Tests run from dist/src/config/labels; the golden files stay in the source tree.
const DIR = new URL('../../../../src/config/labels/testdata/', import.meta.url);

interface Golden {
  desc: string;
  name: string;
  serviceName?: string;
  labels: Record<string, string>;
  env?: string[];
  options?: LabelOptions;
  target?: { host: string; port?: number };
  expected?: unknown;
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  const golden = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as Golden;
  test(`${file}: ${golden.desc}`, () => {
    const source = `container ${golden.name}`;
    const res = buildContainerConfig(
      { source, name: golden.name, serviceName: golden.serviceName ?? golden.name, labels: golden.labels, env: envMap(golden.env) },
      golden.options,
    );
    const errors = [...res.errors];
    if (res.enabled) errors.push(...resolveServers(res.config, golden.target ?? { host: '127.0.0.1' }, source));
    const got = { enabled: res.enabled, config: res.config, errors: errors.map((e) => e.message) };
    if (process.env['UPDATE_GOLDEN'] === '1') {
      golden.expected = got;
      writeFileSync(new URL(file, DIR), JSON.stringify(golden, null, 2) + '\n');
      return;
    }
    assert.deepEqual(got, golden.expected);
    // Whatever the labels produce must be valid in the model (middleware options are the factories' job).
    for (const [name, r] of Object.entries(res.config.http?.routers ?? {})) {
      assert.ok(httpRouterSchema.safeParse(r).success, `router ${name}: ${JSON.stringify(r)}`);
    }
    for (const [name, s] of Object.entries(res.config.http?.services ?? {})) {
      assert.ok(httpServiceSchema.safeParse(s).success, `service ${name}: ${JSON.stringify(s)}`);
    }
  });
}
