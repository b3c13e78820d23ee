/**
 * digestAuth lets requests through only with a valid HTTP Digest `Authorization` (Traefik
 * pkg/middlewares/auth/digest_auth.go, which uses abbot/go-http-auth): MD5, qop "auth", the
 * realm's users from `users` and `usersFile` in htdigest's `user:realm:HA1` form (HA1 =
 * MD5(user:realm:password), what `htdigest` writes). Otherwise the answer is 401 with
 * `WWW-Authenticate: Digest realm=…, nonce=…, opaque=…, algorithm=MD5, qop="auth"`, and
 * `stale=true` when only the nonce was out of date (see digest.ts).
 *
 * The default realm is "traefik", as in Traefik: the HA1 of a user depends on the realm, so a
 * users file made for Traefik works unchanged. `headerField` passes the user name to the server
 * in that header, `removeHeader` drops the Authorization header; the user is the access log's
 * ClientUsername.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';
import { expectedResponse, Nonces, parseDigestParams } from './digest.js';

export const digestAuthSchema = z.strictObject({
  users: z.array(z.string()).optional(),
  usersFile: z.string().optional(),
  realm: z.string().optional(),
  headerField: z.string().optional(),
  removeHeader: z.boolean().optional(),
});

export type DigestAuthOptions = z.infer<typeof digestAuthSchema>;

/** Traefik's default realm (part of every user's HA1). */
export const DIGEST_DEFAULT_REALM = 'traefik';

const HA1 = /^[0-9a-f]{32}$/i;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

class DigestAuth {
  /** `user:realm` → HA1 (lower-case hex). */
  readonly #users = new Map<string, string>();
  readonly #realm: string;
  readonly #opaque = randomBytes(16).toString('base64url');
  readonly #nonces = new Nonces();
  readonly #headerField: string | null;
  readonly #removeHeader: boolean;
  readonly #next: Handler;
  /** A HA1 for unknown users, so that their answer costs the same work as a known user's. */
  readonly #decoy = randomBytes(16).toString('hex');

  constructor(o: DigestAuthOptions, next: Handler, cwd: string) {
    const entries: Array<[string, string]> = [];
    if (o.usersFile !== undefined && o.usersFile !== '') {
      const file = resolve(cwd, o.usersFile);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError('digestAuth.usersFile', `cannot read ${file}: ${(err as Error).message}`);
      }
      text.split('\n').forEach((raw, i) => {
        const line = raw.trim();
        if (line !== '' && !line.startsWith('#')) entries.push([line, `digestAuth.usersFile ${file}:${i + 1}`]);
      });
    }
    (o.users ?? []).forEach((u, i) => entries.push([u.trim(), `digestAuth.users[${i}]`]));
    for (const [entry, where] of entries) {
      const parts = entry.split(':');
      if (parts.length !== 3 || parts[0] === '') throw new ConfigError(where, 'expected "user:realm:hash" (as htdigest writes)');
      if (!HA1.test(parts[2]!)) throw new ConfigError(where, `the hash of user ${JSON.stringify(parts[0])} is not an MD5 digest (32 hex digits, as htdigest writes)`);
      this.#users.set(`${parts[0]}:${parts[1]}`, parts[2]!.toLowerCase());
    }
    if (this.#users.size === 0) throw new ConfigError('digestAuth.users', 'no user configured');
    this.#realm = o.realm !== undefined && o.realm !== '' ? o.realm : DIGEST_DEFAULT_REALM;
    if (/[\r\n\0"\\]/.test(this.#realm)) throw new ConfigError('digestAuth.realm', 'realm contains a quote, backslash, CR, LF or NUL');
    const field = o.headerField?.trim() ?? '';
    if (field !== '' && !TOKEN.test(field)) throw new ConfigError('digestAuth.headerField', `invalid header name ${JSON.stringify(field)}`);
    this.#headerField = field === '' ? null : field.toLowerCase();
    this.#removeHeader = o.removeHeader === true;
    this.#next = next;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const p = parseDigestParams(req.headers.authorization);
    if (p === null) return this.#deny(res, ctx, false, 'missing or malformed Digest credentials');
    const user = p.get('username') ?? '';
    if (user !== '') ctx.user = user;
    // Clients that leave out the algorithm mean MD5 (RFC 7616 §3.4; go-http-auth does the same).
    const algorithm = p.get('algorithm') ?? 'MD5';
    if (p.get('opaque') !== this.#opaque || algorithm !== 'MD5' || p.get('qop') !== 'auth') return this.#deny(res, ctx, false, 'Digest parameters not from this server');
    const uri = p.get('uri') ?? '';
    if (!uriMatches(uri, req.url ?? '')) return this.#deny(res, ctx, false, 'Digest uri does not match the request');
    const known = this.#users.get(`${user}:${this.#realm}`);
    const want = expectedResponse(known ?? this.#decoy, req.method ?? 'GET', uri, p);
    const got = Buffer.from(p.get('response') ?? '');
    if (known === undefined || got.length !== want.length || !timingSafeEqual(got, Buffer.from(want))) return this.#deny(res, ctx, false, 'invalid user or password');
    const nonce = p.get('nonce') ?? '';
    const nc = /^[0-9a-fA-F]{1,16}$/.test(p.get('nc') ?? '') ? Number.parseInt(p.get('nc')!, 16) : NaN;
    if (!Number.isSafeInteger(nc)) return this.#deny(res, ctx, false, 'malformed nonce count');
    // The right password with a nonce that is old, not ours, or replayed: ask for a fresh nonce.
    if (!this.#nonces.valid(nonce) || !this.#nonces.count(nonce, nc)) return this.#deny(res, ctx, true, 'stale nonce');
    if (this.#headerField !== null) req.headers[this.#headerField] = user;
    if (this.#removeHeader) delete req.headers.authorization;
    this.#next(req, res, ctx);
  }

  #deny(res: ServerResponse, ctx: RequestContext, stale: boolean, why: string): void {
    ctx.errorText = `digestAuth: ${why}`;
    const challenge = `Digest realm="${this.#realm}", nonce="${this.#nonces.issue()}", opaque="${this.#opaque}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
    sendText(res, ctx, 401, '401 Unauthorized', { 'www-authenticate': challenge });
  }
}

/**
 * uriMatches: the `uri` parameter is the request target (RFC 7616 §3.4); as go-http-auth, a
 * parameter whose path is a prefix of the request's path is accepted too.
 */
function uriMatches(uri: string, target: string): boolean {
  if (uri === target) return true;
  try {
    const u = new URL(uri, 'http://h').pathname;
    const t = new URL(target, 'http://h').pathname;
    return u.length <= t.length && t.startsWith(u);
  } catch {
    return false;
  }
}

export const digestAuth: MiddlewareFactory<DigestAuthOptions> = {
  type: 'digestAuth',
  schema: digestAuthSchema,
  create(options, next, env) {
    const auth = new DigestAuth(options, next, env.cwd);
    return (req, res, ctx) => auth.handle(req, res, ctx);
  },
};
