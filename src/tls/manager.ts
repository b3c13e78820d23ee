/**
 * TlsManager owns the certificates every TLS entrypoint serves: the files listed in the dynamic
 * configuration (`tls.certificates`, re-read on each snapshot), the certificates ACME resolvers
 * obtain, and the generated default. Each change builds a new CertificateStore and swaps it by
 * one assignment; a connection reads the store once, when its ClientHello arrives.
 */
import type tls from 'node:tls';
import type { TlsCertificateConfig } from '../config/dynamic/schema.js';
import type { TlsStoreConfig } from '../config/dynamic/transports.js';
import type { Logger } from '../observability/logger.js';
import { compileHttpRule } from '../router/index.js';
import type { MergedConfig } from '../watcher/merge.js';
import { BUILTIN_OPTIONS, compileTlsOptions, type CompiledTlsOptions } from './options.js';
import { loadCertificateFiles, parseCertificate, secureContextFor, type LoadedCertificate } from './certificate.js';
import { generateSelfSigned } from './selfsigned.js';
import { CertificateStore, type StoreEntry } from './store.js';

/** Options every served context gets: HTTP/1.1 only over TLS and nothing older than TLS 1.2. */
export interface CertificateInfo {
  cert: LoadedCertificate;
  source: 'file' | 'acme' | 'default';
  resolver?: string;
}

const BASE_CONTEXT: tls.SecureContextOptions = BUILTIN_OPTIONS.context;

/** Handshake is what a TLS connection is served with: a context and its options, or a refusal. */
export type Handshake = { context: tls.SecureContext; options: CompiledTlsOptions; refuse: null } | { context: null; options: null; refuse: string };

/** OptionsChoice is the options set a name uses, or why it has none that can be used. */
type OptionsChoice = CompiledTlsOptions | { error: string };

export class TlsManager {
  #store: CertificateStore;
  #logger: Logger;
  #cwd: string;
  #files: StoreEntry[] = [];
  readonly #acme = new Map<string, StoreEntry[]>();
  /** Contexts by PEM content, so an unchanged certificate is not rebuilt on every snapshot. */
  #contexts = new Map<string, StoreEntry>();
  #fileErrors = new Map<string, string>();
  readonly #listeners: Array<() => void> = [];
  /** Options by server name (from the routers' Host rules); the default for every other name. */
  #sniOptions = new Map<string, OptionsChoice>();
  #defaultOptions: OptionsChoice = BUILTIN_OPTIONS;
  /** Resolves an options name a router gives (for TCP routers' own `tls.options`). */
  #resolveOptions: (ref: string, provider: string) => OptionsChoice = () => BUILTIN_OPTIONS;
  #optionErrors = new Set<string>();
  /** Secure contexts per certificate and options set, built on first use. */
  #optionContexts = new WeakMap<StoreEntry, Map<string, tls.SecureContext>>();

  /** The certificate Gantry generated at start: the default unless `tls.stores.default` names another. */
  readonly #generated: StoreEntry;
  /** `tls.stores.default.defaultCertificate`, loaded; null when none is configured (or it failed). */
  #storeDefault: StoreEntry | null = null;
  /** `tls.stores.default.defaultGeneratedCert`: the ACME resolver and domain whose certificate is the default. */
  #generatedBy: { resolver: string; main: string } | null = null;
  #storeKey = '';

  private constructor(defaultEntry: StoreEntry, logger: Logger, cwd: string) {
    this.#generated = defaultEntry;
    this.#store = new CertificateStore([], defaultEntry);
    this.#logger = logger.child({ component: 'tls' });
    this.#cwd = cwd;
  }

  static async create(logger: Logger, cwd: string): Promise<TlsManager> {
    const pem = await generateSelfSigned();
    const cert = parseCertificate('default', pem.certPem, pem.keyPem);
    return new TlsManager({ cert, context: secureContextFor(cert, BASE_CONTEXT) }, logger, cwd);
  }

  get store(): CertificateStore {
    return this.#store;
  }

  /** select is the SNI lookup: exact, wildcard, then the default certificate. */
  select(servername: string): tls.SecureContext {
    return this.#store.select(servername);
  }

  /**
   * handshake chooses how to serve a server name: the certificate (exact, wildcard, default), the
   * TLS options its routers select (else `default`), and refuses when those options cannot be
   * used (a fail-closed choice: options asking for mTLS must never be served without it) or when
   * they are sniStrict and no certificate names the server.
   */
  handshake(servername: string, options: { ref: string; provider: string } | null = null): Handshake {
    const name = normalize(servername);
    // A TCP router that names its own options uses them, whatever the HTTP routers select for the name.
    const choice = options !== null ? this.#resolveOptions(options.ref, options.provider) : ((name === '' ? undefined : this.#sniOptions.get(name)) ?? this.#defaultOptions);
    if ('error' in choice) return { context: null, options: null, refuse: choice.error };
    const entry = name === '' ? null : this.#store.find(name);
    if (entry === null && choice.sniStrict) return { context: null, options: null, refuse: `sniStrict: no certificate for "${name}"` };
    const e = entry ?? this.#store.default;
    if (choice === BUILTIN_OPTIONS) return { context: e.context, options: choice, refuse: null };
    let byKey = this.#optionContexts.get(e);
    if (byKey === undefined) this.#optionContexts.set(e, (byKey = new Map()));
    let ctx = byKey.get(choice.key);
    if (ctx === undefined) {
      ctx = secureContextFor(e.cert, choice.context);
      byKey.set(choice.key, ctx);
    }
    return { context: ctx, options: choice, refuse: null };
  }

  /**
   * setOptions compiles `tls.options` and maps each name a router's Host rule gives to the options
   * it selects. A name two routers give different options gets `default`, with a warning (as
   * Traefik does). Errors are logged once, naming the option path.
   */
  setOptions(merged: MergedConfig): void {
    const compiled = new Map<string, OptionsChoice>();
    const errors = new Set<string>();
    const fail = (msg: string): { error: string } => {
      errors.add(msg);
      if (!this.#optionErrors.has(msg)) this.#logger.error('tls options rejected; connections that use them are refused', { error: msg });
      return { error: msg };
    };
    for (const el of merged.tls.options.values()) {
      if (el.config === null) {
        compiled.set(el.name, fail(`tls.options.${el.name}: ${el.errors.join('; ')}`));
        continue;
      }
      try {
        compiled.set(el.name, compileTlsOptions(el.name, el.config, this.#cwd));
      } catch (err) {
        compiled.set(el.name, fail((err as Error).message));
      }
    }
    const bare = (n: string) => n.slice(0, n.lastIndexOf('@'));
    const defaults = [...compiled.keys()].filter((n) => bare(n) === 'default').sort((a, b) => Number(b.endsWith('@file')) - Number(a.endsWith('@file')));
    this.#defaultOptions = defaults.length === 0 ? BUILTIN_OPTIONS : compiled.get(defaults[0]!)!;
    /** resolve finds what a router of `provider` names: qualified exactly, else its own provider's, else the only one of that name. */
    const resolve = (ref: string, provider: string): OptionsChoice => {
      if (ref === 'default' || bare(ref) === 'default') return this.#defaultOptions;
      const hit = ref.includes('@') ? compiled.get(ref) : (compiled.get(`${ref}@${provider}`) ?? only([...compiled.keys()].filter((n) => bare(n) === ref)));
      return hit ?? fail(`tls options "${ref}" (named by a router of provider ${provider}) do not exist`);
      function only(names: string[]): OptionsChoice | undefined {
        return names.length === 1 ? compiled.get(names[0]!) : undefined;
      }
    };
    this.#resolveOptions = resolve;
    for (const el of merged.tcp.routers.values()) {
      const ref = el.config?.tls?.options;
      if (ref !== undefined && el.config?.tls?.passthrough !== true) resolve(ref, el.provider); // logs a missing one once
    }
    const sni = new Map<string, OptionsChoice>();
    const conflicts = new Set<string>();
    for (const el of merged.http.routers.values()) {
      const r = el.config;
      if (r === null || r.tls === undefined || r.tls.options === undefined) continue;
      let hosts: readonly string[] | null = null;
      try {
        hosts = compileHttpRule(r.rule).hosts;
      } catch {
        continue; // the rule's error is the watcher's to report
      }
      const choice = resolve(r.tls.options, el.provider);
      for (const h of hosts ?? []) {
        const host = normalize(h);
        const had = sni.get(host);
        if (had !== undefined && had !== choice) conflicts.add(host);
        sni.set(host, choice);
      }
    }
    for (const host of conflicts) {
      sni.delete(host);
      const msg = `routers for ${host} select different tls options; default applies`;
      if (!this.#optionErrors.has(msg)) this.#logger.warn('tls options conflict', { host, error: msg });
      errors.add(msg);
    }
    this.#optionErrors = errors;
    this.#sniOptions = sni;
  }

  /** errors are the certificate files that could not be used, by file (for the API and tests). */
  get errors(): ReadonlyMap<string, string> {
    return this.#fileErrors;
  }

  /**
   * setFiles loads the `tls.certificates` of a new snapshot. A file that cannot be read, is not a
   * certificate or whose key does not match is skipped with an error naming it; the others serve.
   */
  setFiles(certs: ReadonlyArray<{ provider: string; config: TlsCertificateConfig }>): void {
    const entries: StoreEntry[] = [];
    const errors = new Map<string, string>();
    for (const { provider, config } of certs) {
      try {
        entries.push(this.#entry(loadCertificateFiles(config.certFile, config.keyFile, this.#cwd)));
      } catch (err) {
        const msg = (err as Error).message;
        errors.set(config.certFile, msg);
        if (this.#fileErrors.get(config.certFile) !== msg) this.#logger.error('tls certificate rejected', { provider, certFile: config.certFile, keyFile: config.keyFile, error: msg });
      }
    }
    for (const e of entries) {
      if (!this.#files.includes(e)) this.#logger.info('tls certificate loaded', { source: e.cert.source, names: e.cert.names, notAfter: e.cert.notAfter.toISOString() });
    }
    this.#fileErrors = errors;
    this.#files = entries;
    this.#rebuild();
  }

  /** setAcme replaces the certificates of one ACME resolver. */
  setAcme(resolver: string, certs: LoadedCertificate[]): void {
    this.#acme.set(resolver, certs.map((c) => this.#entry(c)));
    this.#rebuild();
  }

  /** acmeResolvers are the resolvers that have certificates in the store. */
  acmeCertificates(): ReadonlyMap<string, readonly LoadedCertificate[]> {
    const out = new Map<string, LoadedCertificate[]>();
    for (const [r, list] of this.#acme) out.set(r, list.map((e) => e.cert));
    return out;
  }

  /** list describes every certificate the store holds, with where it came from (for the API and metrics). */
  /**
   * setStore applies `tls.stores.default` (Traefik's TLS store): its defaultCertificate replaces
   * the generated one for names no certificate covers; with defaultGeneratedCert, the certificate
   * an ACME resolver obtains for that domain does, once it has it. A file that cannot be used is
   * logged with the option path, and the generated certificate keeps serving.
   */
  setStore(store: { provider: string; config: TlsStoreConfig } | null): void {
    const key = JSON.stringify(store);
    if (key === this.#storeKey) return;
    this.#storeKey = key;
    this.#storeDefault = null;
    this.#fileErrors.delete('tls.stores.default.defaultCertificate');
    const dc = store?.config.defaultCertificate;
    if (dc !== undefined) {
      try {
        const cert = dc.certFile.includes('-----BEGIN') ? parseCertificate('tls.stores.default', dc.certFile, dc.keyFile) : loadCertificateFiles(dc.certFile, dc.keyFile, this.#cwd);
        this.#storeDefault = this.#entry(cert);
        this.#logger.info('tls default certificate loaded', { provider: store!.provider, names: cert.names, notAfter: cert.notAfter.toISOString() });
      } catch (err) {
        const msg = `tls.stores.default.defaultCertificate: ${(err as Error).message}`;
        this.#fileErrors.set('tls.stores.default.defaultCertificate', msg);
        this.#logger.error('tls default certificate rejected; the generated one serves', { provider: store!.provider, error: msg });
      }
    }
    const gen = store?.config.defaultGeneratedCert;
    this.#generatedBy = gen === undefined ? null : { resolver: gen.resolver, main: gen.domain.main.toLowerCase() };
    this.#rebuild();
  }

  /** #defaultEntry is what names no certificate covers get: store certificate, ACME-generated one, else Gantry's own. */
  #defaultEntry(): StoreEntry {
    if (this.#storeDefault !== null) return this.#storeDefault;
    const g = this.#generatedBy;
    if (g !== null) {
      const hit = (this.#acme.get(g.resolver) ?? []).filter((e) => e.cert.names.includes(g.main)).sort((a, b) => b.cert.notAfter.getTime() - a.cert.notAfter.getTime())[0];
      if (hit !== undefined) return hit;
    }
    return this.#generated;
  }

  list(): CertificateInfo[] {
    const out: CertificateInfo[] = this.#files.map((e) => ({ cert: e.cert, source: 'file' as const }));
    for (const [resolver, list] of this.#acme) for (const e of list) out.push({ cert: e.cert, source: 'acme', resolver });
    out.push({ cert: this.#store.default.cert, source: 'default' });
    return out;
  }

  /** onChange calls `fn` after every rebuild of the store (a file, ACME or options change). */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  #entry(cert: LoadedCertificate): StoreEntry {
    const key = cert.certPem + '\0' + cert.keyPem;
    let e = this.#contexts.get(key);
    if (e === undefined) {
      e = { cert, context: secureContextFor(cert, BASE_CONTEXT) };
      this.#contexts.set(key, e);
    }
    return e;
  }

  #rebuild(): void {
    // For a name several certificates cover, the store keeps the one that expires last (a renewal wins).
    const all = [...this.#files];
    for (const list of this.#acme.values()) all.push(...list);
    this.#store = new CertificateStore(all, this.#defaultEntry());
    const live = new Set(all);
    if (this.#storeDefault !== null) live.add(this.#storeDefault);
    for (const [k, e] of this.#contexts) if (!live.has(e)) this.#contexts.delete(k);
    for (const fn of this.#listeners) fn();
  }
}

function normalize(servername: string): string {
  const n = servername.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}
