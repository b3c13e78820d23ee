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
      per10kSettledMiB: mine.some((r) => r.per10kSettledMiB != null) ? median(mine.map((r) => r.per10kSettledMiB).filter((v) => v != null)) : null,
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
    `| proxy | RSS before | RSS with idle conns | conns open | RSS per 10k conns | ×${ref} | settled: per 10k conns | ×${ref} | failed |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const refRow = rows.find((r) => r.contestant === ref);
  for (const r of rows) {
    const settledX = r.per10kSettledMiB == null || refRow?.per10kMiB == null ? null : r.per10kSettledMiB / refRow.per10kMiB;
    out.push(
      `| ${r.contestant} | ${fnum(r.rssBeforeMiB, 1)} MiB | ${fnum(r.rssAfterMiB, 1)} MiB | ${fnum(r.open)} | ${fnum(r.per10kMiB, 1)} MiB | ${fx(r.per10kX)} | ${r.per10kSettledMiB == null ? '—' : `${fnum(r.per10kSettledMiB, 1)} MiB`} | ${fx(settledX)} | ${r.failed} |`,
    );
  }
  out.push('');
  out.push(`"RSS per 10k": RSS 2 s after the connections are open minus RSS 1 s after a 1 s warm-up load. "Settled" (Gantry only): the same, each reading taken 50 s after the last activity, once Gantry's idle trim (30 s of quiet) has given back the young generation that the warm-up and the burst of connections grew; its ratio is to ${ref}'s figure, which does not change with time.`);
  return out.join('\n');
}

/** targets checks issue 14's targets (one worker, ratios to nginx in the same run) against whatever scenarios ran; a missing scenario is "not run". */
/** MB(n) is n megabytes (10^6 bytes, as the issue's targets are written) in MiB, the unit readings are in. */
const MB = (n) => (n * 1e6) / 2 ** 20;

export function targets(results) {
  const row = (sc, c) => results[sc]?.rows?.find((r) => r.contestant === c) ?? null;
  const same = (sc, c, other, key) => {
    const runs = results[sc]?.runs ?? [];
    return ratioMedian(runs, c, other, key);
  };
  const list = [];
  const add = (name, value, ok, shown) => list.push({ name, value, pass: value == null ? null : ok(value), shown: value == null ? 'not run' : shown(value) });
  const x = (v) => `${v.toFixed(2)}×`;
  for (const [sc, label, goal] of [['get-50', 'GET / 50 conns', 0.75], ['body-16k', '16 KiB', 0.7], ['body-64k', '64 KiB', 0.7], ['body-1m', '1 MiB', 0.7], ['upload-16k', 'POST 16 KiB', 0.6]]) {
    add(`${label}: req/s ≥ ${goal}× nginx`, row(sc, 'gantry')?.rpsX ?? null, (v) => v >= goal, x);
  }
  for (const sc of ['get-50', 'get-256', 'body-16k', 'body-64k', 'body-1m', 'upload-16k', 'upload-1m', 'middleware']) {
    add(`${sc}: p99 ≤ 1.5× nginx`, row(sc, 'gantry')?.p99usX ?? null, (v) => v <= 1.5, x);
  }
  add('header-only middlewares: req/s ≥ 0.75× nginx', row('middleware', 'gantry-mw')?.rpsX ?? null, (v) => v >= 0.75, x);
  add('header-only middlewares: req/s vs no middleware', same('middleware', 'gantry-mw', 'gantry', 'rps'), (v) => v >= 0.9, x);
  add('GET / 50 conns: CPU µs/req (nginx in the same run)', g50cpu(row), () => null, (v) => `${v[0].toFixed(1)} µs (nginx ${v[1].toFixed(1)})`);
  add('10k host routers: req/s ≥ 0.95× 1 router', same('routers', 'gantry-10k-host', 'gantry', 'rps'), (v) => v >= 0.95, x);
  add('10k mixed routers: req/s ≥ 0.95× 1 router', same('routers', 'gantry-10k-mix', 'gantry', 'rps'), (v) => v >= 0.95, x);
  const lcs = Object.values(results.routers?.liveChange ?? {});
  const builds = lcs.map((l) => l.buildMedianMs).filter((v) => v != null);
  add('10k routers: a change compiles and swaps in < 200 ms (buildMs)', builds.length ? Math.max(...builds) : null, (v) => v < 200, (v) => `${v.toFixed(0)} ms`);
  add('10k routers: a file change served in < 200 ms (write → API, incl. YAML parse)', lcs.length ? Math.max(...lcs.map((l) => l.medianMs)) : null, (v) => v < 200, (v) => `${v.toFixed(0)} ms`);
  const idle = (c) => results['idle-rss']?.rows?.find((r) => r.contestant === c) ?? null;
  add('idle, no routes: one process ≤ 60 MB RSS', idle('gantry-idle-1')?.rssMiB ?? null, (v) => v <= MB(60), (v) => `${v.toFixed(1)} MiB = ${((v * 2 ** 20) / 1e6).toFixed(1)} MB`);
  add('idle, no routes: default process set ≤ 150 MB (RSS sum)', idle('gantry-idle-default')?.rssMiB ?? null, (v) => v <= MB(150), (v) => `${v.toFixed(1)} MiB = ${((v * 2 ** 20) / 1e6).toFixed(1)} MB (PSS ${idle('gantry-idle-default').pssMiB.toFixed(1)} MiB, ${idle('gantry-idle-default').processes} processes)`);
  const idle10k = results['idle-10k']?.rows?.find((r) => r.contestant === 'gantry') ?? null;
  add('idle keep-alive, held (settled): ≤ 15 MB RSS per 10k', idle10k?.per10kSettledMiB ?? null, (v) => v <= MB(15), (v) => `${v.toFixed(1)} MiB`);
  add('idle keep-alive, 2 s after the burst: ≤ 15 MB RSS per 10k', idle10k?.per10kMiB ?? null, (v) => v <= MB(15), (v) => `${v.toFixed(1)} MiB`);
  add('--workers=2: req/s ≥ 0.8× nginx 2 workers', row('workers-2', 'gantry-2w')?.rpsX ?? null, (v) => v >= 0.8, x);
  add('h2: req/s ≥ 0.5× nginx (h2load)', row('h2', 'gantry-h2')?.ratio ?? null, (v) => v >= 0.5, x);
  const rl = row('reload', 'gantry-reload');
  add('reload every 100 ms: 0 failed requests', rl ? rl.errors : null, (v) => v === 0, (v) => `${v} failed, ${rl.reloads} reloads written${rl.reloadsApplied ? '' : ' (last one NOT seen applied)'}`);
  const lines = ['| target | measured | |', '| --- | ---: | --- |'];
  for (const t of list) lines.push(`| ${t.name} | ${t.shown} | ${t.pass == null ? '' : t.pass ? 'met' : 'NOT met'} |`);
  return { list, markdown: lines.join('\n') };
}

function g50cpu(row) {
  const g = row('get-50', 'gantry')?.cpuUsPerReq;
  const n = row('get-50', 'nginx')?.cpuUsPerReq;
  return g == null || n == null ? null : [g, n];
}
