/**
 * EtcdStorage shares ACME state between Gantry replicas (storage: etcd). Keys live beside the
 * dynamic configuration, not under it (`<rootKey>.acme/...`), so the etcd provider never reads
 * them as routes. The lock is a key bound to a lease: a replica that dies mid-order loses it when
 * the lease expires, and the next one takes over.
 */
import { randomUUID } from 'node:crypto';
import { EtcdClient, type EtcdClientOptions } from '../../providers/etcd/client.js';
import type { AcmeAccount, AcmeStorage, ChallengeKind, StoredCertificate } from './storage.js';

const LOCK_TTL_S = 15;
/** How often a replica waiting for the lock checks again (with jitter): never a tight loop. */
const LOCK_POLL_MS = 500;

export class EtcdStorage implements AcmeStorage {
  readonly kind = 'etcd';
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #owner = randomUUID();

  /** `client` are the options of providers.etcd (options.ts): the same endpoints, TLS and user. */
  constructor(client: EtcdClientOptions, rootKey: string) {
    this.#client = new EtcdClient(client);
    this.#prefix = `${rootKey}.acme/`;
  }

  async loadAccount(resolver: string): Promise<AcmeAccount | null> {
    const kv = await this.#client.get(`${this.#prefix}${resolver}/account`);
    return kv === undefined ? null : (JSON.parse(kv.value) as AcmeAccount);
  }

  async saveAccount(resolver: string, account: AcmeAccount): Promise<void> {
    await this.#client.put(`${this.#prefix}${resolver}/account`, JSON.stringify(account));
  }

  async loadCertificates(resolver: string): Promise<StoredCertificate[]> {
    const r = await this.#client.getPrefix(`${this.#prefix}${resolver}/certs/`);
    return r.kvs.map((kv) => JSON.parse(kv.value) as StoredCertificate);
  }

  async saveCertificate(resolver: string, cert: StoredCertificate): Promise<void> {
    await this.#client.put(`${this.#prefix}${resolver}/certs/${cert.domains[0]}`, JSON.stringify(cert));
  }

  async putChallenge(kind: ChallengeKind, key: string, value: string): Promise<void> {
    await this.#client.put(`${this.#prefix}challenges/${kind}/${key}`, value);
  }

  async getChallenge(kind: ChallengeKind, key: string): Promise<string | null> {
    const kv = await this.#client.get(`${this.#prefix}challenges/${kind}/${key}`);
    return kv === undefined ? null : kv.value;
  }

  async deleteChallenge(kind: ChallengeKind, key: string): Promise<void> {
    await this.#client.delete(`${this.#prefix}challenges/${kind}/${key}`);
  }

  async withLock<T>(resolver: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.#prefix}${resolver}/lock`;
    const lease = await this.#client.grantLease(LOCK_TTL_S);
    const keep = this.#client.keepAlive(lease.id, { ttlSeconds: LOCK_TTL_S });
    try {
      while (!(await this.#client.createIfAbsent(key, this.#owner, { lease: lease.id }))) {
        await new Promise((r) => setTimeout(r, LOCK_POLL_MS * (0.5 + Math.random())));
      }
      return await fn();
    } finally {
      keep.stop();
      await this.#client.revokeLease(lease.id).catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
