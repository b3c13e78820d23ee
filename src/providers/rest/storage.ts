/**
 * Where REST registrations persist. FileStorage keeps them in one local JSON file (written to a
 * temporary file, then renamed, mode 0600: a crash never leaves half a file, and the file may hold
 * basic-auth hashes). EtcdStorage keeps them in one etcd key, so every Gantry replica sharing the
 * etcd cluster serves the same registrations; it watches the key and updates with a compare on the
 * key's modRevision, so two replicas writing at once never lose an update.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { EtcdClient, Watch } from '../etcd/client.js';
import { emptyState, normalizeState, type RestState } from './state.js';

/** Mutation returns the next state, or null to leave the stored state as it is. It may throw to abort. */
export type Mutation = (current: RestState) => RestState | null;

export interface RestStorage {
  readonly description: string;
  load(): Promise<RestState>;
  /** update applies `mutate` to the latest stored state and stores the result atomically. */
  update(mutate: Mutation): Promise<RestState>;
  /** watch reports states written by others (other replicas); a file has no other writers. */
  watch(onChange: (s: RestState) => void): void;
  close(): Promise<void>;
}

export class FileStorage implements RestStorage {
  readonly file: string;
  #state: RestState | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  get description(): string {
    return `file ${this.file}`;
  }

  async load(): Promise<RestState> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.#state = emptyState();
      return this.#state;
    }
    this.#state = normalizeState(JSON.parse(text));
    return this.#state;
  }

  update(mutate: Mutation): Promise<RestState> {
    // Writes are serialised: each one sees the state the previous one left.
    const run = this.#queue.then(async () => {
      const cur = this.#state ?? (await this.load());
      const next = mutate(cur);
      if (next === null) return cur;
      await this.#write(next);
      this.#state = next;
      return next;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #write(s: RestState): Promise<void> {
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ config: s.config, dfp: s.dfp }, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, this.file);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    // rename keeps the temporary file's mode, but an existing file may have been made wider by hand.
    await fsp.chmod(this.file, 0o600).catch(() => undefined);
  }

  watch(): void {}

  async close(): Promise<void> {
    await this.#queue;
  }
}

/** How often EtcdStorage retries a write that lost the compare to a concurrent writer. */
const MAX_CONFLICTS = 20;

export class EtcdStorage implements RestStorage {
  readonly key: string;
  #client: EtcdClient;
  #watch: Watch | null = null;
  #rev = 0;

  constructor(client: EtcdClient, key: string) {
    this.#client = client;
    this.key = key;
  }

  get description(): string {
    return `etcd key ${this.key}`;
  }

  async load(): Promise<RestState> {
    const kv = await this.#client.get(this.key);
    this.#rev = kv?.modRevision ?? 0;
    return kv === undefined || kv.value === '' ? emptyState() : normalizeState(JSON.parse(kv.value));
  }

  async update(mutate: Mutation): Promise<RestState> {
    const writeId = randomUUID();
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      const kv = await this.#client.get(this.key);
      const cur = kv === undefined || kv.value === '' ? emptyState() : normalizeState(JSON.parse(kv.value));
      // A retried txn whose first attempt landed reports a failed compare; our id says it landed.
      if (i > 0 && cur.writeId === writeId) return cur;
      const next = mutate(cur);
      if (next === null) return cur;
      const stored: RestState = { config: next.config, dfp: next.dfp, writeId };
      const res = await this.#client.txn({
        compare: [{ key: this.key, target: 'modRevision', result: '=', value: kv?.modRevision ?? 0 }],
        success: [{ put: { key: this.key, value: JSON.stringify(stored) } }],
      });
      if (res.succeeded) return stored;
    }
    throw new Error(`etcd key ${this.key}: too many concurrent writers, update not applied`);
  }

  watch(onChange: (s: RestState) => void): void {
    this.#watch = this.#client.watchPrefix(this.key, this.#rev + 1, (events) => {
      // Only the key itself, not longer keys sharing its prefix.
      const last = events.filter((e) => e.key === this.key).at(-1);
      if (last === undefined) return;
      onChange(last.type === 'delete' || last.value === '' ? emptyState() : normalizeState(JSON.parse(last.value)));
    }, () => {
      // History compacted past our revision: read the key again and watch from there.
      this.load().then((s) => {
        onChange(s);
        this.watch(onChange);
      }, () => undefined);
    });
  }

  async close(): Promise<void> {
    this.#watch?.stop();
  }
}
