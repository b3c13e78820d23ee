/**
 * ConsulClient makes Consul's blocking queries (https://developer.hashicorp.com/consul/api-docs/features/blocking):
 * a request carries the last `X-Consul-Index` seen as `?index=` and a `?wait=` bound; Consul holds it
 * until the result changes or the wait passes. An index that goes backwards (a Consul restart, a
 * snapshot restore) resets to 0, as the documentation asks.
 */
import type { Agent } from 'undici';
import { undici } from '../../upstreams/undici.js';
import type { TlsContents } from '../tls-files.js';

export interface ConsulClientOptions {
  /** `127.0.0.1:8500` or a URL. */
  address: string;
  scheme: string;
  datacenter?: string;
  token?: string;
  /** TLS to Consul (endpoint.tls): its CA, a client certificate (Consul's verify_incoming). A bare address then uses https. */
  tls?: TlsContents;
  /** The wait of a blocking query, in ms. */
  waitMs: number;
}

/** CatalogServices is `/v1/catalog/services`: service name → tags. */
export type CatalogServices = Record<string, string[] | null>;

/** HealthEntry is one item of `/v1/health/service/<name>` (the fields Gantry reads). */
export interface HealthEntry {
  Node?: { Node?: string; Address?: string };
  Service?: { ID?: string; Service?: string; Tags?: string[] | null; Address?: string; Port?: number; Meta?: Record<string, string> | null };
  Checks?: Array<{ Status?: string }>;
}

export interface Blocking<T> {
  index: number;
  value: T;
}

export class ConsulClient {
  readonly base: string;
  #opts: ConsulClientOptions;
  #agent: Agent;

  constructor(opts: ConsulClientOptions) {
    this.#opts = opts;
    const t = opts.tls;
    const scheme = t !== undefined ? 'https' : opts.scheme;
    this.base = /^https?:\/\//.test(opts.address) ? opts.address.replace(/\/+$/, '') : `${scheme}://${opts.address}`;
    this.#agent = new (undici().Agent)({
      keepAliveTimeout: 30_000,
      ...(t !== undefined ? { connect: { ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: !t.insecureSkipVerify } } : {}),
      // HTTP/1.1 as without TLS: one connection per blocking query.
      allowH2: false,
    });
  }

  /** get makes one blocking query from `index` (0 = answer at once, as polling does). */
  async get<T>(path: string, index: number, signal: AbortSignal, params: Record<string, string> = {}): Promise<Blocking<T>> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    if (this.#opts.datacenter) url.searchParams.set('dc', this.#opts.datacenter);
    if (index > 0) {
      url.searchParams.set('index', String(index));
      url.searchParams.set('wait', `${Math.max(1, Math.ceil(this.#opts.waitMs / 1000))}s`);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#opts.token) headers['x-consul-token'] = this.#opts.token;
    // Consul adds up to wait/16 of jitter to the wait; allow that and some slack.
    const timeout = this.#opts.waitMs + Math.ceil(this.#opts.waitMs / 16) + 5000;
    const res = await undici().request(url, { headers, signal, dispatcher: this.#agent, headersTimeout: timeout, bodyTimeout: timeout });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`consul ${url.pathname}: HTTP ${res.statusCode}: ${text.slice(0, 200).trim()}`);
    const raw = res.headers['x-consul-index'];
    const next = Number(Array.isArray(raw) ? raw[0] : raw);
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      throw new Error(`consul ${url.pathname}: the answer is not JSON`);
    }
    // Index reset rules from the blocking-query documentation.
    const idx = !Number.isFinite(next) || next <= 0 ? 1 : next < index ? 0 : next;
    return { index: idx, value };
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => undefined);
  }
}
