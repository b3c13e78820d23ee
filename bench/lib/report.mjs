// report.mjs: medians, same-round ratios to the reference proxy, the markdown tables and the target checks.

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** ratioMedian is the median over rounds of metric(c, round) / metric(ref, same round). */
function ratioMedian(runs, c, ref, key) {
  const ratios = [];
  for (const r of runs.filter((x) => x.contestant === c)) {
    const base = runs.find((x) => x.contestant === ref && x.round === r.round);
    if (base && r[key] != null && base[key] != null && base[key] > 0) ratios.push(r[key] / base[key]);
  }
  return median(ratios);
}

/** summarize turns the raw runs of one throughput scenario into one row per contestant. */
export function summarize(runs, contestants, ref) {
  const rows = [];
  for (const c of contestants) {
    const mine = runs.filter((r) => r.contestant === c);
    if (mine.length === 0) continue;
    const row = { contestant: c, rounds: mine.length };
    for (const key of ['rps', 'p50us', 'p99us', 'cpuUsPerReq', 'noisePct', 'loadCorePct', 'proxyCorePct']) row[key] = median(mine.map((r) => r[key]));
    for (const key of ['rps', 'p50us', 'p99us', 'cpuUsPerReq']) row[`${key}X`] = ratioMedian(runs, c, ref, key);
    row.errors = mine.reduce((a, r) => a + r.errors, 0);
    row.requests = mine.reduce((a, r) => a + (r.requests ?? 0), 0);
    const reloads = mine.filter((r) => r.reloads != null);
    if (reloads.length > 0) {
      row.reloads = reloads.reduce((a, r) => a + r.reloads, 0);
      row.reloadsApplied = reloads.every((r) => r.lastReloadApplied);
    }
    rows.push(row);
  }
  return rows;
}

/** summarizeIdle turns the idle-connection runs into one row per contestant (RSS growth per 10k). */
export function summarizeIdle(runs, contestants, ref) {
  const rows = [];
  for (const c of contestants) {
    const mine = runs.filter((r) => r.contestant === c);
    if (mine.length === 0) continue;
    rows.push({
      contestant: c,
      rounds: mine.length,
      rssBeforeMiB: median(mine.map((r) => r.rssBeforeKiB / 1024)),
      rssAfterMiB: median(mine.map((r) => r.rssAfterKiB / 1024)),
      open: median(mine.map((r) => r.open)),
      failed: mine.reduce((a, r) => a + r.failed + r.non200, 0),
      per10kMiB: median(mine.map((r) => r.per10kMiB)),
      per10kX: ratioMedian(runs, c, ref, 'per10kMiB'),
    });
  }
  return rows;
}

const fx = (x, d = 2) => (x == null ? '—' : `${x.toFixed(d)}×`);
const fnum = (x, d = 0) => (x == null ? '—' : x.toFixed(d));
export function fmtLatency(us) {
  if (us == null) return '—';
  return us < 1000 ? `${us.toFixed(0)} µs` : `${(us / 1000).toFixed(2)} ms`;
}

export function throughputTable(rows, ref) {
  const out = [
    `| proxy | req/s | ×${ref} | p50 | ×${ref} | p99 | ×${ref} | CPU µs/req | ×${ref} | errors |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.contestant} | ${fnum(r.rps)} | ${fx(r.rpsX)} | ${fmtLatency(r.p50us)} | ${fx(r.p50usX)} | ${fmtLatency(r.p99us)} | ${fx(r.p99usX)} | ${fnum(r.cpuUsPerReq, 1)} | ${fx(r.cpuUsPerReqX)} | ${r.errors} |`,
    );
  }
  return out.join('\n');
}

export function idleTable(rows, ref) {
  const out = [
    `| proxy | RSS before | RSS with idle conns | conns open | RSS per 10k conns | ×${ref} | failed |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.contestant} | ${fnum(r.rssBeforeMiB, 1)} MiB | ${fnum(r.rssAfterMiB, 1)} MiB | ${fnum(r.open)} | ${fnum(r.per10kMiB, 1)} MiB | ${fx(r.per10kX)} | ${r.failed} |`,
    );
  }
  return out.join('\n');
}

/** targets checks issue 8's targets against whatever scenarios ran; a missing scenario is "not run". */
export function targets(results) {
  const row = (sc, c) => results[sc]?.rows?.find((r) => r.contestant === c) ?? null;
  const same = (sc, c, other, key) => {
    const runs = results[sc]?.runs ?? [];
    return ratioMedian(runs, c, other, key);
  };
  const list = [];
  const add = (name, value, ok, shown) => list.push({ name, value, pass: value == null ? null : ok(value), shown: value == null ? 'not run' : shown(value) });
  const g50 = row('get-50', 'gantry');
  add('GET / 50 conns: req/s ≥ 0.5× nginx (goal 0.7×)', g50?.rpsX ?? null, (v) => v >= 0.5, (v) => `${v.toFixed(2)}×`);
  add('GET / 50 conns: CPU ≤ 30 µs/req', g50?.cpuUsPerReq ?? null, (v) => v <= 30, (v) => `${v.toFixed(1)} µs`);
  add('GET / 50 conns: req/s ≥ 2× Caddy', same('get-50', 'gantry', 'caddy', 'rps'), (v) => v >= 2, (v) => `${v.toFixed(2)}×`);
  add('GET / 50 conns: req/s ≥ 1.5× undici-Pool baseline', same('get-50', 'gantry', 'baseline', 'rps'), (v) => v >= 1.5, (v) => `${v.toFixed(2)}×`);
  add('GET / 50 conns: p99 ≤ 2× nginx', g50?.p99usX ?? null, (v) => v <= 2, (v) => `${v.toFixed(2)}×`);
  add('16 KiB: req/s ≥ 0.5× nginx', row('body-16k', 'gantry')?.rpsX ?? null, (v) => v >= 0.5, (v) => `${v.toFixed(2)}×`);
  add('10k host routers: req/s ≥ 0.95× 1 router', same('routers', 'gantry-10k-host', 'gantry', 'rps'), (v) => v >= 0.95, (v) => `${v.toFixed(2)}×`);
  add('10k mixed routers: req/s ≥ 0.95× 1 router', same('routers', 'gantry-10k-mix', 'gantry', 'rps'), (v) => v >= 0.95, (v) => `${v.toFixed(2)}×`);
  add('idle keep-alive: ≤ 30 MB RSS per 10k', results['idle-10k']?.rows?.find((r) => r.contestant === 'gantry')?.per10kMiB ?? null, (v) => v <= 30, (v) => `${v.toFixed(1)} MiB`);
  add('--workers=2: req/s ≥ 0.6× nginx 2 workers', row('workers-2', 'gantry-2w')?.rpsX ?? null, (v) => v >= 0.6, (v) => `${v.toFixed(2)}×`);
  const rl = row('reload', 'gantry-reload');
  add('reload every 100 ms: 0 failed requests', rl ? rl.errors : null, (v) => v === 0, (v) => `${v} failed, ${rl.reloads} reloads written${rl.reloadsApplied ? '' : ' (last one NOT seen applied)'}`);
  const lines = ['| target | measured | |', '| --- | ---: | --- |'];
  for (const t of list) lines.push(`| ${t.name} | ${t.shown} | ${t.pass == null ? '' : t.pass ? 'met' : 'NOT met'} |`);
  return { list, markdown: lines.join('\n') };
}
