/**
 * BcryptChecks runs bcrypt comparisons on a worker thread, with a bounded queue. On the event loop,
 * a few dozen wrong passwords per second (each check is ~50 ms of CPU at cost 10) would stall every
 * route of the process; on a thread of its own, the checks only compete with each other. When
 * MAX_QUEUED checks are already waiting, a new one is refused at once (PasswordChecksBusyError) —
 * the caller answers 429 — so a flood of guesses costs a bounded amount of memory and time and
 * never delays requests that need no password check. One thread per process, started on first
 * use; it keeps the process alive only while checks are waiting.
 */
import type { Worker } from 'node:worker_threads';
import { GantryError } from '../../errors.js';
import type { CheckReply, CheckRequest } from './bcrypt-worker.js';

/** Checks waiting or running before new ones are refused (~2 s of work at cost 10). */
export const MAX_QUEUED = 32;

export class PasswordChecksBusyError extends GantryError {
  constructor() {
    super('too many password checks in progress', 'GANTRY_ERR_AUTH_BUSY', 429);
    this.name = 'PasswordChecksBusyError';
  }
}

class BcryptChecks {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #waiting = new Map<number, (ok: boolean) => void>();

  /** check resolves whether `password` matches the bcrypt `hash`; it rejects when the queue is full. */
  check(password: string, hash: string): Promise<boolean> {
    if (this.#waiting.size >= MAX_QUEUED) return Promise.reject(new PasswordChecksBusyError());
    const id = this.#nextId++;
    const worker = this.#thread();
    // Referenced only while checks are waiting: an idle thread never keeps the process alive.
    if (this.#waiting.size === 0) worker.ref();
    return new Promise<boolean>((resolve) => {
      this.#waiting.set(id, resolve);
      worker.postMessage({ id, password, hash } satisfies CheckRequest);
    });
  }

  #thread(): Worker {
    if (this.#worker !== null) return this.#worker;
    const w = new (process.getBuiltinModule('node:worker_threads').Worker)(new URL('./bcrypt-worker.js', import.meta.url));
    w.on('message', (m: CheckReply) => {
      const done = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) w.unref();
      done?.(m.ok);
    });
    // A thread that died fails its checks closed; the next check starts another.
    const fail = () => {
      if (this.#worker === w) this.#worker = null;
      for (const done of this.#waiting.values()) done(false);
      this.#waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', fail);
    // After the listeners: adding a 'message' listener refs the worker again.
    w.unref();
    this.#worker = w;
    return w;
  }
}

/** bcryptChecks is the process's one checker. */
export const bcryptChecks = new BcryptChecks();
