import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { loadStaticConfig, StaticConfigError, type LoadStaticOptions } from './load.js';
import type { StaticConfig } from './schema.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** workdir makes a temporary working directory holding the given files. */
function workdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-static-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function load(o: Partial<LoadStaticOptions> & { files?: Record<string, string>; docker?: boolean } = {}): Promise<StaticConfig> {
  return loadStaticConfig({
    argv: o.argv ?? [],
    env: o.env ?? {},
    cwd: o.cwd ?? workdir(o.files),
    isRoot: o.isRoot ?? false,
    dockerAvailable: () => o.docker ?? false,
    cpus: o.cpus ?? 3,
  });
}

async function problems(o: Parameters<typeof load>[0]): Promise<string[]> {
  try {
    await load(o);
  } catch (e) {
    assert.ok(e instanceof StaticConfigError);
    assert.ok(e instanceof ConfigError);
    return e.problems.map((p) => p.message);
  }
  assert.fail('expected a StaticConfigError');
}

test('defaults', async () => {
  const cases: { desc: string; opts: Parameters<typeof load>[0]; check: (c: StaticConfig) => void }[] = [
    {
      desc: 'not root: web :8000 and websecure :8443',
      opts: {},
      check: (c) => assert.deepEqual(Object.fromEntries(Object.entries(c.entryPoints).map(([n, e]) => [n, e.address])), { web: ':8000', websecure: ':8443' }),
    },
    {
      desc: 'root: web :80 and websecure :443',
      opts: { isRoot: true },
      check: (c) => assert.deepEqual(Object.fromEntries(Object.entries(c.entryPoints).map(([n, e]) => [n, e.port])), { web: 80, websecure: 443 }),
    },
    {
      desc: 'an explicit entry point replaces the defaults',
      opts: { argv: ['--entrypoints.http.address=:9000'], isRoot: true },
      check: (c) => assert.deepEqual(Object.keys(c.entryPoints), ['http']),
    },
    {
      desc: 'web given without address keeps its usual port',
      opts: { argv: ['--entrypoints.web.forwardedHeaders.insecure'] },
      check: (c) => {
        assert.deepEqual(Object.keys(c.entryPoints), ['web']);
        assert.equal(c.entryPoints.web!.address, ':8000');
        assert.equal(c.entryPoints.web!.forwardedHeaders.insecure, true);
      },
    },
    {
      desc: 'transport, lifecycle, log, api, workers',
      opts: {},
      check: (c) => {
        assert.deepEqual(c.serversTransport.forwardingTimeouts, { dialTimeout: 30_000, responseHeaderTimeout: 0, idleConnTimeout: 90_000 });
        assert.equal(c.serversTransport.maxIdleConnsPerHost, 200);
        assert.equal(c.lifecycle.graceTimeout, 10_000);
        assert.equal(c.entryPoints.web!.transport.lifeCycle.graceTimeOut, 10_000);
        assert.deepEqual(c.log, { level: 'info', format: 'text' });
        assert.equal(c.api?.address, '127.0.0.1:8080');
        assert.equal(c.workers, 3);
        assert.equal(c.accessLog, null);
        assert.equal(c.configFile, null);
        assert.equal(c.providers.file, null);
        assert.equal(c.providers.docker, null);
      },
    },
    {
      desc: 'docker is enabled when its socket exists and providers are not configured',
      opts: { docker: true },
      check: (c) => assert.equal(c.providers.docker?.endpoint, 'unix:///var/run/docker.sock'),
    },
    {
      desc: 'docker is not enabled by default once any provider option is given',
      opts: { docker: true, argv: ['--providers.etcd'] },
      check: (c) => {
        assert.equal(c.providers.docker, null);
        assert.deepEqual(c.providers.etcd?.endpoints, ['127.0.0.1:2379']);
      },
    },
    {
      desc: 'dynamic.yaml in the working directory becomes the watched file provider',
      opts: { files: { 'dynamic.yaml': 'http: {}\n' } },
      check: (c) => {
        assert.match(c.providers.file!.filename!, /dynamic\.yaml$/);
        assert.equal(c.providers.file!.watch, true);
      },
    },
    {
      desc: 'gantry.yaml in the working directory is the config file',
      opts: { files: { 'gantry.yaml': 'entryPoints:\n  only:\n    address: ":7000"\n' } },
      check: (c) => {
        assert.deepEqual(Object.keys(c.entryPoints), ['only']);
        assert.match(c.configFile!, /gantry\.yaml$/);
      },
    },
    {
      desc: 'the result is frozen',
      opts: {},
      check: (c) => {
        assert.ok(Object.isFrozen(c));
        assert.ok(Object.isFrozen(c.entryPoints.web!.forwardedHeaders.trustedIPs));
      },
    },
  ];
  for (const c of cases) c.check(await load(c.opts));
});

test('sources and precedence: file < env < flags', async () => {
  const file = [
    'entryPoints:',
    '  web:',
    '    address: ":1000"',
    '  websecure:',
    '    address: ":1001"',
    'log:',
    '  level: WARN',
    '  format: json',
    'providers:',
    '  docker:',
    '    exposedByDefault: false',
    '',
  ].join('\n');
  const cases: { desc: string; opts: Parameters<typeof load>[0]; check: (c: StaticConfig) => void }[] = [
    {
      desc: 'file alone',
      opts: { files: { 'g.yaml': file }, argv: ['--configFile=g.yaml'] },
      check: (c) => {
        assert.equal(c.entryPoints.web!.port, 1000);
        assert.equal(c.log.level, 'warn');
        assert.equal(c.providers.docker?.exposedByDefault, false);
      },
    },
    {
      desc: 'env over file, flags over env',
      opts: {
        files: { 'g.yaml': file },
        env: { GANTRY_CONFIGFILE: 'g.yaml', GANTRY_ENTRYPOINTS_WEB_ADDRESS: ':2000', GANTRY_LOG_LEVEL: 'debug', PATH: '/bin' },
        argv: ['--log.level', 'ERROR'],
      },
      check: (c) => {
        assert.equal(c.entryPoints.web!.port, 2000);
        assert.equal(c.entryPoints.websecure!.port, 1001);
        assert.equal(c.log.level, 'error');
        assert.equal(c.log.format, 'json');
      },
    },
    {
      desc: 'flag names are case-insensitive and merge into the file entry point',
      opts: { files: { 'g.yaml': file }, argv: ['--configfile', 'g.yaml', '--ENTRYPOINTS.WEB.proxyprotocol.trustedips=10.0.0.0/8, 192.168.0.0/16'] },
      check: (c) => {
        assert.deepEqual(Object.keys(c.entryPoints), ['web', 'websecure']);
        assert.deepEqual(c.entryPoints.web!.proxyProtocol?.trustedIPs, ['10.0.0.0/8', '192.168.0.0/16']);
        assert.equal(c.entryPoints.web!.port, 1000);
      },
    },
    {
      desc: 'bare boolean flags and sections',
      opts: { argv: ['--providers.docker', '--api.insecure', '--accessLog', '--metrics.prometheus', '--entrypoints.web.address', ':80'] },
      check: (c) => {
        assert.equal(c.providers.docker?.exposedByDefault, true);
        assert.equal(c.api?.insecure, true);
        assert.equal(c.accessLog?.format, 'common');
        assert.deepEqual(c.metrics.prometheus?.buckets, [0.1, 0.3, 1.2, 5]);
      },
    },
    {
      desc: 'boolean flag followed by true/false',
      opts: { argv: ['--api.dashboard', 'false', '--providers.file.filename=x.yaml', '--providers.file.watch', 'false'] },
      check: (c) => {
        assert.equal(c.api?.dashboard, false);
        assert.equal(c.providers.file?.watch, false);
      },
    },
    {
      desc: 'a section switched off by a later source',
      opts: { files: { 'g.yaml': file }, env: { GANTRY_CONFIGFILE: 'g.yaml' }, argv: ['--providers.docker=false'] },
      check: (c) => assert.equal(c.providers.docker, null),
    },
    {
      desc: 'enabling a section keeps the options an earlier source gave',
      opts: { files: { 'g.yaml': file }, env: { GANTRY_CONFIGFILE: 'g.yaml', GANTRY_PROVIDERS_DOCKER: 'true' } },
      check: (c) => assert.equal(c.providers.docker?.exposedByDefault, false),
    },
    {
      desc: 'env: upper-case entry point names are lower-cased',
      opts: { env: { GANTRY_ENTRYPOINTS_WEB_ADDRESS: ':80', GANTRY_ENTRYPOINTS_WEB_HTTP_REDIRECTIONS_ENTRYPOINT_TO: 'secure', GANTRY_ENTRYPOINTS_SECURE_ADDRESS: ':443' } },
      check: (c) => {
        assert.deepEqual(Object.keys(c.entryPoints).sort(), ['secure', 'web']);
        assert.deepEqual(c.entryPoints.web!.http.redirections.entryPoint, { to: 'secure', scheme: 'https', permanent: true });
      },
    },
    {
      desc: 'coercion: numbers, durations, lists',
      opts: {
        argv: [
          '--serversTransport.maxIdleConnsPerHost=5',
          '--serversTransport.forwardingTimeouts.dialTimeout=1.5s',
          '--serversTransport.forwardingTimeouts.responseHeaderTimeout=2',
          '--lifecycle.graceTimeout=1m',
          '--providers.etcd.endpoints=a:2379,b:2379',
          '--workers=2',
        ],
      },
      check: (c) => {
        assert.equal(c.serversTransport.maxIdleConnsPerHost, 5);
        assert.equal(c.serversTransport.forwardingTimeouts.dialTimeout, 1500);
        assert.equal(c.serversTransport.forwardingTimeouts.responseHeaderTimeout, 2000);
        assert.equal(c.lifecycle.graceTimeout, 60_000);
        assert.deepEqual(c.providers.etcd?.endpoints, ['a:2379', 'b:2379']);
        assert.equal(c.workers, 2);
      },
    },
    {
      desc: 'TOML config file',
      opts: { files: { 'g.toml': '[entryPoints.web]\naddress = ":3000"\n[providers.file]\ndirectory = "conf.d"\n' }, argv: ['--configFile=g.toml'] },
      check: (c) => {
        assert.equal(c.entryPoints.web!.port, 3000);
        assert.match(c.providers.file!.directory!, /conf\.d$/);
      },
    },
    {
      desc: 'YAML section with nothing under it is enabled',
      opts: { files: { 'gantry.yaml': 'providers:\n  docker:\n  file:\n    filename: d.yaml\n' } },
      check: (c) => {
        assert.equal(c.providers.docker?.watch, true);
        assert.equal(c.providers.file?.watch, true);
      },
    },
    {
      desc: 'certificate resolver',
      opts: { argv: ['--certificatesresolvers.le.acme.email=a@b.c', '--certificatesresolvers.le.acme.httpchallenge.entrypoint=web', '--certificatesResolvers.tls.acme.tlsChallenge'] },
      check: (c) => {
        assert.equal(c.certificatesResolvers.le?.acme.email, 'a@b.c');
        assert.equal(c.certificatesResolvers.le?.acme.httpChallenge?.entryPoint, 'web');
        assert.deepEqual(c.certificatesResolvers.tls?.acme.tlsChallenge, {});
      },
    },
  ];
  for (const c of cases) {
    await assert.doesNotReject(async () => c.check(await load(c.opts)), c.desc);
  }
});

test('mistakes are errors that name the option', async () => {
  const cases: { desc: string; opts: Parameters<typeof load>[0]; want: string[] }[] = [
    { desc: 'misspelt flag', opts: { argv: ['--entrypoints.web.adress=:80'] }, want: ['--entrypoints.web.adress: unknown option (did you mean address?)'] },
    { desc: 'misspelt section', opts: { argv: ['--providers.dockr'] }, want: ['--providers.dockr: unknown option (did you mean docker?)'] },
    { desc: 'no suggestion when nothing is close', opts: { argv: ['--zzzzzz=1'] }, want: ['--zzzzzz: unknown option'] },
    {
      desc: 'misspelt env variable',
      opts: { env: { GANTRY_API_ADRESS: '1.2.3.4:1' } },
      want: ['GANTRY_API_ADRESS: unknown option (did you mean GANTRY_API_ADDRESS?)'],
    },
    {
      desc: 'misspelt file key',
      opts: { files: { 'gantry.yaml': 'entryPoints:\n  web:\n    adress: ":80"\n' } },
      want: ['gantry.yaml: entryPoints.web.adress: unknown option (did you mean address?)'],
    },
    {
      desc: 'dynamic configuration in the static file',
      opts: { files: { 'gantry.yaml': 'http:\n  routers: {}\n' } },
      want: ['gantry.yaml: http: unknown option (this is dynamic configuration: give its file to --providers.file.filename)'],
    },
    { desc: 'not a number', opts: { argv: ['--workers=many'] }, want: ['--workers: expected a number (got "many")'] },
    { desc: 'not a boolean', opts: { argv: ['--api.insecure=maybe'] }, want: ['--api.insecure: expected true or false (got "maybe")'] },
    { desc: 'not a duration', opts: { argv: ['--lifecycle.graceTimeout=soon'] }, want: ['--lifecycle.graceTimeout: not a duration (use e.g. "500ms", "10s", "1m")'] },
    { desc: 'bad address', opts: { argv: ['--entrypoints.web.address=80'] }, want: ['--entrypoints.web.address: not an address (use ":80", "0.0.0.0:80" or "[::]:443")'] },
    { desc: 'bad log level from env', opts: { env: { GANTRY_LOG_LEVEL: 'LOUD' } }, want: ['GANTRY_LOG_LEVEL (log.level): expected DEBUG, INFO, WARN or ERROR'] },
    { desc: 'wrong type in file', opts: { files: { 'gantry.yaml': 'workers: "two"\n' } }, want: ['gantry.yaml: workers: expected number, got string'] },
    { desc: 'value for a leaf given options', opts: { argv: ['--log.level.x=1'] }, want: ['--log.level.x: unknown option (log.level takes a value, not options)'] },
    { desc: 'stray argument', opts: { argv: ['web'] }, want: ['web: unexpected argument (options look like --entrypoints.web.address=:80)'] },
    { desc: 'missing value', opts: { argv: ['--entrypoints.web.address'] }, want: ['--entrypoints.web.address: needs a value'] },
    {
      desc: 'redirection to an unknown entry point',
      opts: { argv: ['--entrypoints.web.http.redirections.entrypoint.to=websecur'] },
      want: ['--entrypoints.web.http.redirections.entrypoint.to: unknown entry point "websecur" (entry points: web)'],
    },
    {
      desc: 'two entry points on one port',
      opts: { argv: ['--entrypoints.a.address=:9000', '--entrypoints.b.address=0.0.0.0:9000'] },
      want: ['--entrypoints.b.address: 0.0.0.0:9000 is also the address of entry point "a" (:9000)'],
    },
    { desc: 'file provider without a file', opts: { argv: ['--providers.file'] }, want: ['--providers.file: give either filename or directory'] },
    { desc: 'missing config file', opts: { argv: ['--configFile=nope.yaml'] }, want: ['nope.yaml: cannot read: no such file'] },
    { desc: 'unparsable config file', opts: { files: { 'gantry.yaml': 'a: [\n' }, argv: [] }, want: ['gantry.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
    {
      desc: 'every problem is listed',
      opts: { argv: ['--entrypoints.web.adress=:80', '--workers=x'], env: { GANTRY_LOG_FORMAT: 'xml' } },
      want: ['GANTRY_LOG_FORMAT (log.format): expected "text" or "json"', '--entrypoints.web.adress: unknown option (did you mean address?)', '--workers: expected a number (got "x")'],
    },
  ];
  for (const c of cases) assert.deepEqual((await problems(c.opts)).sort(), c.want.sort(), c.desc);
});

test('one problem: the error message is the problem itself', async () => {
  await assert.rejects(load({ argv: ['--entrypoints.web.adress=:80'] }), {
    name: 'StaticConfigError',
    message: '--entrypoints.web.adress: unknown option (did you mean address?)',
    path: '--entrypoints.web.adress',
  });
});

test('a "__proto__" entry point or resolver name is refused where it was written, and Object.prototype stays untouched', async () => {
  const cases: { opts: Parameters<typeof load>[0]; want: string }[] = [
    { opts: { argv: ['--entrypoints.__proto__.address=:1234'] }, want: '--entrypoints.__proto__: the name "__proto__" is reserved: choose another' },
    { opts: { argv: ['--certificatesresolvers.__proto__.acme.email=a@b.test'] }, want: '--certificatesresolvers.__proto__: the name "__proto__" is reserved: choose another' },
    { opts: { files: { 'gantry.yaml': 'entryPoints:\n  __proto__:\n    address: ":1"\n' } }, want: 'gantry.yaml: entryPoints.__proto__: the name "__proto__" is reserved: choose another' },
  ];
  for (const c of cases) {
    assert.deepEqual(await problems(c.opts), [c.want]);
    assert.equal(Object.hasOwn(Object.prototype, 'address'), false, `${c.want}: Object.prototype.address was set`);
    assert.equal(Object.hasOwn(Object.prototype, 'acme'), false);
  }
});
