/**
 * createAuthorizer checks the API's Basic credentials against `--api.basicAuth` htpasswd lines
 * (`user:hash`, bcrypt, {SHA} or MD5-crypt, as the basicAuth middleware accepts). bcrypt is slow on
 * purpose, so a header that verified once is remembered (a small bounded cache keyed by the
 * header's SHA-256; never the password itself).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseSecret, verify, type Secret } from '../middlewares/basicAuth/htpasswd.js';

const CACHE_SIZE = 64;

export type Authorizer = (req: IncomingMessage) => boolean | Promise<boolean>;

/** createAuthorizer returns null when no usable credential line is configured. Bad lines throw. */
export function createAuthorizer(lines: readonly string[]): Authorizer | null {
  const users = new Map<string, Secret>();
  for (const line of lines) {
    const i = line.indexOf(':');
    const secret = i > 0 ? parseSecret(line.slice(i + 1).trim()) : null;
    if (secret === null) throw new Error(`api.basicAuth: "${line.slice(0, Math.max(0, i)) || line}" is not a user:hash line with a bcrypt, {SHA} or MD5-crypt hash`);
    users.set(line.slice(0, i), secret);
  }
  if (users.size === 0) return null;
  const ok = new Set<string>();
  return async (req) => {
    const h = req.headers.authorization;
    if (h === undefined || !/^basic /i.test(h)) return false;
    const key = createHash('sha256').update(h).digest('base64');
    if (ok.has(key)) return true;
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const c = decoded.indexOf(':');
    if (c < 0) return false;
    const secret = users.get(decoded.slice(0, c));
    // A check refused because too many are queued (bcrypt-checks.ts) is a refusal too.
    if (secret === undefined || !(await verify(decoded.slice(c + 1), secret).catch(() => false))) return false;
    if (ok.size >= CACHE_SIZE) ok.delete(ok.values().next().value!);
    ok.add(key);
    return true;
  };
}
