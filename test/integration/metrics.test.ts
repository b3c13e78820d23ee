/**
 * /metrics: the Prometheus text format parses (with a small parser written for the test, strict
 * about the syntax) and the counters move with traffic.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, startWithFile, serviceYaml, waitFor, writeAtomic, type Backend, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** parsePrometheus parses text exposition format 0.0.4; it throws on any malformed line. */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix !== '' && !sample.endsWith(suffix)) continue;
      const f = families.get(sample.slice(0, sample.length - suffix.length));
      if (f !== undefined && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
    }
    throw new Error(`sample ${sample} has no # TYPE line before it`);
  };
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ');
      assert.match(name!, NAME, line);
      const f = families.get(name!) ?? { type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest[0]!), line);
        f.type = rest[0]!;
      } else f.help = rest.join(' ');
      families.set(name!, f);
      continue;
    }
    assert.ok(line !== '' && !line.startsWith('#'), `unexpected line ${JSON.stringify(line)}`);
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
    const name = line.slice(0, i);
    assert.match(name, NAME, line);
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        assert.match(key, /^[a-zA-Z_][a-zA-Z0-9_]*$/, line);
        assert.equal(line[eq + 1], '"', line);
        let j = eq + 2;
        let v = '';
        for (; line[j] !== '"'; j++) {
          assert.ok(j < line.length, `unterminated label value: ${line}`);
          if (line[j] === '\\') {
            j++;
            v += line[j] === 'n' ? '\n' : line[j];
          } else v += line[j];
        }
        labels[key] = v;
        i = j + 1;
        if (line[i] === ',') i++;
      }
      i++;
    }
    assert.equal(line[i], ' ', line);
    const parts = line.slice(i + 1).split(' ');
    assert.ok(parts.length <= 2, line);
    const value = parts[0] === '+Inf' ? Infinity : parts[0] === '-Inf' ? -Infinity : Number(parts[0]);
    assert.ok(!Number.isNaN(value) || parts[0] === 'NaN', line);
    familyOf(name).samples.push({ name, labels, value });
  }
  for (const [name, f] of families) {
    if (f.type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`);
    if (f.type === 'histogram') {
      // Buckets are cumulative and end with +Inf equal to _count.
      const series = new Map<string, Sample[]>();
      for (const s of f.samples.filter((x) => x.name.endsWith('_bucket'))) {
        const { le, ...rest } = s.labels;
        assert.ok(le !== undefined, 'bucket has le');
        const key = JSON.stringify(rest);
        series.set(key, [...(series.get(key) ?? []), s]);
      }
      for (const [key, buckets] of series) {
        for (let k = 1; k < buckets.length; k++) assert.ok(buckets[k]!.value >= buckets[k - 1]!.value, `cumulative buckets ${key}`);
        assert.equal(buckets.at(-1)!.labels['le'], '+Inf');
        const count = f.samples.find((x) => x.name.endsWith('_count') && JSON.stringify(x.labels) === key);
        assert.equal(count?.value, buckets.at(-1)!.value, `+Inf bucket equals _count for ${key}`);
      }
    }
  }
  return families;
}

function value(fams: Map<string, Family>, family: string, sample: string, labels: Record<string, string>): number {
  const f = fams.get(family);
  if (f === undefined) return 0;
  const s = f.samples.find((x) => x.name === sample && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

describe('/metrics', () => {
  let g: GantryProcess;
  let a: Backend;
  let cleanup: () => Promise<void>;
  let file: string;

  before(async () => {
    a = await startBackend('a');
    ({ g, file, cleanup } = await startWithFile(serviceYaml('w', 'w.test', [a.url, 'http://127.0.0.1:9']), ['--metrics.prometheus']));
    await g.waitForLog((l) => l.msg === 'configuration applied' && Number(l['routers']) > 0);
  });
  after(async () => {
    await cleanup?.();
    await a?.close();
  });

  const scrape = async () => {
    const r = await get(g.api('/metrics'));
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(r.body);
  };

  it('parses, and the request counters and histograms move with traffic', async () => {
    const before = await scrape();
    const labels = { entrypoint: 'web', router: 'w@file', service: 'w@file', code: '200' };
    const n0 = value(before, 'gantry_requests_total', 'gantry_requests_total', labels);
    for (let i = 0; i < 5; i++) assert.equal((await get(g.url('/'), { host: 'w.test' })).status, 200);
    assert.equal((await get(g.url('/'), { host: 'nowhere.test' })).status, 404);
    const after = await scrape();
    // A request sent to the unreachable server is retried on `a`, and still counted once.
    assert.equal(value(after, 'gantry_requests_total', 'gantry_requests_total', labels) - n0, 5);
    assert.equal(value(after, 'gantry_request_duration_seconds', 'gantry_request_duration_seconds_count', labels), n0 + 5);
    assert.ok(value(after, 'gantry_request_duration_seconds', 'gantry_request_duration_seconds_sum', labels) > 0);
    assert.ok(value(after, 'gantry_requests_total', 'gantry_requests_total', { router: '', code: '404' }) >= 1);
    assert.equal(after.get('gantry_request_duration_seconds')?.type, 'histogram');
  });

  it('reports reloads, open connections, server health and the build', async () => {
    const m0 = await scrape();
    const reloads = value(m0, 'gantry_config_reloads_total', 'gantry_config_reloads_total', {});
    assert.ok(reloads >= 1);
    assert.ok(value(m0, 'gantry_config_last_reload_success_timestamp_seconds', 'gantry_config_last_reload_success_timestamp_seconds', {}) > 1e9);
    assert.ok(m0.get('gantry_open_connections')!.samples.some((s) => s.labels['entrypoint'] === 'web'));
    assert.equal(value(m0, 'gantry_service_server_up', 'gantry_service_server_up', { service: 'w@file', url: a.url }), 1);
    assert.equal(m0.get('gantry_build_info')!.samples.length, 1);
    assert.equal(m0.get('gantry_tls_certs_not_after_timestamp_seconds')?.type, 'gauge');

    writeAtomic(file, serviceYaml('w2', 'w2.test', [a.url]));
    await waitFor(async () => value(await scrape(), 'gantry_config_reloads_total', 'gantry_config_reloads_total', {}) > reloads, 5000);
  });

  it('is not served without --metrics.prometheus', async () => {
    const other = await startWithFile(serviceYaml('w', 'w.test', [a.url]));
    try {
      assert.equal((await get(other.g.api('/metrics'))).status, 404);
      const stats = JSON.parse((await get(other.g.api('/api/stats'))).body) as { total: { requests: number } };
      assert.equal(typeof stats.total.requests, 'number', '/api/stats is there for the dashboard');
    } finally {
      await other.cleanup();
    }
  });
});
