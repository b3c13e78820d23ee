// h2load.mjs: runs nghttp2's h2load (Debian nghttp2-client, pinned with taskset), bounded in time,
// and reads requests/s, the mean request time and failures from its report.
import { spawn } from 'node:child_process';

const UNIT_US = { us: 1, ms: 1e3, s: 1e6 };

function micros(v, unit) {
  return v === undefined ? null : Number(v) * (UNIT_US[unit] ?? 1);
}

/** parseH2load reads the summary lines of an h2load report. */
export function parseH2load(out) {
  const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const time = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const done = req ? Number(req[3]) : null;
  const failed = req ? Number(req[5]) + Number(req[6]) + Number(req[7]) : null;
  const non2xx = status ? Number(status[2]) + Number(status[3]) + Number(status[4]) : 0;
  return {
    seconds: fin ? Number(fin[1]) : null,
    rps: fin ? Number(fin[2]) : null,
    requests: done,
    errors: failed === null ? null : failed + non2xx,
    meanUs: time ? micros(time[5], time[6]) : null,
    maxUs: time ? micros(time[3], time[4]) : null,
  };
}

/** runH2load: `clients` connections × `streams` concurrent streams for `seconds`, against an https URL. */
export function runH2load({ url, clients, streams, seconds, cpus, warmup = 0 }) {
  const args = ['-c', String(cpus), 'h2load', '-c', String(clients), '-m', String(streams), '-t', '1', '-D', String(seconds), ...(warmup > 0 ? [`--warm-up-time=${warmup}`] : []), url];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + warmup + 20) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const r = parseH2load(out);
      if (r.rps === null) return reject(new Error(`h2load failed (${code}): ${out.slice(-400)}`));
      resolve({ ...r, raw: out });
    });
  });
}
