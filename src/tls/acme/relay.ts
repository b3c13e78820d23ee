/**
 * RelayStorage lets the primary of `--workers=N` be the only process that talks to the CA while
 * every worker answers the challenges: it wraps the resolver's storage and, whenever a challenge
 * answer is stored or withdrawn, hands it to `publish` (which pushes it to every worker and waits
 * for their acknowledgements) before the resolver tells the CA to validate. Everything else goes
 * straight to the wrapped storage (file or etcd), so persistence and the etcd lock are unchanged.
 */
import type { AcmeAccount, AcmeStorage, ChallengeKind, StoredCertificate } from './storage.js';

/** ChallengePublisher delivers a challenge answer (null: withdrawn) to every serving process. */
export type ChallengePublisher = (kind: ChallengeKind, key: string, value: string | null) => Promise<void>;

export interface PendingChallenge {
  kind: ChallengeKind;
  key: string;
  value: string;
}

export class RelayStorage implements AcmeStorage {
  readonly #inner: AcmeStorage;
  readonly #publish: () => ChallengePublisher | null;
  readonly #pending: Map<string, PendingChallenge>;

  /** `pending` is shared by every RelayStorage of a runtime: the answers a new worker must get. */
  constructor(inner: AcmeStorage, publish: () => ChallengePublisher | null, pending: Map<string, PendingChallenge>) {
    this.#inner = inner;
    this.#publish = publish;
    this.#pending = pending;
  }

  get kind(): string {
    return this.#inner.kind;
  }

  loadAccount(resolver: string): Promise<AcmeAccount | null> {
    return this.#inner.loadAccount(resolver);
  }

  saveAccount(resolver: string, account: AcmeAccount): Promise<void> {
    return this.#inner.saveAccount(resolver, account);
  }

  loadCertificates(resolver: string): Promise<StoredCertificate[]> {
    return this.#inner.loadCertificates(resolver);
  }

  saveCertificate(resolver: string, cert: StoredCertificate): Promise<void> {
    return this.#inner.saveCertificate(resolver, cert);
  }

  async putChallenge(kind: ChallengeKind, key: string, value: string): Promise<void> {
    await this.#inner.putChallenge(kind, key, value);
    this.#pending.set(`${kind}/${key}`, { kind, key, value });
    await this.#publish()?.(kind, key, value);
  }

  getChallenge(kind: ChallengeKind, key: string): Promise<string | null> {
    return this.#inner.getChallenge(kind, key);
  }

  async deleteChallenge(kind: ChallengeKind, key: string): Promise<void> {
    this.#pending.delete(`${kind}/${key}`);
    await Promise.all([this.#inner.deleteChallenge(kind, key), this.#publish()?.(kind, key, null)]);
  }

  withLock<T>(resolver: string, fn: () => Promise<T>): Promise<T> {
    return this.#inner.withLock(resolver, fn);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
