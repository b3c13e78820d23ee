// wrk.mjs: runs Debian's wrk (pinned with taskset), bounded in time, and parses its text report
// (`--latency` adds the 50/75/90/99% lines that give p50 and p99).
import { spawn } from 'node:child_process';

const UNIT_US = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** toMicros turns wrk's "1.23ms" / "850.00us" / "1.02s" into microseconds. */
export function toMicros(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  return m ? Number(m[1]) * UNIT_US[m[2]] : null;
}

/** parseWrk reads the numbers the harness needs from wrk's text output. */
export function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : null;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm').exec(out);
    return m ? toMicros(m[1]) : null;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const socketErrors = sock
    ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
    : { connect: 0, read: 0, write: 0, timeout: 0 };
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/) ?? 0;
  return {
    requests: done ? Number(done[1]) : null,
    seconds: done ? (Number(done[2]) * UNIT_US[done[3]]) / 1e6 : null,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50us: pct(50),
    p75us: pct(75),
    p90us: pct(90),
    p99us: pct(99),
    socketErrors,
    non2xx,
    errors: non2xx + socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout,
  };
}

/** cpuCount counts the CPUs of a taskset list such as "0", "0,1" or "2-5". */
export function cpuCount(list) {
  let n = 0;
  for (const part of String(list).split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a + 1;
  }
  return Math.max(1, n);
}

/**
 * runWrk runs `wrk -t<one per CPU> -c<connections> -d<seconds>s --latency` against url, pinned to cpus, and
 * resolves with the parsed result and the raw text. It kills wrk (by its own PID) if it overruns.
 */
export function runWrk({ url, connections, seconds, cpus, host, script = null, timeoutSec = 5 }) {
  const args = ['-c', cpus, 'wrk', `-t${cpuCount(cpus)}`, `-c${connections}`, `-d${seconds}s`, '--latency', `--timeout`, `${timeoutSec}s`];
  if (host) args.push('-H', `Host: ${host}`);
  if (script) args.push('-s', script);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + timeoutSec + 15) * 1000);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`wrk exited ${code ?? signal}: ${err.trim() || out.trim()}`));
      resolve({ ...parseWrk(out), raw: out });
    });
  });
}
