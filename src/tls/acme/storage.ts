/**
 * Where ACME state lives: the account (key and registration URL) and the certificates of each
 * resolver, the pending challenge answers, and the lock that lets one Gantry talk to the CA at a
 * time. FileStorage is one JSON file (mode 0600) in the shape of Traefik's acme.json; EtcdStorage
 * (storage: etcd) shares all of it between replicas.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface AcmeAccount {
  email: string;
  keyPem: string;
  url: string | null;
}

export interface StoredCertificate {
  domains: string[];
  certPem: string;
  keyPem: string;
}

export type ChallengeKind = 'http-01' | 'tls-alpn-01';

export interface AcmeStorage {
  readonly kind: string;
  loadAccount(resolver: string): Promise<AcmeAccount | null>;
  saveAccount(resolver: string, account: AcmeAccount): Promise<void>;
  loadCertificates(resolver: string): Promise<StoredCertificate[]>;
  /** saveCertificate replaces the certificate with the same first domain. */
  saveCertificate(resolver: string, cert: StoredCertificate): Promise<void>;
  /** Challenge answers: an HTTP-01 token's key authorization, a TLS-ALPN-01 domain's certificate. */
  putChallenge(kind: ChallengeKind, key: string, value: string): Promise<void>;
  getChallenge(kind: ChallengeKind, key: string): Promise<string | null>;
  deleteChallenge(kind: ChallengeKind, key: string): Promise<void>;
  /** withLock runs fn while no other holder (process or replica) runs one for this resolver. */
  withLock<T>(resolver: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface FileResolver {
  Account?: { Email: string; PrivateKey: string; Registration: { uri: string | null } };
  Certificates?: Array<{ domain: { main: string; sans?: string[] }; certificate: string; key: string; Store: string }>;
}

/** FileStorage keeps Traefik's acme.json layout (PEMs base64-encoded), written atomically with mode 0600. */
export class FileStorage implements AcmeStorage {
  readonly kind = 'file';
  readonly file: string;
  readonly #challenges = new Map<string, string>();
  #lock: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  #read(): Record<string, FileResolver> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (text.trim() === '') return {};
    return JSON.parse(text) as Record<string, FileResolver>;
  }

  #write(data: Record<string, FileResolver>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(data, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    fs.chmodSync(this.file, 0o600);
  }

  async loadAccount(resolver: string): Promise<AcmeAccount | null> {
    const a = this.#read()[resolver]?.Account;
    return a === undefined ? null : { email: a.Email, keyPem: b64d(a.PrivateKey), url: a.Registration.uri };
  }

  async saveAccount(resolver: string, account: AcmeAccount): Promise<void> {
    const data = this.#read();
    const r = (data[resolver] ??= {});
    r.Account = { Email: account.email, PrivateKey: b64(account.keyPem), Registration: { uri: account.url } };
    this.#write(data);
  }

  async loadCertificates(resolver: string): Promise<StoredCertificate[]> {
    return (this.#read()[resolver]?.Certificates ?? []).map((c) => ({ domains: [c.domain.main, ...(c.domain.sans ?? [])], certPem: b64d(c.certificate), keyPem: b64d(c.key) }));
  }

  async saveCertificate(resolver: string, cert: StoredCertificate): Promise<void> {
    const data = this.#read();
    const r = (data[resolver] ??= {});
    const list = (r.Certificates ?? []).filter((c) => c.domain.main !== cert.domains[0]);
    list.push({ domain: { main: cert.domains[0]!, sans: cert.domains.slice(1) }, certificate: b64(cert.certPem), key: b64(cert.keyPem), Store: 'default' });
    r.Certificates = list;
    this.#write(data);
  }

  async putChallenge(kind: ChallengeKind, key: string, value: string): Promise<void> {
    this.#challenges.set(`${kind}/${key}`, value);
  }

  async getChallenge(kind: ChallengeKind, key: string): Promise<string | null> {
    return this.#challenges.get(`${kind}/${key}`) ?? null;
  }

  async deleteChallenge(kind: ChallengeKind, key: string): Promise<void> {
    this.#challenges.delete(`${kind}/${key}`);
  }

  withLock<T>(_resolver: string, fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {}
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function b64d(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}
