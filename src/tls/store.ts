/**
 * CertificateStore picks the certificate for a TLS server name: an exact name first, then a
 * wildcard one level up (`*.example.com` covers `a.example.com`, not `a.b.example.com`, RFC 6125
 * §6.4.3), then the default certificate. A store is immutable; the manager builds a new one and
 * swaps it, so a renewed certificate serves new connections while open ones keep theirs.
 */
import type tls from 'node:tls';
import type { LoadedCertificate } from './certificate.js';

export interface StoreEntry {
  cert: LoadedCertificate;
  context: tls.SecureContext;
}

export class CertificateStore {
  readonly #exact = new Map<string, StoreEntry>();
  readonly #wildcard = new Map<string, StoreEntry>();
  readonly default: StoreEntry;
  readonly entries: readonly StoreEntry[];

  /** For a name several entries cover, the one that expires last wins (so a renewal replaces its predecessor). */
  constructor(entries: StoreEntry[], defaultEntry: StoreEntry) {
    this.default = defaultEntry;
    this.entries = entries;
    for (const e of entries) {
      for (const n of e.cert.names) {
        const map = n.startsWith('*.') ? this.#wildcard : this.#exact;
        const key = n.startsWith('*.') ? n.slice(2) : n;
        const had = map.get(key);
        if (had === undefined || had.cert.notAfter < e.cert.notAfter) map.set(key, e);
      }
    }
  }

  /** find returns the entry for a server name, or null when only the default would do. */
  find(servername: string): StoreEntry | null {
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const hit = this.#exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const w = this.#wildcard.get(name.slice(dot + 1));
      if (w !== undefined) return w;
    }
    return null;
  }

  /** select returns the secure context to serve for a server name ('' when the client sent none). */
  select(servername: string): tls.SecureContext {
    if (servername === '') return this.default.context;
    return (this.find(servername) ?? this.default).context;
  }
}
