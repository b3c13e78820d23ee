import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeFiles } from './read.js';

test('mergeFiles', () => {
  const cases: { desc: string; files: [string, Record<string, unknown>][]; want: unknown; errors: string[] }[] = [
    {
      desc: 'disjoint elements merge',
      files: [
        ['/d/a.yaml', { http: { routers: { a: { rule: 'x' } } } }],
        ['/d/b.yaml', { http: { routers: { b: { rule: 'y' } }, services: { s: {} } } }],
      ],
      want: { http: { routers: { a: { rule: 'x' }, b: { rule: 'y' } }, services: { s: {} } } },
      errors: [],
    },
    {
      desc: 'identical definitions are fine',
      files: [
        ['/d/a.yaml', { http: { services: { s: { x: 1 } } } }],
        ['/d/b.yaml', { http: { services: { s: { x: 1 } } } }],
      ],
      want: { http: { services: { s: { x: 1 } } } },
      errors: [],
    },
    {
      desc: 'different definitions are dropped and reported',
      files: [
        ['/d/a.yaml', { http: { services: { s: { x: 1 }, t: {} } } }],
        ['/d/b.yaml', { http: { services: { s: { x: 2 } } } }],
      ],
      want: { http: { services: { t: {} } } },
      errors: ['http.services.s: defined differently in a.yaml and b.yaml (/d/a.yaml, /d/b.yaml); skipped'],
    },
    {
      desc: 'certificates are concatenated',
      files: [
        ['/d/a.yaml', { tls: { certificates: [{ certFile: 'a' }] } }],
        ['/d/b.yaml', { tls: { certificates: [{ certFile: 'b' }] } }],
      ],
      want: { tls: { certificates: [{ certFile: 'a' }, { certFile: 'b' }] } },
      errors: [],
    },
  ];
  for (const c of cases) {
    const r = mergeFiles(c.files);
    assert.deepEqual(r.config, c.want, c.desc);
    assert.deepEqual(
      r.errors.map((e) => e.message),
      c.errors,
      c.desc,
    );
  }
});
