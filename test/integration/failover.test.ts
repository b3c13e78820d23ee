/**
 * Failover (issue 3): three upstream PROCESSES behind Gantry and a steady, bounded GET load. One of
 * them is killed with SIGKILL mid-load — no graceful close, in-flight and pooled connections die —
 * and no client may see an error: the forwarder's connect-failure retry, the retry middleware and
 * passive health (ejection with back-off) hide it. Restarted on the same port, the server comes
 * back into rotation by itself when its passive back-off expires.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startWithFile, waitFor, type GantryProcess } from '../helpers/gantry.js';
import { get } from '../helpers/http.js';

const upstreamScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/upstream-server.js');

/** Upstream is one child process serving `name` on a fixed port. */
class Upstream {
  readonly name: string;
  readonly port: number;
  proc: ChildProcess | null = null;

  constructor(name: string, port: number) {
    this.name = name;
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** start spawns the process and resolves once it listens. */
  async start(): Promise<void> {
    const proc = spawn(process.execPath, [upstreamScript, String(this.port), this.name], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc = proc;
    let out = '';
    let exited = false;
    proc.once('exit', () => (exited = true));
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await waitFor(() => {
      if (exited) throw new Error(`upstream ${this.name} exited before listening`);
      return out.includes(`listening ${this.port}`);
    }, 10_000);
  }

  /** kill sends SIGKILL to this upstream's own process and waits until it is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await gone;
    this.proc = null;
  }
}

describe('failover with upstream processes', () => {
  let g: GantryProcess;
  let cleanup: () => Promise<void>;
  const ups: Upstream[] = [];

  before(async () => {
    for (const name of ['u1', 'u2', 'u3']) ups.push(new Upstream(name, await freePort()));
    await Promise.all(ups.map((u) => u.start()));
    const yaml = `http:
  routers:
    app:
      rule: Host(\`app.test\`)
      service: app
      middlewares: [retry-get]
  middlewares:
    retry-get:
      retry:
        attempts: 3
        initialInterval: 10ms
  services:
    app:
      loadBalancer:
        servers:
${ups.map((u) => `          - url: ${u.url}\n`).join('')}`;
    ({ g, cleanup } = await startWithFile(yaml));
  });
  after(async () => {
    await cleanup?.();
    for (const u of ups) await u.kill();
  });

  it('hides a killed server from clients and takes it back after it restarts', async () => {
    const victim = ups[1]!;
    const counts = new Map<string, number>();
    const errors: string[] = [];
    let total = 0;
    let running = true;
    const MAX = 20_000;
    const deadline = Date.now() + 60_000;
    const worker = async () => {
      while (running && total < MAX && Date.now() < deadline) {
        total++;
        try {
          const r = await get(g.url('/'), { host: 'app.test' });
          if (r.status !== 200) errors.push(`${r.status} ${r.body.trim()}`);
          else counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
        } catch (err) {
          errors.push(`client error: ${String(err)}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));
    const n = (name: string) => counts.get(name) ?? 0;

    try {
      // Steady state: every server takes its share.
      await waitFor(() => ups.every((u) => n(u.name) >= 30), 15_000, () => JSON.stringify(Object.fromEntries(counts)));
      const atKill = total;
      await victim.kill();
      const victimAtKill = n(victim.name);
      // Keep the load on the survivors for a while.
      await waitFor(() => total >= atKill + 400, 20_000);
      const duringDown = { total: total - atKill, victim: n(victim.name) - victimAtKill };

      await victim.start();
      const atRestart = n(victim.name);
      const t0 = Date.now();
      await waitFor(() => n(victim.name) >= atRestart + 20, 30_000, () => `victim not back; counts ${JSON.stringify(Object.fromEntries(counts))}`);
      const backMs = Date.now() - t0;
      running = false;
      await load;
      process.stderr.write(
        `failover: ${total} requests, ${errors.length} errors, per server ${JSON.stringify(Object.fromEntries(counts))}; ` +
          `while down: ${duringDown.total} requests (${duringDown.victim} answered by the killed server); back in rotation after ${backMs} ms\n`,
      );
      assert.deepEqual(errors, [], 'no client-visible error');
      assert.ok(duringDown.victim <= 0, 'nothing is answered by a dead process');
    } finally {
      running = false;
      await load;
    }
  });
});
