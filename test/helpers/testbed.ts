/**
 * testbed.ts finds the services scripts/testbed/up.sh started (dockerd, etcd, Pebble and their
 * variants with TLS + auth and with External Account Binding) by reading
 * `$TESTBED_DIR/env` (default `<repo>/.testbed/env`), and lets tests kill and restart etcd members.
 *
 *   test('…', { skip: requireComponent('etcd') }, async () => { const { etcd } = loadTestbed(); … });
 *
 * Outside CI a missing component skips the test with a reason saying how to start it. With `CI` set,
 * requireComponent throws instead: in CI a missing test bed is a failure, never a silent skip.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export type Component = 'docker' | 'swarm' | 'etcd' | 'etcdCluster' | 'etcdAuth' | 'pebble' | 'pebbleEab' | 'redis';

export interface Testbed {
  dir: string;
  docker?: {
    /** DOCKER_HOST, e.g. unix:///var/run/docker.sock */
    host: string;
    socketPath: string;
    /** Whether up.sh started this dockerd (else it reused someone's). */
    ours: boolean;
    swarm: boolean;
    images: { busybox: string; node: string };
  };
  etcd?: {
    /** The single member, e.g. http://127.0.0.1:12379 */
    endpoint: string;
    /** The 3-member cluster's client URLs, member 1 first. */
    cluster: string[];
    dir: string;
  };
  /** The member that demands TLS client certificates and a user (up.sh etcd-auth). */
  etcdAuth?: {
    /** https://127.0.0.1:13379 */
    endpoint: string;
    dir: string;
    /** CA of the server certificate, and a client certificate (with no Common Name) and its key. */
    ca: string;
    cert: string;
    key: string;
    /** A client certificate whose Common Name is "gantry": etcd's gateway refuses those. */
    certWithCn: string;
    keyWithCn: string;
    /** User with readwrite on the prefix "gantry" and read on "/services/". */
    user: string;
    password: string;
    rootPassword: string;
  };
  /** The second Pebble, which requires External Account Binding (up.sh pebble-eab). */
  pebbleEab?: {
    dir: string;
    url: string;
    mgmtUrl: string;
    listenerCa: string;
    httpPort: number;
    tlsPort: number;
    kid: string;
    /** The MAC key, base64url (Traefik's eab.hmacEncoded). */
    hmac: string;
  };
  pebble?: {
    dir: string;
    /** ACME directory URL, https://127.0.0.1:14000/dir */
    url: string;
    mgmtUrl: string;
    /** CA of Pebble's own HTTPS listener: trust it to talk to the ACME API. */
    listenerCa: string;
    /** Pebble's issuing root (new on every start): verify issued certificates with it. */
    root: string;
    intermediate: string;
    /** Where Pebble's validator connects for http-01 / tls-alpn-01. */
    httpPort: number;
    tlsPort: number;
    /** The DNS server Pebble uses (A 127.0.0.1 for every name). */
    dns: string;
  };
  redis?: {
    /** host:port of the plain-TCP listener (default user without password). */
    address: string;
    /** host:port of the TLS listener of the same server (client certificates optional). */
    tlsAddress: string;
    /** CA that signed the TLS listener's certificate. */
    ca: string;
    /** An ACL user with a password. */
    user: string;
    password: string;
    dir: string;
  };
  /** Every KEY=VALUE of the env file. */
  env: Record<string, string>;
}

/** repoRoot is the directory holding scripts/testbed/up.sh, found upwards from this file (src or dist). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'scripts', 'testbed', 'up.sh'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function testbedDir(): string {
  return process.env.TESTBED_DIR || path.join(repoRoot(), '.testbed');
}

/** parseEnv reads KEY=VALUE lines; `#` comments and blank lines are ignored. */
export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** loadTestbed reads the env file afresh (up.sh/down.sh may have run since); missing parts are undefined. */
export function loadTestbed(): Testbed {
  const dir = testbedDir();
  const file = path.join(dir, 'env');
  const env = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  const tb: Testbed = { dir, env };
  if (env.GANTRY_TB_DOCKER) {
    tb.docker = {
      host: env.GANTRY_TB_DOCKER,
      socketPath: env.GANTRY_TB_DOCKER.replace(/^unix:\/\//, ''),
      ours: env.GANTRY_TB_DOCKER_OURS === '1',
      swarm: env.GANTRY_TB_SWARM === '1',
      images: { busybox: env.GANTRY_TB_IMAGE_BUSYBOX ?? '', node: env.GANTRY_TB_IMAGE_NODE ?? '' },
    };
  }
  if (env.GANTRY_TB_ETCD) {
    tb.etcd = {
      endpoint: env.GANTRY_TB_ETCD,
      cluster: (env.GANTRY_TB_ETCD_CLUSTER ?? '').split(',').filter(Boolean),
      dir: env.GANTRY_TB_ETCD_DIR ?? path.join(dir, 'etcd'),
    };
  }
  if (env.GANTRY_TB_PEBBLE_URL && env.GANTRY_TB_PEBBLE_DIR) {
    tb.pebble = {
      dir: env.GANTRY_TB_PEBBLE_DIR,
      url: env.GANTRY_TB_PEBBLE_URL,
      mgmtUrl: env.GANTRY_TB_PEBBLE_MGMT_URL ?? '',
      listenerCa: env.GANTRY_TB_PEBBLE_CA ?? path.join(env.GANTRY_TB_PEBBLE_DIR, 'listener-ca.pem'),
      root: env.GANTRY_TB_PEBBLE_ROOT ?? path.join(env.GANTRY_TB_PEBBLE_DIR, 'root.pem'),
      intermediate: env.GANTRY_TB_PEBBLE_INTERMEDIATE ?? path.join(env.GANTRY_TB_PEBBLE_DIR, 'intermediate.pem'),
      httpPort: Number(env.GANTRY_TB_PEBBLE_HTTP_PORT ?? 18880),
      tlsPort: Number(env.GANTRY_TB_PEBBLE_TLS_PORT ?? 18443),
      dns: env.GANTRY_TB_PEBBLE_DNS ?? '127.0.0.1:18053',
    };
  }
  if (env.GANTRY_TB_ETCD_AUTH && env.GANTRY_TB_ETCD_AUTH_DIR) {
    const d = env.GANTRY_TB_ETCD_AUTH_DIR;
    tb.etcdAuth = {
      endpoint: env.GANTRY_TB_ETCD_AUTH,
      dir: d,
      ca: env.GANTRY_TB_ETCD_AUTH_CA ?? path.join(d, 'ca.pem'),
      cert: env.GANTRY_TB_ETCD_AUTH_CERT ?? path.join(d, 'client.pem'),
      key: env.GANTRY_TB_ETCD_AUTH_KEY ?? path.join(d, 'client-key.pem'),
      certWithCn: path.join(d, 'client-cn.pem'),
      keyWithCn: path.join(d, 'client-cn-key.pem'),
      user: env.GANTRY_TB_ETCD_AUTH_USER ?? 'gantry',
      password: env.GANTRY_TB_ETCD_AUTH_PASSWORD ?? '',
      rootPassword: env.GANTRY_TB_ETCD_AUTH_ROOT_PASSWORD ?? '',
    };
  }
  if (env.GANTRY_TB_PEBBLE_EAB_URL && env.GANTRY_TB_PEBBLE_EAB_DIR) {
    const d = env.GANTRY_TB_PEBBLE_EAB_DIR;
    tb.pebbleEab = {
      dir: d,
      url: env.GANTRY_TB_PEBBLE_EAB_URL,
      mgmtUrl: env.GANTRY_TB_PEBBLE_EAB_MGMT_URL ?? '',
      listenerCa: env.GANTRY_TB_PEBBLE_EAB_CA ?? path.join(d, 'listener-ca.pem'),
      httpPort: Number(env.GANTRY_TB_PEBBLE_EAB_HTTP_PORT ?? 19880),
      tlsPort: Number(env.GANTRY_TB_PEBBLE_EAB_TLS_PORT ?? 19881),
      kid: env.GANTRY_TB_PEBBLE_EAB_KID ?? '',
      hmac: env.GANTRY_TB_PEBBLE_EAB_HMAC ?? '',
    };
  }
  if (env.GANTRY_TB_REDIS && env.GANTRY_TB_REDIS_DIR) {
    tb.redis = {
      address: env.GANTRY_TB_REDIS,
      tlsAddress: env.GANTRY_TB_REDIS_TLS ?? '',
      ca: env.GANTRY_TB_REDIS_CA ?? path.join(env.GANTRY_TB_REDIS_DIR, 'ca.pem'),
      user: env.GANTRY_TB_REDIS_USER ?? '',
      password: env.GANTRY_TB_REDIS_PASSWORD ?? '',
      dir: env.GANTRY_TB_REDIS_DIR,
    };
  }
  return tb;
}

/** alive: the process exists and is not a zombie (this machine's PID 1 reaps orphans late). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces or parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function pidsAlive(files: string[]): boolean {
  return files.every((f) => {
    const pid = pidFrom(f);
    return pid !== undefined && alive(pid);
  });
}

/** missing returns why `name` is not usable, or undefined when up.sh brought it up and it still runs. */
function missing(name: Component, tb: Testbed): string | undefined {
  switch (name) {
    case 'docker':
    case 'swarm': {
      if (!tb.docker) return 'docker is not in the test bed env file';
      try {
        if (!statSync(tb.docker.socketPath).isSocket()) return `${tb.docker.socketPath} is not a socket`;
      } catch {
        return `no docker socket at ${tb.docker.socketPath}`;
      }
      return name === 'swarm' && !tb.docker.swarm ? 'the docker daemon is not a swarm manager' : undefined;
    }
    case 'etcd':
      if (!tb.etcd) return 'etcd is not in the test bed env file';
      return pidsAlive([path.join(tb.etcd.dir, 'single', 'm1.pid')]) ? undefined : 'the single etcd member is not running';
    case 'etcdCluster': {
      if (!tb.etcd || tb.etcd.cluster.length !== 3) return 'the etcd cluster is not in the test bed env file';
      const files = [1, 2, 3].map((i) => path.join(tb.etcd!.dir, 'cluster', `m${i}.pid`));
      return pidsAlive(files) ? undefined : 'a member of the etcd cluster is not running';
    }
    case 'etcdAuth':
      if (!tb.etcdAuth) return 'the TLS + auth etcd member is not in the test bed env file';
      return pidsAlive([path.join(tb.etcdAuth.dir, 'etcd.pid')]) ? undefined : 'the TLS + auth etcd member is not running';
    case 'pebble':
      if (!tb.pebble) return 'pebble is not in the test bed env file';
      return pidsAlive(['pebble.pid', 'dns.pid'].map((f) => path.join(tb.pebble!.dir, f))) ? undefined : 'pebble is not running';
    case 'pebbleEab':
      if (!tb.pebbleEab) return 'pebble-eab is not in the test bed env file';
      // It resolves names with the pebble component's DNS server.
      if (!tb.pebble || !pidsAlive([path.join(tb.pebble.dir, 'dns.pid')])) return 'the DNS server of the pebble component (used by pebble-eab) is not running';
      return pidsAlive([path.join(tb.pebbleEab.dir, 'pebble.pid')]) ? undefined : 'pebble-eab is not running';
    case 'redis':
      if (!tb.redis) return 'redis is not in the test bed env file';
      return pidsAlive([path.join(tb.redis.dir, 'redis.pid')]) ? undefined : 'redis is not running';
  }
}

/**
 * requireComponent returns undefined when `name` is up, else a skip reason for node:test's `{ skip }`.
 * With `CI` set it throws instead, so a missing component fails the run.
 */
export function requireComponent(name: Component): string | undefined {
  const why = missing(name, loadTestbed());
  if (!why) return undefined;
  const component = ({ etcdCluster: 'etcd', swarm: 'docker', etcdAuth: 'etcd-auth', pebbleEab: 'pebble-eab' } as Record<string, string>)[name] ?? name;
  const reason = `test bed: ${why} (start it with: sh scripts/testbed/up.sh ${component})`;
  if (process.env.CI) throw new Error(`${reason}; CI requires the test bed, so this is a failure, not a skip`);
  return reason;
}

/** until polls `check` every `intervalMs` until it returns a truthy value, or throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

function clusterDir(): string {
  const tb = loadTestbed();
  if (!tb.etcd) throw new Error('etcd is not in the test bed env file');
  return path.join(tb.etcd.dir, 'cluster');
}

/** etcdHealthy: GET /health says true (the member is up and has a leader). */
export async function etcdHealthy(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

/** etcdLeader returns the 0-based index in `endpoints` of the current leader, asking every member until one is. */
export async function etcdLeader(endpoints: string[], timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(endpoints.map(async (ep) => {
      try {
        const res = await fetch(`${ep}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(500) });
        return (await res.json()) as { header?: { member_id?: string }; leader?: string };
      } catch {
        return undefined;
      }
    }));
    const i = answers.findIndex((a) => a?.leader !== undefined && a.leader === a.header?.member_id);
    if (i >= 0) return i;
    if (Date.now() >= deadline) throw new Error(`no etcd leader among ${endpoints.join(',')} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** killEtcdMember SIGKILLs cluster member `i` (1-based: m1..m3) and waits until it is gone. */
export async function killEtcdMember(i: number): Promise<void> {
  const pid = pidFrom(path.join(clusterDir(), `m${i}.pid`));
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGKILL');
  await until(`etcd m${i} (pid ${pid}) to exit`, () => !alive(pid), 5000, 20);
}

/**
 * pauseEtcdMember freezes cluster member `i` (SIGSTOP): its sockets stay open but nothing answers, as
 * with a paused VM or a partition. resumeEtcdMember (SIGCONT) undoes it.
 */
export function pauseEtcdMember(i: number): void {
  const pid = pidFrom(path.join(clusterDir(), `m${i}.pid`));
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGSTOP');
}

export function resumeEtcdMember(i: number): void {
  const pid = pidFrom(path.join(clusterDir(), `m${i}.pid`));
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGCONT');
}

/** restartEtcdMember starts cluster member `i` again on its data (its m$i.sh) and waits until it is healthy. */
export async function restartEtcdMember(i: number, timeoutMs = 15_000): Promise<void> {
  const dir = clusterDir();
  const pid = pidFrom(path.join(dir, `m${i}.pid`));
  if (pid === undefined || !alive(pid)) {
    await new Promise<void>((resolve, reject) => {
      execFile('sh', [path.join(dir, `m${i}.sh`)], { timeout: 5000 }, (err) => (err ? reject(err) : resolve()));
    });
  }
  const endpoint = loadTestbed().etcd!.cluster[i - 1]!;
  await until(`etcd m${i} healthy at ${endpoint}`, () => etcdHealthy(endpoint), timeoutMs, 50);
}

/**
 * etcdAuthCtl runs etcdctl as root against the TLS + auth member (user and role management in
 * tests: `etcdAuthCtl('user', 'add', name, '--new-user-password=' + pw)`); `input` goes to stdin.
 */
export function etcdAuthCtl(args: string[], input?: string): Promise<string> {
  const a = loadTestbed().etcdAuth;
  if (!a) return Promise.reject(new Error('the TLS + auth etcd member is not in the test bed env file'));
  const all = ['--endpoints', a.endpoint, '--cacert', a.ca, '--cert', a.cert, '--key', a.key, '--user', `root:${a.rootPassword}`, '--command-timeout=5s', ...args];
  return new Promise((resolve, reject) => {
    const child = execFile('etcdctl', all, { timeout: 15_000, env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`etcdctl ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * etcdAuthUser creates a user with its own role, granted readwrite on `prefix` only, and returns
 * its password and a function that removes both. The user exists for one test, which may change
 * its password without disturbing the others.
 */
export async function etcdAuthUser(name: string, prefix: string): Promise<{ password: string; remove(): Promise<void> }> {
  const password = randomBytes(9).toString('hex');
  await etcdAuthCtl(['role', 'add', name]);
  await etcdAuthCtl(['role', 'grant-permission', name, '--prefix=true', 'readwrite', prefix]);
  await etcdAuthCtl(['user', 'add', name, `--new-user-password=${password}`]);
  await etcdAuthCtl(['user', 'grant-role', name, name]);
  return {
    password,
    remove: async () => {
      await etcdAuthCtl(['user', 'delete', name]).catch(() => undefined);
      await etcdAuthCtl(['role', 'delete', name]).catch(() => undefined);
    },
  };
}
