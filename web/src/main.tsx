/**
 * The Gantry dashboard: overview, routers, services (with each server's health), middlewares and
 * entrypoints, errors highlighted, search and filter, live request and error rates per router.
 * It polls the admin API every second, so changes show without a reload; everything it needs is
 * bundled (no CDN), so it works offline.
 */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { load, type Certificate, type Counts, type Middleware, type Router, type Service, type State, type Status } from './api.js';
import { RateHistory } from './rates.js';
import { Sparkline } from './chart.js';

const POLL_MS = 1000;
const TABS = ['overview', 'routers', 'services', 'middlewares', 'entrypoints', 'certificates'] as const;
type Tab = (typeof TABS)[number];

function tabFromHash(): Tab {
  const h = location.hash.replace(/^#\/?/, '') as Tab;
  return TABS.includes(h) ? h : 'overview';
}

const history = new RateHistory();

function App() {
  const [state, setState] = useState<State>({ overview: null, routers: [], services: [], middlewares: [], entrypoints: [], certificates: [], stats: null, error: null, updated: 0 });
  const [tab, setTab] = useState<Tab>(tabFromHash());
  const [query, setQuery] = useState('');
  const [onlyErrors, setOnlyErrors] = useState(false);

  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    addEventListener('hashchange', onHash);
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const data = await load();
        if (data.stats !== null) history.add(data.stats);
        if (!stopped) setState({ ...data, error: null, updated: Date.now() });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: String((err as Error).message ?? err) }));
      }
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      removeEventListener('hashchange', onHash);
    };
  }, []);

  const filter = <T extends { name: string; status: Status; rule?: string; error?: string[] }>(list: T[]): T[] => {
    const q = query.trim().toLowerCase();
    return list.filter((x) => (!onlyErrors || x.status !== 'enabled') && (q === '' || x.name.toLowerCase().includes(q) || (x.rule ?? '').toLowerCase().includes(q) || (x.error ?? []).join(' ').toLowerCase().includes(q)));
  };

  return (
    <>
      <header>
        <h1>Gantry</h1>
        <nav>
          {TABS.map((t) => (
            <a href={`#/${t}`} class={t === tab ? 'active' : ''} data-tab={t}>
              {t[0]!.toUpperCase() + t.slice(1)}
            </a>
          ))}
        </nav>
        <span class="live" data-testid="live">
          {state.updated === 0 ? 'loading…' : `live · config v${state.overview?.version ?? '?'} · ${new Date(state.updated).toLocaleTimeString()}`}
        </span>
      </header>
      <main>
        {state.error !== null && <div class="banner">Cannot reach the API: {state.error}</div>}
        {tab !== 'overview' && tab !== 'entrypoints' && tab !== 'certificates' && (
          <div class="toolbar">
            <input type="search" placeholder="Search by name, rule or error" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} data-testid="search" />
            <label>
              <input type="checkbox" checked={onlyErrors} onChange={(e) => setOnlyErrors((e.target as HTMLInputElement).checked)} data-testid="only-errors" /> only warnings and errors
            </label>
          </div>
        )}
        {tab === 'overview' && <OverviewView state={state} />}
        {tab === 'routers' && <RoutersTable routers={filter(state.routers)} />}
        {tab === 'services' && <ServicesTable services={filter(state.services)} />}
        {tab === 'middlewares' && <MiddlewaresTable middlewares={filter(state.middlewares)} />}
        {tab === 'entrypoints' && <EntrypointsTable state={state} />}
        {tab === 'certificates' && <CertificatesTable certificates={state.certificates} />}
      </main>
    </>
  );
}

function StatusBadge({ status }: { status: string }) {
  return <span class={`status ${status}`}>{status}</span>;
}

function Errors({ error }: { error?: string[] }) {
  if (error === undefined || error.length === 0) return null;
  return (
    <div class="error-text" data-testid="error">
      {error.map((e) => (
        <div>{e}</div>
      ))}
    </div>
  );
}

function CountCard({ title, c, href }: { title: string; c: Counts | undefined; href: string }) {
  return (
    <a class="card" href={href} style="text-decoration:none;color:inherit" data-testid={`count-${title.toLowerCase().replace(/\s+/g, '-')}`}>
      <h3>{title}</h3>
      <div class="big">{c?.total ?? '–'}</div>
      <div class="muted">
        {c ? `${c.warnings} warnings · ` : ''}
        <span style={c && c.errors > 0 ? 'color:var(--err);font-weight:600' : ''}>{c ? `${c.errors} errors` : ''}</span>
      </div>
    </a>
  );
}

function OverviewView({ state }: { state: State }) {
  const o = state.overview;
  const total = useMemo(() => {
    let rps = 0;
    let eps = 0;
    for (const name of history.series.keys()) {
      const p = history.latest(name);
      rps += p.rps;
      eps += p.eps;
    }
    return { rps, eps };
  }, [state.updated]);
  const broken = state.routers.filter((r) => r.status !== 'enabled');
  return (
    <>
      <div class="cards">
        <CountCard title="HTTP routers" c={o?.http.routers} href="#/routers" />
        <CountCard title="HTTP services" c={o?.http.services} href="#/services" />
        <CountCard title="HTTP middlewares" c={o?.http.middlewares} href="#/middlewares" />
        <CountCard title="TCP routers" c={o?.tcp.routers} href="#/overview" />
        <div class="card">
          <h3>Traffic</h3>
          <div class="big rate">{total.rps.toFixed(1)} req/s</div>
          <div class={total.eps > 0 ? 'error-text' : 'muted'}>{total.eps.toFixed(1)} errors/s</div>
        </div>
        <div class="card">
          <h3>Providers</h3>
          <div>{o?.providers.join(', ') || '–'}</div>
          <div class="muted">
            metrics: {o?.features.metrics || 'off'} · access log: {o?.features.accessLog ? 'on' : 'off'}
          </div>
        </div>
      </div>
      {broken.length > 0 && (
        <>
          <h2>Needs attention</h2>
          <RoutersTable routers={broken} />
        </>
      )}
    </>
  );
}

function RoutersTable({ routers }: { routers: Router[] }) {
  return (
    <table data-testid="routers">
      <thead>
        <tr>
          <th>Status</th>
          <th>Name</th>
          <th>Rule</th>
          <th>Entrypoints</th>
          <th>Service</th>
          <th>Priority</th>
          <th>Rate (req/s · err/s)</th>
        </tr>
      </thead>
      <tbody>
        {routers.map((r) => {
          const p = history.latest(r.name);
          return (
            <tr class={r.error ? 'has-error' : ''} data-router={r.name} data-status={r.status}>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>
                <strong>{r.name}</strong>
                {r.middlewares && r.middlewares.length > 0 && <div class="muted">via {r.middlewares.join(', ')}</div>}
                <Errors error={r.error} />
              </td>
              <td>
                <code>{r.rule}</code>
              </td>
              <td>{(r.using ?? r.entryPoints ?? []).join(', ')}</td>
              <td>{r.service}</td>
              <td>{r.priority}</td>
              <td class="rate">
                <Sparkline points={history.series.get(r.name) ?? []} />
                <div>
                  {p.rps.toFixed(1)} · <span class={p.eps > 0 ? 'err' : ''}>{p.eps.toFixed(1)}</span>
                </div>
              </td>
            </tr>
          );
        })}
        {routers.length === 0 && (
          <tr>
            <td colSpan={7} class="muted">
              no routers
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function ServicesTable({ services }: { services: Service[] }) {
  return (
    <table data-testid="services">
      <thead>
        <tr>
          <th>Status</th>
          <th>Name</th>
          <th>Type</th>
          <th>Servers (health · in flight)</th>
          <th>Used by</th>
        </tr>
      </thead>
      <tbody>
        {services.map((s) => (
          <tr class={s.error ? 'has-error' : ''} data-service={s.name} data-status={s.status}>
            <td>
              <StatusBadge status={s.status} />
            </td>
            <td>
              <strong>{s.name}</strong>
              <Errors error={s.error} />
            </td>
            <td>{s.type}</td>
            <td>
              {Object.entries(s.serverStatus ?? {}).map(([url, st]) => (
                <div data-server={url}>
                  <StatusBadge status={st} /> <code>{url}</code> <span class="muted">· {s.inFlight?.[url] ?? 0}</span>
                </div>
              ))}
            </td>
            <td>{(s.usedBy ?? []).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MiddlewaresTable({ middlewares }: { middlewares: Middleware[] }) {
  return (
    <table data-testid="middlewares">
      <thead>
        <tr>
          <th>Status</th>
          <th>Name</th>
          <th>Type</th>
          <th>Used by</th>
        </tr>
      </thead>
      <tbody>
        {middlewares.map((m) => (
          <tr class={m.error ? 'has-error' : ''} data-middleware={m.name} data-status={m.status}>
            <td>
              <StatusBadge status={m.status} />
            </td>
            <td>
              <strong>{m.name}</strong>
              <Errors error={m.error} />
            </td>
            <td>{m.type}</td>
            <td>{(m.usedBy ?? []).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EntrypointsTable({ state }: { state: State }) {
  return (
    <table data-testid="entrypoints">
      <thead>
        <tr>
          <th>Name</th>
          <th>Address</th>
          <th>Port</th>
          <th>Routers</th>
        </tr>
      </thead>
      <tbody>
        {state.entrypoints.map((e) => (
          <tr data-entrypoint={e.name}>
            <td>
              <strong>{e.name}</strong>
            </td>
            <td>
              <code>{e.address}</code>
            </td>
            <td>{e.port}</td>
            <td>{state.routers.filter((r) => (r.using ?? []).includes(e.name)).length}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Certificates expiring within this many days are flagged (ACME renews 30 days before by default). */
const EXPIRY_WARN_DAYS = 30;

function CertificatesTable({ certificates }: { certificates: Certificate[] }) {
  const now = Date.now();
  return (
    <table data-testid="certificates">
      <thead>
        <tr>
          <th>Status</th>
          <th>Domains</th>
          <th>Expires</th>
          <th>Issuer</th>
          <th>Source</th>
        </tr>
      </thead>
      <tbody>
        {certificates.map((c) => {
          const days = Math.floor((Date.parse(c.notAfter) - now) / 86_400_000);
          const status = days < 0 ? 'disabled' : days < EXPIRY_WARN_DAYS && c.source !== 'default' ? 'warning' : 'enabled';
          return (
            <tr class={status === 'disabled' ? 'has-error' : ''} data-certificate={c.domains.main} data-source={c.source} data-status={status}>
              <td>
                <span class={`status ${status}`}>{days < 0 ? 'expired' : status === 'warning' ? 'expiring' : 'valid'}</span>
              </td>
              <td>
                <strong>{c.domains.main}</strong>
                {c.domains.sans.length > 0 && <div class="muted">{c.domains.sans.join(', ')}</div>}
              </td>
              <td>
                {new Date(c.notAfter).toLocaleDateString()} <span class={status === 'enabled' ? 'muted' : 'error-text'}>({days < 0 ? `expired ${-days} days ago` : `in ${days} days`})</span>
              </td>
              <td>{c.issuer}</td>
              <td>
                {c.source}
                {c.resolver !== undefined && <span class="muted"> · {c.resolver}</span>}
                {c.certFile !== undefined && (
                  <div class="muted">
                    <code>{c.certFile}</code>
                  </div>
                )}
              </td>
            </tr>
          );
        })}
        {certificates.length === 0 && (
          <tr>
            <td colSpan={5} class="muted">
              no certificates
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

render(<App />, document.getElementById('app')!);
