/**
 * htpasswd secrets as Apache's htpasswd writes them and Traefik (go-http-auth) checks them:
 * bcrypt (`$2y$`, `$2a$`, `$2b$`, `$2x$`), `{SHA}` (base64 of SHA-1), and MD5-crypt (`$apr1$`
 * and `$1$`). Plain-text and DES-crypt secrets never match in Traefik; Gantry refuses them when
 * the middleware is built so the mistake is visible.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { bcryptChecks } from './bcrypt-checks.js';

export type SecretKind = 'bcrypt' | 'sha' | 'md5crypt';

export interface Secret {
  readonly kind: SecretKind;
  /** The stored hash (bcrypt `$2x$` rewritten to `$2a$`, which bcryptjs checks the same way). */
  readonly hash: string;
}

const BCRYPT = /^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/;
const SHA = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const MD5CRYPT = /^\$(apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/;

/** parseSecret recognises a supported hash format, or returns null. */
export function parseSecret(hash: string): Secret | null {
  if (BCRYPT.test(hash)) return { kind: 'bcrypt', hash: hash.startsWith('$2x$') ? '$2a$' + hash.slice(4) : hash };
  if (SHA.test(hash)) return { kind: 'sha', hash };
  if (MD5CRYPT.test(hash)) return { kind: 'md5crypt', hash };
  return null;
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(v: number, n: number): string {
  let s = '';
  while (n-- > 0) {
    s += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return s;
}

/**
 * md5Crypt is Poul-Henning Kamp's MD5-based crypt, with magic `$1$` (FreeBSD) or `$apr1$`
 * (Apache). The salt is at most 8 characters.
 */
export function md5Crypt(password: Buffer, salt: string, magic: '$1$' | '$apr1$'): string {
  const saltBuf = Buffer.from(salt.slice(0, 8), 'utf8');
  const magicBuf = Buffer.from(magic, 'utf8');
  const alt = createHash('md5').update(password).update(saltBuf).update(password).digest();
  const ctx = createHash('md5').update(password).update(magicBuf).update(saltBuf);
  for (let left = password.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  const zero = Buffer.alloc(1);
  const first = password.subarray(0, 1);
  for (let i = password.length; i > 0; i >>>= 1) ctx.update(i & 1 ? zero : first);
  let final = ctx.digest();
  // 1000 rounds to slow down brute force, as the original algorithm does.
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update(i & 1 ? password : final);
    if (i % 3) c.update(saltBuf);
    if (i % 7) c.update(password);
    c.update(i & 1 ? final : password);
    final = c.digest();
  }
  const f = final;
  const enc =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt.slice(0, 8)}$${enc}`;
}

function equalConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Lengths of these formats are fixed, so comparing them first reveals nothing.
  return x.length === y.length && timingSafeEqual(x, y);
}

/** verifySync checks a password against a SHA or MD5-crypt secret (not bcrypt). */
export function verifySync(password: string, secret: Secret): boolean {
  const pw = Buffer.from(password, 'utf8');
  if (secret.kind === 'sha') return equalConstantTime(secret.hash, '{SHA}' + createHash('sha1').update(pw).digest('base64'));
  if (secret.kind === 'md5crypt') {
    const parts = secret.hash.split('$'); // ['', magic, salt, hash]
    const magic = parts[1] === 'apr1' ? '$apr1$' : '$1$';
    return equalConstantTime(secret.hash, md5Crypt(pw, parts[2]!, magic));
  }
  throw new Error('verifySync: bcrypt must be checked with verify');
}

/**
 * verify checks a password against any supported secret. bcrypt runs on a worker thread and may
 * be refused with PasswordChecksBusyError when too many checks are queued (bcrypt-checks.ts).
 */
export function verify(password: string, secret: Secret): Promise<boolean> {
  if (secret.kind === 'bcrypt') return bcryptChecks.check(password, secret.hash);
  return Promise.resolve(verifySync(password, secret));
}
