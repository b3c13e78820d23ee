/** Types and fetching for the dashboard: the same shapes the admin API serves. */
export type Status = 'enabled' | 'warning' | 'disabled';

export interface Router {
  name: string;
  provider: string;
  status: Status;
  rule?: string;
  service?: string;
  entryPoints?: string[];
  middlewares?: string[];
  priority?: number;
  using?: string[];
  error?: string[];
}

export interface Service {
  name: string;
  provider: string;
  status: Status;
  type?: string;
  serverStatus?: Record<string, 'UP' | 'DOWN'>;
  inFlight?: Record<string, number>;
  usedBy?: string[];
  error?: string[];
}

export interface Middleware {
  name: string;
  provider: string;
  status: Status;
  type?: string;
  usedBy?: string[];
  error?: string[];
}

export interface Entrypoint {
  name: string;
  address: string;
  port: number;
}

/** One certificate the TLS store holds (`GET /api/tls/certificates`). */
export interface Certificate {
  domains: { main: string; sans: string[] };
  notBefore: string;
  notAfter: string;
  issuer: string;
  serial: string;
  fingerprint: string;
  source: 'file' | 'acme' | 'default';
  resolver?: string;
  certFile?: string;
}

export interface Counts {
  total: number;
  warnings: number;
  errors: number;
}

export interface Overview {
  http: { routers: Counts; services: Counts; middlewares: Counts };
  tcp: { routers: Counts; services: Counts; middlewares: Counts };
  features: { tracing: string; metrics: string; accessLog: boolean };
  providers: string[];
  providerErrors: number;
  version: number;
}

export interface Stats {
  time: number;
  routers: Record<string, { requests: number; errors: number }>;
  total: { requests: number; errors: number };
}

export interface State {
  overview: Overview | null;
  routers: Router[];
  services: Service[];
  middlewares: Middleware[];
  entrypoints: Entrypoint[];
  certificates: Certificate[];
  stats: Stats | null;
  error: string | null;
  updated: number;
}

async function getJSON<T>(path: string): Promise<T> {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

/** load fetches everything the dashboard shows, in parallel. */
export async function load(): Promise<Omit<State, 'error' | 'updated'>> {
  const [overview, routers, services, middlewares, entrypoints, stats, certificates] = await Promise.all([
    getJSON<Overview>('/api/overview'),
    getJSON<Router[]>('/api/http/routers'),
    getJSON<Service[]>('/api/http/services'),
    getJSON<Middleware[]>('/api/http/middlewares'),
    getJSON<Entrypoint[]>('/api/entrypoints'),
    getJSON<Stats>('/api/stats'),
    getJSON<Certificate[]>('/api/tls/certificates'),
  ]);
  return { overview, routers, services, middlewares, entrypoints, stats, certificates };
}
