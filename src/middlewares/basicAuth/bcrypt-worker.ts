/**
 * The thread that checks bcrypt passwords for BcryptChecks (bcrypt-checks.ts): each check costs
 * tens of milliseconds of CPU by design, which must not be spent on the thread that serves requests.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface CheckRequest {
  id: number;
  password: string;
  hash: string;
}

export interface CheckReply {
  id: number;
  ok: boolean;
}

parentPort?.on('message', (m: CheckRequest) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(m.password, m.hash);
  } catch {
    ok = false;
  }
  parentPort!.postMessage({ id: m.id, ok } satisfies CheckReply);
});
