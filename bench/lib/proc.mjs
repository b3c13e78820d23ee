// proc.mjs: what the harness reads from /proc — CPU ticks and RSS of a process tree, per-CPU busy time.
// A proxy is a tree (nginx master + workers, Gantry primary + workers), so every figure sums the
// process and all of its descendants, found through the ppid field of /proc/<pid>/stat.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** CLK_TCK: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we run on). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** statFields returns the fields of /proc/<pid>/stat after the `(comm)` field, or null if gone. */
function statFields(pid) {
  let s;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** descendants returns pid and every live descendant of it. */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const f = statFields(name);
    if (f === null) continue;
    const ppid = Number(f[1]);
    let list = children.get(ppid);
    if (list === undefined) children.set(ppid, (list = []));
    list.push(Number(name));
  }
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** treeTicks returns Map(pid → utime+stime in ticks) for pid and its descendants. */
export function treeTicks(pid) {
  const out = new Map();
  for (const p of processTree(pid)) {
    const f = statFields(p);
    // After the comm field: state=0 ppid=1 … utime=11 stime=12 (fields 14 and 15 of proc(5)).
    if (f !== null) out.set(p, Number(f[11]) + Number(f[12]));
  }
  return out;
}

/** ticksDelta returns the CPU ticks each process used between two treeTicks() readings. */
export function ticksDelta(before, after) {
  const out = new Map();
  for (const [p, t] of after) out.set(p, t - (before.get(p) ?? 0));
  return out;
}

/** rssKiB returns VmRSS (KiB) summed over the tree of pid, and the number of processes. */
export function rssKiB(pid) {
  let sum = 0;
  let procs = 0;
  for (const p of processTree(pid)) {
    let status;
    try {
      status = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      continue;
    }
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (m) {
      sum += Number(m[1]);
      procs++;
    }
  }
  return { kib: sum, procs };
}

/** cpuTimes returns {cpuN: {busy, total}} in ticks from /proc/stat, to tell how busy each core was. */
export function cpuTimes() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: idle+iowait is not busy. `task` is the time
    // charged to processes (user+nice+system); irq/softirq time (loopback packet handling) is not.
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = { busy: total - v[3] - v[4], task: v[0] + v[1] + v[2], total };
  }
  return out;
}

/** busyPercent turns two cpuTimes() readings into {cpuN: percent busy} (or percent `field`). */
export function busyPercent(before, after, field = 'busy') {
  const out = {};
  for (const k of Object.keys(after)) {
    const b = before[k];
    if (!b) continue;
    const total = after[k].total - b.total;
    out[k] = total > 0 ? Math.round((1000 * (after[k][field] - b[field])) / total) / 10 : 0;
  }
  return out;
}

/** memoryKiB sums Rss and Pss (shared pages split among the processes that map them) over a tree. */
export function memoryKiB(pid) {
  const per = [];
  for (const p of processTree(pid)) {
    try {
      const t = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      per.push({ pid: p, rss: Number(/^Rss:\s+(\d+)/m.exec(t)?.[1] ?? 0), pss: Number(/^Pss:\s+(\d+)/m.exec(t)?.[1] ?? 0) });
    } catch {
      /* gone */
    }
  }
  return { procs: per.length, rss: per.reduce((a, x) => a + x.rss, 0), pss: per.reduce((a, x) => a + x.pss, 0), per };
}
