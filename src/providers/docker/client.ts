/**
 * DockerClient is a small Docker Engine API client over undici (no dockerode): a unix socket
 * (`unix:///var/run/docker.sock`) or `tcp://host:port` with optional TLS. It only issues GET
 * requests, so it works behind a read-only socket proxy that allows GET on /_ping, /version,
 * /info, /containers, /events, /services, /tasks and /nodes.
 *
 * The API version is negotiated once (`/_ping` API-Version header, else `/version` ApiVersion),
 * capped at the newest version this client was written against and falling back to v1.41.
 */
import type { Agent } from 'undici';
import { undici } from '../../upstreams/undici.js';
import { GantryError } from '../../errors.js';
import { NdjsonParser } from './ndjson.js';
import type { ContainerInspect, ContainerSummary, DockerEvent, SwarmNode, SwarmService, SwarmTask } from './types.js';

/** DockerTlsOptions are PEM contents (providers/tls-files.ts reads them from the configured paths). */
export interface DockerTlsOptions {
  /** CA of the daemon's certificate; default the system's. */
  ca?: string | Buffer;
  /** Client certificate and key (dockerd --tlsverify asks for one). */
  cert?: string | Buffer;
  key?: string | Buffer;
  insecureSkipVerify?: boolean;
}

export interface DockerClientOptions {
  /** `unix:///var/run/docker.sock` (default), `tcp://host:2375`, `http://…` or `https://…`. */
  endpoint?: string;
  tls?: DockerTlsOptions;
  /** Timeout of one non-streaming call (default 10 s). */
  timeoutMs?: number;
}

/** The newest API version whose fields this client reads; 1.41 is Docker 20.10 (Debian 12). */
export const MAX_API_VERSION = '1.45';
export const FALLBACK_API_VERSION = '1.41';

export class DockerApiError extends GantryError {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(`docker API: ${statusCode} ${message}`, 'GANTRY_ERR_DOCKER_API', 502);
    this.name = 'DockerApiError';
    this.statusCode = statusCode;
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const DEFAULT_ENDPOINT = 'unix:///var/run/docker.sock';

export class DockerClient {
  readonly endpoint: string;
  #agent: Agent;
  #origin: string;
  #timeout: number;
  #version: string | null = null;

  constructor(opts: DockerClientOptions = {}) {
    this.endpoint = opts.endpoint ?? DEFAULT_ENDPOINT;
    this.#timeout = opts.timeoutMs ?? 10_000;
    const ep = this.endpoint;
    if (ep.startsWith('unix://')) {
      this.#origin = 'http://docker';
      this.#agent = new (undici().Agent)({ connect: { socketPath: ep.slice('unix://'.length) } });
      return;
    }
    let url: URL;
    try {
      url = new URL(ep.replace(/^tcp:\/\//, opts.tls ? 'https://' : 'http://'));
    } catch {
      throw new GantryError(`docker endpoint ${JSON.stringify(ep)} is not unix://PATH or tcp://HOST:PORT`, 'GANTRY_ERR_CONFIG');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GantryError(`docker endpoint ${JSON.stringify(ep)} is not unix://PATH or tcp://HOST:PORT`, 'GANTRY_ERR_CONFIG');
    }
    this.#origin = url.origin;
    const tls = opts.tls;
    this.#agent = new (undici().Agent)({
      connect: tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.insecureSkipVerify !== true } : {},
      // HTTP/1.1: the event stream is one long response, as the daemon's own clients read it.
      allowH2: false,
    });
  }

  /** apiVersion is the negotiated version (after negotiate()), else the fallback. */
  get apiVersion(): string {
    return this.#version ?? FALLBACK_API_VERSION;
  }

  /** negotiate pings the daemon and picks min(daemon's API version, MAX_API_VERSION). It throws when the daemon is unreachable. */
  async negotiate(): Promise<string> {
    const res = await undici().request(`${this.#origin}/_ping`, { dispatcher: this.#agent, headersTimeout: this.#timeout, bodyTimeout: this.#timeout });
    await res.body.text();
    if (res.statusCode !== 200) throw new DockerApiError(res.statusCode, 'ping failed');
    let server = res.headers['api-version'];
    if (typeof server !== 'string') {
      try {
        const v = (await this.#get('/version', false)) as { ApiVersion?: string };
        server = v.ApiVersion;
      } catch {
        server = undefined;
      }
    }
    const v = typeof server === 'string' && /^\d+\.\d+$/.test(server) ? server : FALLBACK_API_VERSION;
    this.#version = compareVersions(v, MAX_API_VERSION) > 0 ? MAX_API_VERSION : v;
    return this.#version;
  }

  async #get(path: string, versioned = true): Promise<unknown> {
    const url = versioned ? `${this.#origin}/v${this.apiVersion}${path}` : `${this.#origin}${path}`;
    const res = await undici().request(url, { dispatcher: this.#agent, headersTimeout: this.#timeout, bodyTimeout: this.#timeout });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new DockerApiError(res.statusCode, errorMessage(text));
    return JSON.parse(text) as unknown;
  }

  version(): Promise<{ Version?: string; ApiVersion?: string }> {
    return this.#get('/version') as Promise<{ Version?: string; ApiVersion?: string }>;
  }

  info(): Promise<{ Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } }> {
    return this.#get('/info') as Promise<{ Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean } }>;
  }

  /** listContainers lists running containers (`all=false`), optionally filtered. */
  listContainers(filters?: Record<string, string[]>): Promise<ContainerSummary[]> {
    return this.#get(`/containers/json${query(filters)}`) as Promise<ContainerSummary[]>;
  }

  /** inspectContainer returns null when the container no longer exists. */
  async inspectContainer(id: string): Promise<ContainerInspect | null> {
    try {
      return (await this.#get(`/containers/${encodeURIComponent(id)}/json`)) as ContainerInspect;
    } catch (err) {
      if (err instanceof DockerApiError && err.statusCode === 404) return null;
      throw err;
    }
  }

  services(filters?: Record<string, string[]>): Promise<SwarmService[]> {
    return this.#get(`/services${query(filters)}`) as Promise<SwarmService[]>;
  }

  tasks(filters?: Record<string, string[]>): Promise<SwarmTask[]> {
    return this.#get(`/tasks${query(filters)}`) as Promise<SwarmTask[]>;
  }

  nodes(): Promise<SwarmNode[]> {
    return this.#get('/nodes') as Promise<SwarmNode[]>;
  }

  /**
   * events follows `/events` until the stream ends (resolves) or fails (rejects). `onOpen` runs once
   * the daemon has answered, so the caller can list after subscribing and miss nothing.
   */
  async events(filters: Record<string, string[]>, onEvent: (e: DockerEvent) => void, opts: { signal?: AbortSignal; onOpen?: () => void; onBadLine?: (line: string) => void } = {}): Promise<void> {
    const res = await undici().request(`${this.#origin}/v${this.apiVersion}/events${query(filters)}`, {
      dispatcher: this.#agent,
      signal: opts.signal,
      headersTimeout: this.#timeout,
      bodyTimeout: 0,
    });
    if (res.statusCode >= 300) throw new DockerApiError(res.statusCode, errorMessage(await res.body.text()));
    opts.onOpen?.();
    const parser = new NdjsonParser((line) => opts.onBadLine?.(line));
    for await (const chunk of res.body) {
      for (const e of parser.push(chunk as Buffer)) onEvent(e as DockerEvent);
    }
    for (const e of parser.end()) onEvent(e as DockerEvent);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** destroy drops open connections (the events stream) at once. */
  async destroy(): Promise<void> {
    await this.#agent.destroy();
  }
}

function query(filters?: Record<string, string[]>): string {
  if (!filters || Object.keys(filters).length === 0) return '';
  return `?filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

function errorMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: string }).message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: use the text
  }
  return text.trim().slice(0, 200);
}
