/**
 * TlsManager owns the certificates every TLS entrypoint serves: the files listed in the dynamic
 * configuration (`tls.certificates`, re-read on each snapshot), the certificates ACME resolvers
 * obtain, and the generated default. Each change builds a new CertificateStore and swaps it by
 * one assignment; a connection reads the store once, when its ClientHello arrives.
 */
import type tls from 'node:tls';
import type { TlsCertificateConfig } from '../config/dynamic/schema.js';
import type { Logger } from '../observability/logger.js';
import { loadCertificateFiles, parseCertificate, secureContextFor, type LoadedCertificate } from './certificate.js';
import { generateSelfSigned } from './selfsigned.js';
import { CertificateStore, type StoreEntry } from './store.js';

/** Options every served context gets: HTTP/1.1 only over TLS and nothing older than TLS 1.2. */
const BASE_CONTEXT: tls.SecureContextOptions = { minVersion: 'TLSv1.2' };

export class TlsManager {
  #store: CertificateStore;
  #logger: Logger;
  #cwd: string;
  #files: StoreEntry[] = [];
  readonly #acme = new Map<string, StoreEntry[]>();
  /** Contexts by PEM content, so an unchanged certificate is not rebuilt on every snapshot. */
  #contexts = new Map<string, StoreEntry>();
  #fileErrors = new Map<string, string>();

  private constructor(defaultEntry: StoreEntry, logger: Logger, cwd: string) {
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
    this.#store = new CertificateStore(all, this.#store.default);
    const live = new Set(all);
    for (const [k, e] of this.#contexts) if (!live.has(e)) this.#contexts.delete(k);
  }
}
