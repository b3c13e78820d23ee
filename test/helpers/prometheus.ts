/**
 * parsePrometheus parses the Prometheus text exposition format (0.0.4) strictly, for tests: a
 * malformed line, a counter not ending in _total, or histogram buckets that are not cumulative
 * fail the assertion.
 */
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** parsePrometheus parses text exposition format 0.0.4; it throws on any malformed line. */
export function parsePrometheus(text: string): Map<string, Family> {
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

export function value(fams: Map<string, Family>, family: string, sample: string, labels: Record<string, string>): number {
  const f = fams.get(family);
  if (f === undefined) return 0;
  const s = f.samples.find((x) => x.name === sample && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

