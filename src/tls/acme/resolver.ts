/**
 * AcmeResolver is one `certificatesResolvers.<name>.acme`: it watches snapshots for the names
 * routers ask it to cover, obtains missing certificates one order at a time under the storage's
 * lock (so replicas sharing etcd make one order), renews those due within the renewal window, and
 * hands every certificate to the TlsManager, which swaps it in for new connections.
 * Failures back off exponentially with jitter (and at least the CA's Retry-After); never a loop.
 */
import type acmeClient from 'acme-client';
import type { AcmeConfig } from '../../config/static/schema.js';
import type { Logger } from '../../observability/logger.js';
import { compileHttpRule, compileTcpRule } from '../../router/index.js';
import type { Snapshot } from '../../watcher/snapshot.js';
import { parseCertificate, type LoadedCertificate } from '../certificate.js';
import type { TlsManager } from '../manager.js';
import { renewalWindow } from './renewal.js';
import type { AcmeStorage } from './storage.js';

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 3_600_000;

let lastRetryAfter = { at: 0, ms: 0 };
let intercepting = false;

type AcmeClientLib = typeof acmeClient;
let acmeLoading: Promise<AcmeClientLib> | null = null;

/**
 * acme-client (with axios, node-forge and the @peculiar ASN.1 stack: ~230 modules) is loaded on
 * the first order only, so a proxy that has certificates in storage, or no resolver, never pays it.
 */
function loadAcme(): Promise<AcmeClientLib> {
  acmeLoading ??= import('acme-client').then((m) => {
    setupAxios(m.default);
    return m.default;
  });
  return acmeLoading;
}

/**
 * acme-client's own HTTP retries wait up to 75 s and hide the cause; Gantry retries whole orders
 * instead, with its own back-off, and remembers the CA's Retry-After to honour it.
 */
function setupAxios(acme: AcmeClientLib): void {
  if (intercepting) return;
  intercepting = true;
  (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
  const note = (headers: Record<string, unknown> | undefined): void => {
    const v = headers?.['retry-after'];
    if (typeof v !== 'string') return;
    const secs = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now();
    if (secs > 0) lastRetryAfter = { at: Date.now(), ms: Math.min(secs, BACKOFF_MAX_MS * 24) };
  };
  // Runs before acme-client's own interceptor, whose network-error path (no response) ends in
  // "Cannot read properties of undefined (reading 'config')" and loses the cause (acme-client 5.4).
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers;
  handlers.unshift({
    fulfilled: (r: { headers?: Record<string, unknown> }) => {
      note(r.headers);
      return r;
    },
    rejected: (e: Error & { code?: string; response?: { headers?: Record<string, unknown> }; config?: { url?: string } }) => {
      if (e.response !== undefined) {
        note(e.response.headers);
        return Promise.reject(e);
      }
      const code = e.code !== undefined && !e.message.includes(e.code) ? ` (${e.code})` : '';
      return Promise.reject(new Error(`${e.message}${code}${e.config?.url ? ` requesting ${e.config.url}` : ''}`, { cause: e }));
    },
    synchronous: false,
    runWhen: null,
  });
}

export interface ResolverDeps {
  storage: AcmeStorage;
  certificates: TlsManager;
  logger: Logger;
  /** The static certResolver of each entrypoint, for routers with `tls: {}` but no resolver of their own. */
  entrypointResolvers: ReadonlyMap<string, string>;
}

interface Want {
  domains: string[];
  failures: number;
  notBefore: number;
  /** Set by the renewal check when its certificate is due; cleared once renewed. */
  renew: boolean;
}

export class AcmeResolver {
  readonly name: string;
  readonly #cfg: AcmeConfig;
  readonly #d: ResolverDeps;
  readonly #log: Logger;
  #certs: LoadedCertificate[] = [];
  /** Domain sets the routers want, keyed by their sorted names. */
  #wants = new Map<string, Want>();
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #client: acmeClient.Client | null = null;

  constructor(name: string, cfg: AcmeConfig, deps: ResolverDeps) {
    this.name = name;
    this.#cfg = cfg;
    this.#d = deps;
    this.#log = deps.logger.child({ resolver: name });
  }

  get renewBeforeMs(): number {
    return this.#cfg.renewBefore ?? renewalWindow(this.#cfg.certificatesDuration).renewBeforeMs;
  }

  async start(): Promise<void> {
    await this.#reload('start');
    this.#renewTimer = setInterval(() => this.#checkRenewals(), this.#cfg.renewCheckInterval ?? renewalWindow(this.#cfg.certificatesDuration).checkEveryMs);
    this.#renewTimer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
  }

  /** onSnapshot collects the names routers want from this resolver and orders what is missing. */
  onSnapshot(s: Snapshot): void {
    const wants = new Map<string, Want>();
    for (const el of s.merged.http.routers.values()) {
      const r = el.config;
      if (r === null || r.tls === undefined) continue;
      const resolver = r.tls.certResolver ?? firstResolver(r.entryPoints ?? [...this.#d.entrypointResolvers.keys()], this.#d.entrypointResolvers);
      if (resolver !== this.name) continue;
      const sets: string[][] = [];
      if (r.tls.domains !== undefined && r.tls.domains.length > 0) {
        for (const d of r.tls.domains) sets.push([d.main, ...(d.sans ?? [])]);
      } else {
        try {
          const hosts = compileHttpRule(r.rule).hosts;
          if (hosts !== null && hosts.length > 0) sets.push([...hosts]);
        } catch {
          // the router's rule error is reported by the watcher
        }
      }
      for (const set of sets) {
        const domains = [...new Set(set.map((d) => d.toLowerCase()))];
        const key = domains.join(',');
        wants.set(key, this.#wants.get(key) ?? { domains, failures: 0, notBefore: 0, renew: false });
      }
    }
    // TCP routers that terminate TLS with this resolver: their domains, else their HostSNI names.
    for (const el of s.merged.tcp.routers.values()) {
      const r = el.config;
      if (r === null || r.tls === undefined || r.tls.passthrough === true || r.tls.certResolver !== this.name) continue;
      const sets: string[][] = [];
      if (r.tls.domains !== undefined && r.tls.domains.length > 0) for (const d of r.tls.domains) sets.push([d.main, ...(d.sans ?? [])]);
      else {
        try {
          const hosts = compileTcpRule(r.rule).hosts;
          if (hosts !== null && hosts.length > 0) sets.push([...hosts]);
        } catch {
          // the router's rule error is reported by the watcher
        }
      }
      for (const set of sets) {
        const domains = [...new Set(set.map((d) => d.toLowerCase()))];
        wants.set(domains.join(','), this.#wants.get(domains.join(',')) ?? { domains, failures: 0, notBefore: 0, renew: false });
      }
    }
    // tls.stores.default.defaultGeneratedCert: this resolver also obtains the default certificate.
    const gen = s.merged.tls.store?.config.defaultGeneratedCert;
    if (gen !== undefined && gen.resolver === this.name) {
      const domains = [...new Set([gen.domain.main, ...(gen.domain.sans ?? [])].map((d) => d.toLowerCase()))];
      wants.set(domains.join(','), this.#wants.get(domains.join(',')) ?? { domains, failures: 0, notBefore: 0, renew: false });
    }
    this.#wants = wants;
    this.#kick();
  }

  #covered(domains: string[]): LoadedCertificate | null {
    return this.#certs.find((c) => domains.every((d) => c.names.includes(d))) ?? null;
  }

  #due(c: LoadedCertificate): boolean {
    return c.notAfter.getTime() - Date.now() < this.renewBeforeMs;
  }

  #checkRenewals(): void {
    void this.#reload('renewal check').then(() => {
      for (const w of this.#wants.values()) {
        const c = this.#covered(w.domains);
        if (c !== null && this.#due(c)) w.renew = true;
      }
      this.#kick();
    });
  }

  /** #reload reads this resolver's certificates from storage (another replica may have renewed them). */
  async #reload(why: string): Promise<void> {
    let stored;
    try {
      stored = await this.#d.storage.loadCertificates(this.name);
    } catch (err) {
      this.#log.error('acme: cannot read storage', { storage: this.#d.storage.kind, error: errorText(err) });
      return;
    }
    const certs: LoadedCertificate[] = [];
    for (const s of stored) {
      try {
        certs.push(parseCertificate(`acme:${this.name}:${s.domains[0]}`, s.certPem, s.keyPem));
      } catch (err) {
        this.#log.error('acme: stored certificate is unusable', { domains: s.domains, error: errorText(err) });
      }
    }
    const before = new Set(this.#certs.map((c) => c.fingerprint));
    for (const c of certs) {
      if (!before.has(c.fingerprint)) this.#log.info('acme: certificate loaded from storage', { domains: c.names, notAfter: c.notAfter.toISOString(), why });
    }
    this.#certs = certs;
    this.#d.certificates.setAcme(this.name, certs);
  }

  #kick(): void {
    if (this.#running || this.#closed) return;
    const now = Date.now();
    let next = Infinity;
    let job: Want | null = null;
    for (const w of this.#wants.values()) {
      const c = this.#covered(w.domains);
      if (c !== null && !w.renew) continue;
      if (w.notBefore > now) {
        next = Math.min(next, w.notBefore);
        continue;
      }
      job = w;
      break;
    }
    if (job === null) {
      if (next !== Infinity) this.#schedule(next - now);
      return;
    }
    this.#running = true;
    void this.#obtain(job).finally(() => {
      this.#running = false;
      this.#kick();
    });
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#kick();
    }, ms);
    this.#timer.unref();
  }

  async #obtain(w: Want): Promise<void> {
    const started = Date.now();
    try {
      await this.#d.storage.withLock(this.name, async () => {
        // Another replica (or an earlier run) may have done it while we waited for the lock.
        await this.#reload('lock acquired');
        const have = this.#covered(w.domains);
        if (have !== null && !(w.renew && this.#due(have))) return;
        const cert = await this.#order(w.domains, have !== null);
        await this.#d.storage.saveCertificate(this.name, { domains: w.domains, certPem: cert.certPem, keyPem: cert.keyPem });
        this.#certs = [...this.#certs.filter((c) => c !== have), cert];
        this.#d.certificates.setAcme(this.name, this.#certs);
        this.#log.info(have === null ? 'acme: certificate obtained' : 'acme: certificate renewed', { domains: w.domains, notAfter: cert.notAfter.toISOString(), ms: Date.now() - started });
      });
      w.failures = 0;
      w.notBefore = 0;
      w.renew = false;
    } catch (err) {
      w.failures++;
      const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (w.failures - 1));
      let wait = Math.round(exp * (0.75 + Math.random() * 0.5));
      if (lastRetryAfter.at >= started) wait = Math.max(wait, lastRetryAfter.ms);
      w.notBefore = Date.now() + wait;
      this.#log.error('acme: certificate order failed', { domains: w.domains, attempt: w.failures, retryInMs: wait, caServer: this.#cfg.caServer, error: errorText(err) });
    }
  }

  async #client_(): Promise<acmeClient.Client> {
    if (this.#client !== null) return this.#client;
    const acme = await loadAcme();
    let account = await this.#d.storage.loadAccount(this.name);
    if (account === null) {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      account = { email: this.#cfg.email ?? '', keyPem: key.toString(), url: null };
    }
    const eab = this.#cfg.eab;
    const client = new acme.Client({
      directoryUrl: this.#cfg.caServer, accountKey: account.keyPem, accountUrl: account.url ?? undefined, backoffMin: 250, backoffMax: 5000, backoffAttempts: 20,
      // The binding is sent with the account's creation only (acme-client signs it with the MAC key).
      ...(eab !== null ? { externalAccountBinding: { kid: eab.kid, hmacKey: eab.hmacEncoded } } : {}),
    });
    if (account.url === null) {
      try {
        await client.createAccount({ termsOfServiceAgreed: true, ...(account.email ? { contact: [`mailto:${account.email}`] } : {}) });
      } catch (err) {
        throw this.#accountError(err);
      }
      account.url = client.getAccountUrl();
      await this.#d.storage.saveAccount(this.name, account);
      this.#log.info('acme: account registered', { email: account.email, url: account.url });
    }
    this.#client = client;
    return client;
  }

  /** #accountError names the eab options when the CA refused an account for want of (a good) External Account Binding. */
  #accountError(err: unknown): unknown {
    const text = errorText(err);
    const at = `certificatesResolvers.${this.name}.acme.eab`;
    // Pebble and Boulder word it "externalAccountBinding field", "external account binding JWS", or name the unknown 'kid'.
    if (/external ?account/i.test(text) || (this.#cfg.eab !== null && /\bkid\b/.test(text))) {
      return new Error(this.#cfg.eab === null
        ? `${at}: the CA requires External Account Binding (${text}); set ${at}.kid and ${at}.hmacEncoded to the key ID and MAC key of your account at the CA`
        : `${at}: the CA refused the External Account Binding (${text}); check ${at}.kid and ${at}.hmacEncoded`, { cause: err });
    }
    return err;
  }

  async #order(domains: string[], renewal: boolean): Promise<LoadedCertificate> {
    const client = await this.#client_();
    const acme = await loadAcme();
    const type = this.#cfg.httpChallenge !== null ? 'http-01' : 'tls-alpn-01';
    this.#log.info('acme: ordering certificate', { domains, challenge: type, renewal });
    const order = await client.createOrder({ identifiers: domains.map((d) => ({ type: 'dns', value: d })) });
    const authzs = await client.getAuthorizations(order);
    const st = this.#d.storage;
    for (const authz of authzs) {
      if (authz.status === 'valid') continue;
      const ch = authz.challenges.find((c) => c.type === type);
      if (ch === undefined) throw new Error(`the CA offers no ${type} challenge for ${authz.identifier.value}`);
      const keyAuth = await client.getChallengeKeyAuthorization(ch);
      const domain = authz.identifier.value;
      const ckey = type === 'http-01' ? (ch as { token: string }).token : domain;
      if (type === 'http-01') await st.putChallenge('http-01', ckey, keyAuth);
      else {
        const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuth);
        await st.putChallenge('tls-alpn-01', ckey, JSON.stringify({ certPem: cert.toString(), keyPem: key.toString() }));
      }
      try {
        await client.completeChallenge(ch);
        await client.waitForValidStatus(ch);
      } finally {
        await st.deleteChallenge(type, ckey).catch(() => {});
      }
    }
    const key = await privateKey(this.#cfg.keyType);
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0]!, altNames: domains }, key);
    const finalized = await client.finalizeOrder(order, csr);
    const pem = await client.getCertificate(finalized, this.#cfg.preferredChain);
    return parseCertificate(`acme:${this.name}:${domains[0]}`, pem, key.toString());
  }
}

function firstResolver(eps: readonly string[], m: ReadonlyMap<string, string>): string | undefined {
  for (const e of eps) {
    const r = m.get(e);
    if (r !== undefined) return r;
  }
  return undefined;
}

async function privateKey(type: AcmeConfig['keyType']): Promise<Buffer> {
  const acme = await loadAcme();
  switch (type) {
    case 'EC384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'RSA2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'RSA4096':
      return acme.crypto.createPrivateRsaKey(4096);
    case 'RSA8192':
      return acme.crypto.createPrivateRsaKey(8192);
    default:
      return acme.crypto.createPrivateEcdsaKey('P-256');
  }
}

/** errorText names the cause: axios hides `connect ECONNREFUSED` one level down. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  const cause = (err as { cause?: unknown }).cause;
  let s = err.message;
  if (code !== undefined && !s.includes(code)) s += ` (${code})`;
  if (cause instanceof Error && !s.includes(cause.message)) s += `: ${cause.message}`;
  return s;
}
