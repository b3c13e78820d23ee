/**
 * basicAuth lets requests through only with a valid `Authorization: Basic` user and password
 * (Traefik `pkg/middlewares/auth/basic_auth.go`). Users come from `users` (`name:hash`) and from
 * an htpasswd `usersFile` (blank lines and `#` comments skipped); `users` entries win. Otherwise
 * the answer is 401 with `WWW-Authenticate: Basic realm="…"`.
 *
 * bcrypt is slow by design (tens of ms at cost 10), so verified (user, password) pairs are
 * remembered in a bounded cache keyed by a SHA-256 of the pair, and concurrent checks of the same
 * pair share one computation (Traefik uses singleflight for the same reason). The checks run on a
 * worker thread with a bounded queue (bcrypt-checks.ts): a flood of guesses gets 429s and never
 * slows the routes that need no password.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { parseSecret, verify, verifySync, type Secret } from './htpasswd.js';
import { PasswordChecksBusyError } from './bcrypt-checks.js';

export const basicAuthSchema = z.strictObject({
  users: z.array(z.string()).optional(),
  usersFile: z.string().optional(),
  realm: z.string().optional(),
  headerField: z.string().optional(),
  removeHeader: z.boolean().optional(),
});

export type BasicAuthOptions = z.infer<typeof basicAuthSchema>;

/** Default realm shown by browsers in the login prompt. */
export const DEFAULT_REALM = 'gantry';

const CACHE_MAX = 1024;
/** A check refused because too many were queued (bcrypt-checks.ts): answered 429, not remembered. */
const BUSY = Symbol('busy');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** parseBasicAuthorization returns [user, password] from a Basic Authorization value, or null. */
export function parseBasicAuthorization(value: string | undefined): [string, string] | null {
  if (value === undefined || value.length < 6 || value.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const b64 = value.slice(6);
  // Go's StdEncoding is strict: padded, no stray characters.
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return null;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return [text.slice(0, colon), text.slice(colon + 1)];
}

function readUsers(o: BasicAuthOptions, cwd: string): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  if (o.usersFile !== undefined && o.usersFile !== '') {
    const file = resolve(cwd, o.usersFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('basicAuth.usersFile', `cannot read ${file}: ${(err as Error).message}`);
    }
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) lines.push([line, `basicAuth.usersFile ${file}:${i + 1}`]);
    });
  }
  (o.users ?? []).forEach((u, i) => lines.push([u.trim(), `basicAuth.users[${i}]`]));
  return lines;
}

class BasicAuth {
  readonly #users = new Map<string, Secret>();
  readonly #decoy: Secret | null;
  readonly #challenge: string;
  readonly #headerField: string | null;
  readonly #removeHeader: boolean;
  readonly #next: Handler;
  /** Results of finished checks, oldest first (Map keeps insertion order). */
  readonly #cache = new Map<string, boolean>();
  readonly #pending = new Map<string, Promise<boolean | typeof BUSY>>();

  constructor(o: BasicAuthOptions, next: Handler, cwd: string) {
    for (const [entry, where] of readUsers(o, cwd)) {
      const parts = entry.split(':');
      if (parts.length !== 2 || parts[0] === '') throw new ConfigError(where, 'expected "user:hash"');
      const secret = parseSecret(parts[1]!);
      if (secret === null) {
        throw new ConfigError(where, `the hash of user ${JSON.stringify(parts[0])} is not bcrypt, {SHA} or apr1/MD5-crypt (use htpasswd -nbB)`);
      }
      this.#users.set(parts[0]!, secret);
    }
    if (this.#users.size === 0) throw new ConfigError('basicAuth.users', 'no user configured');
    // An unknown user is checked against a real secret too, so that the answer takes as long
    // as for a known user and timing does not reveal which user names exist.
    this.#decoy = this.#users.values().next().value ?? null;
    const realm = o.realm !== undefined && o.realm !== '' ? o.realm : DEFAULT_REALM;
    if (/[\r\n\0]/.test(realm)) throw new ConfigError('basicAuth.realm', 'realm contains CR, LF or NUL');
    this.#challenge = `Basic realm="${realm.replace(/["\\]/g, '\\$&')}"`;
    const field = o.headerField?.trim() ?? '';
    if (field !== '' && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(field)) throw new ConfigError('basicAuth.headerField', `invalid header name ${JSON.stringify(field)}`);
    this.#headerField = field === '' ? null : field.toLowerCase();
    this.#removeHeader = o.removeHeader === true;
    this.#next = next;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const creds = parseBasicAuthorization(req.headers.authorization);
    if (creds === null) {
      this.#deny(res, ctx, 'missing or malformed Basic credentials');
      return;
    }
    const [user, password] = creds;
    const known = this.#users.get(user);
    const secret = known ?? this.#decoy!;
    const key = createHash('sha256').update(user).update('\0').update(password).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#finish(req, res, ctx, user, cached && known !== undefined);
      return;
    }
    if (secret.kind !== 'bcrypt') {
      const ok = verifySync(password, secret);
      this.#remember(key, ok);
      this.#finish(req, res, ctx, user, ok && known !== undefined);
      return;
    }
    let p = this.#pending.get(key);
    if (p === undefined) {
      p = verify(password, secret).catch((err: unknown) => (err instanceof PasswordChecksBusyError ? BUSY : false));
      this.#pending.set(key, p);
      p.then((ok) => {
        this.#pending.delete(key);
        if (ok !== BUSY) this.#remember(key, ok);
      });
    }
    p.then((ok) => {
      // The client may have gone while bcrypt ran.
      if (res.destroyed || res.headersSent) return;
      if (ok === BUSY) {
        ctx.errorText = 'basicAuth: too many password checks in progress';
        sendText(res, ctx, 429, '429 too many password checks in progress; try again', { 'retry-after': '1' });
        return;
      }
      this.#finish(req, res, ctx, user, ok && known !== undefined);
    });
  }

  #remember(key: string, ok: boolean): void {
    if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, ok);
  }

  #finish(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, user: string, ok: boolean): void {
    if (!ok) {
      this.#deny(res, ctx, 'invalid user or password');
      return;
    }
    if (this.#headerField !== null) req.headers[this.#headerField] = user;
    if (this.#removeHeader) delete req.headers.authorization;
    this.#next(req, res, ctx);
  }

  #deny(res: ServerResponse, ctx: RequestContext, why: string): void {
    ctx.errorText = `basicAuth: ${why}`;
    sendText(res, ctx, 401, '401 Unauthorized', { 'www-authenticate': this.#challenge });
  }
}

export const basicAuth: MiddlewareFactory<BasicAuthOptions> = {
  type: 'basicAuth',
  schema: basicAuthSchema,
  create(options, next, env) {
    const auth = new BasicAuth(options, next, env.cwd);
    return (req, res, ctx) => auth.handle(req, res, ctx);
  },
};
