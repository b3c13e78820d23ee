/**
 * The label model lists middleware options by hand (their schemas live with the factories):
 * this keeps it complete, so that every option a file may set can be set by a label too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as z from '../zod.js';
import '../../middlewares/index.js';
import { middlewareFactory, middlewareTypes } from '../../middlewares/registry.js';
import { validateDynamic } from '../dynamic/validate.js';
import { decodeFlat } from './decode.js';
import { HTTP_MIDDLEWARES, type ModelNode } from './model.js';

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; element?: z.ZodType };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** objectShape returns the fields of an object schema (through optional, pipes and arrays), or null. */
function objectShape(s: z.ZodType): Record<string, z.ZodType> | null {
  let d = defOf(s);
  for (let i = 0; i < 16; i++) {
    if (d.type === 'object') return d.shape!;
    if (d.type === 'optional' || d.type === 'nullable' || d.type === 'default') d = defOf(d.innerType!);
    else if (d.type === 'pipe') d = defOf(defOf(d.in!).type === 'transform' ? d.out! : d.in!);
    else if (d.type === 'array') d = defOf(d.element!);
    else return null;
  }
  return null;
}

function missing(schema: z.ZodType, node: ModelNode, at: string, out: string[]): void {
  const shape = objectShape(schema);
  if (shape === null) return;
  const n = node.kind === 'array' ? node.item : node;
  if (n.kind !== 'object') return;
  for (const [k, s] of Object.entries(shape)) {
    const f = n.fields.get(k.toLowerCase());
    if (f === undefined) out.push(`${at}.${k}`);
    else missing(s, f.node, `${at}.${k}`, out);
  }
}

test('every middleware option a file accepts has its label', () => {
  const out: string[] = [];
  for (const type of middlewareTypes()) {
    const node = HTTP_MIDDLEWARES[type];
    if (node === undefined) out.push(type);
    else missing(middlewareFactory(type)!.schema, node, type, out);
  }
  assert.deepEqual(out, []);
});

test('Traefik labels for the new options decode into a valid configuration', () => {
  const labels = {
    'traefik.http.routers.r.rule': 'Host(`a.test`)',
    'traefik.http.routers.r.service': 's',
    'traefik.http.routers.r.middlewares': 'rl,auth,digest,retry,enc,white',
    'traefik.http.routers.r.observability.accesslogs': 'false',
    'traefik.http.routers.r.observability.metrics': 'false',
    'traefik.http.routers.v2.rule': 'Host(`a`, `b`)',
    'traefik.http.routers.v2.rulesyntax': 'v2',
    'traefik.http.routers.v2.service': 's',
    'traefik.http.services.s.loadbalancer.server.url': 'http://127.0.0.1:1',
    'traefik.http.services.s.loadbalancer.strategy': 'leasttime',
    'traefik.http.services.s.loadbalancer.passivehealthcheck.maxfailedattempts': '2',
    'traefik.http.services.s.middlewares': 'white',
    'traefik.http.middlewares.rl.ratelimit.average': '10',
    'traefik.http.middlewares.rl.ratelimit.redis.endpoints': '127.0.0.1:6379',
    'traefik.http.middlewares.rl.ratelimit.redis.db': '2',
    'traefik.http.middlewares.rl.ratelimit.redis.readtimeout': '1s',
    'traefik.http.middlewares.auth.forwardauth.address': 'https://auth.test/check',
    'traefik.http.middlewares.auth.forwardauth.tls.insecureskipverify': 'true',
    'traefik.http.middlewares.auth.forwardauth.forwardbody': 'true',
    'traefik.http.middlewares.auth.forwardauth.maxbodysize': '1024',
    'traefik.http.middlewares.auth.forwardauth.headerfield': 'X-User',
    'traefik.http.middlewares.digest.digestauth.users': 'test:traefik:a2688e031edb4be6a3797f3882655c05',
    'traefik.http.middlewares.retry.retry.attempts': '3',
    'traefik.http.middlewares.retry.retry.status': '500-504,429',
    'traefik.http.middlewares.retry.retry.timeout': '10s',
    'traefik.http.middlewares.enc.encodedcharacters.allowencodedsemicolon': 'true',
    'traefik.http.middlewares.white.ipwhitelist.sourcerange': '10.0.0.0/8',
    'traefik.tcp.services.t.loadbalancer.server.address': '127.0.0.1:5432',
    'traefik.tcp.services.t.loadbalancer.healthcheck.send': 'PING',
    'traefik.tcp.services.t.loadbalancer.healthcheck.expect': 'PONG',
    'traefik.tcp.middlewares.one.inflightconn.amount': '5',
  };
  const { config, errors } = decodeFlat(labels, 'traefik');
  assert.deepEqual(errors, []);
  const v = validateDynamic(config);
  assert.deepEqual(v.errors, []);
  assert.equal(v.config.http.routers.v2?.rule, 'Host(`a`) || Host(`b`)');
  assert.deepEqual(v.config.http.middlewares.retry, { retry: { attempts: 3, status: ['500-504', '429'], timeout: '10s' } });
  assert.deepEqual(v.config.http.routers.r?.observability, { accessLogs: false, metrics: false });
  assert.equal(v.config.tcp.services.t?.loadBalancer?.healthCheck?.send, 'PING');
});
