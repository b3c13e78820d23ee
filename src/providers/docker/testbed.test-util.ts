/**
 * Shared by the Docker and Swarm integration tests: where the test bed's dockerd is, running the
 * docker CLI against it, importing the busybox image when missing, and polling with a deadline.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerClient } from './client.js';

const run = promisify(execFile);

export function testbedEnv(): Record<string, string> {
  const file = new URL('../../../../.testbed/env', import.meta.url);
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export const tb = testbedEnv();
export const DOCKER_HOST = process.env['GANTRY_TB_DOCKER'] ?? process.env['DOCKER_HOST'] ?? tb['GANTRY_TB_DOCKER'] ?? tb['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
export const IMAGE = process.env['GANTRY_TB_IMAGE_BUSYBOX'] ?? tb['GANTRY_TB_IMAGE_BUSYBOX'] ?? 'tb-busybox:1';
export const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
// Test backends live in 18081–18400 (TESTBED.md); spread runs so parallel ones rarely collide.
export const PORT = 18200 + (process.pid % 9) * 10;

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_HOST }, timeout: 60_000 });
  return stdout.trim();
}

export async function daemonAnswers(): Promise<string | null> {
  const c = new DockerClient({ endpoint: DOCKER_HOST, timeoutMs: 2000 });
  try {
    await c.negotiate();
    return null;
  } catch (err) {
    return `no Docker daemon at ${DOCKER_HOST}: ${(err as Error).message}`;
  } finally {
    await c.destroy().catch(() => {});
  }
}

/** ensureImage imports a busybox image (TESTBED.md §2) when the daemon does not have it yet. */
export async function ensureImage(): Promise<void> {
  try {
    await docker('image', 'inspect', '--format', '{{.Id}}', IMAGE);
    return;
  } catch {
    // not there: build it
  }
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  assert.ok(busybox, `image ${IMAGE} is missing and there is no busybox to build it (apt-get install busybox-static)`);
  const dir = mkdtempSync(join(tmpdir(), 'gantry-img-'));
  try {
    const r = join(dir, 'r');
    for (const d of ['bin', 'etc', 'www', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(r, d), { recursive: true });
    copyFileSync(busybox, join(r, 'bin/busybox'));
    for (const a of ['sh', 'httpd', 'wget']) symlinkSync('busybox', join(r, 'bin', a));
    writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    writeFileSync(join(r, 'www/index.html'), 'hello from busybox\n');
    await run('sh', ['-c', `tar -C ${r} -c . | docker import -c 'CMD ["/bin/httpd","-f","-p","127.0.0.1:8080","-h","/www"]' - ${IMAGE}`], {
      env: { ...process.env, DOCKER_HOST },
      timeout: 60_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function until(cond: () => boolean, ms: number, what: string, dump: () => unknown): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last config: ${JSON.stringify(dump())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

