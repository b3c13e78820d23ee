/**
 * UpstreamServer is the state of one backend server URL that outlives configuration snapshots
 * (Caddy's hosts.go habit): in-flight count and health survive a reload. Servers are shared through
 * the UpstreamRegistry, keyed by URL, and reference-counted by the snapshots that use them.
 */
/** How many response times the leasttime strategy averages per server (Traefik's sampleSize). */
export const RESPONSE_SAMPLES = 100;

export class UpstreamServer {
  /** The server URL as configured (`http://127.0.0.1:9001`). */
  readonly url: string;
  /** `protocol//host:port`: the connection pool key. */
  readonly origin: string;
  /** Host (and port) to send as Host when passHostHeader is false. */
  readonly hostHeader: string;
  /** Path prefix of the URL ('' for none), prepended to the forwarded path. */
  readonly basePath: string;
  /** Requests currently being forwarded to this server (all snapshots together). */
  inFlight: number;
  /** Result of the active health check; true until a check says otherwise. */
  activeHealthy: boolean;
  /** Passive health: consecutive failures and the time (ms, Date.now()) until which the server is ejected. */
  consecutiveFailures: number;
  ejectedUntil: number;
  /** How many times in a row it was ejected; the back-off grows with it. */
  ejections: number;
  /** Set while the server is being drained (e.g. its container is stopping): no new requests. */
  draining: boolean;
  /** Snapshots that currently reference this server. */
  refs: number;
  /**
   * Time to first response byte of the last RESPONSE_SAMPLES answers, in ms, for the leasttime
   * strategy (Traefik keeps the same window); null until a leasttime service measures it.
   */
  #ttfb: Float64Array | null;
  #ttfbNext: number;
  #ttfbCount: number;
  #ttfbSum: number;

  constructor(url: string) {
    const u = new URL(url);
    this.url = url;
    this.origin = `${u.protocol}//${u.host}`;
    this.hostHeader = u.host;
    this.basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
    this.inFlight = 0;
    this.activeHealthy = true;
    this.consecutiveFailures = 0;
    this.ejectedUntil = 0;
    this.ejections = 0;
    this.draining = false;
    this.refs = 0;
    this.#ttfb = null;
    this.#ttfbNext = 0;
    this.#ttfbCount = 0;
    this.#ttfbSum = 0;
  }

  /** recordResponseTime adds one time-to-first-byte sample (ms). */
  recordResponseTime(ms: number): void {
    const ring = (this.#ttfb ??= new Float64Array(RESPONSE_SAMPLES));
    if (this.#ttfbCount < RESPONSE_SAMPLES) this.#ttfbCount++;
    else this.#ttfbSum -= ring[this.#ttfbNext]!;
    ring[this.#ttfbNext] = ms;
    this.#ttfbSum += ms;
    this.#ttfbNext = (this.#ttfbNext + 1) % RESPONSE_SAMPLES;
  }

  /** averageResponseTime is the mean of the samples (ms), 0 with none: an unmeasured server is tried first. */
  averageResponseTime(): number {
    return this.#ttfbCount === 0 ? 0 : this.#ttfbSum / this.#ttfbCount;
  }

  /** available: healthy by the active check, not ejected by passive checks, not draining. */
  available(now: number): boolean {
    return this.activeHealthy && !this.draining && this.ejectedUntil <= now;
  }
}
