/**
 * TokenKeeper holds the token etcd gives a user (`/v3/auth/authenticate`), which the client sends
 * as `Authorization` on every call once etcd has `auth enable`. etcd's tokens end: a simple token
 * expires after `--auth-token-ttl` of disuse (300 s by default), and every token of a user is
 * dropped when its password changes or the user is deleted; a JWT also carries the auth revision.
 * The client then gets "invalid auth token" (or "revision of auth store is old") and calls
 * `invalidate`, and the next `get` authenticates again.
 *
 * One authentication runs at a time however many calls need a token. A refusal (wrong user or
 * password) is remembered for `refusalMs`: etcd checks passwords with bcrypt, so a watch that keeps
 * reconnecting must not ask it again many times a second; and the error stays the same anyway.
 */
export class TokenKeeper {
  readonly #authenticate: () => Promise<string | null>;
  readonly #isRefusal: (err: unknown) => boolean;
  readonly #refusalMs: number;
  /** The current token; null when etcd has authentication off; undefined when none is held. */
  #token: string | null | undefined = undefined;
  #pending: Promise<string | null> | null = null;
  #refused: { err: unknown; until: number } | null = null;
  /** Successful authentications so far (tests read it to see a refresh happen). */
  authentications = 0;

  /**
   * `authenticate` asks etcd for a token (null: etcd has authentication off, calls go without one);
   * `isRefusal` tells a refusal, which is remembered, from a failure to reach etcd, which is not.
   */
  constructor(authenticate: () => Promise<string | null>, isRefusal: (err: unknown) => boolean, refusalMs = 5000) {
    this.#authenticate = authenticate;
    this.#isRefusal = isRefusal;
    this.#refusalMs = refusalMs;
  }

  /** get returns the token to send (null: none), authenticating when none is held. */
  get(): Promise<string | null> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    if (this.#refused !== null && Date.now() < this.#refused.until) return Promise.reject(this.#refused.err);
    this.#pending ??= this.#authenticate().then(
      (token) => {
        this.#token = token;
        this.#refused = null;
        this.authentications++;
        return token;
      },
      (err: unknown) => {
        if (this.#isRefusal(err)) this.#refused = { err, until: Date.now() + this.#refusalMs };
        throw err;
      },
    ).finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  /**
   * invalidate drops `token` after etcd said it is no longer valid. A token obtained since (by a
   * concurrent call that saw the same error first) is kept.
   */
  invalidate(token: string | null): void {
    if (this.#token === token) this.#token = undefined;
  }
}

/** Messages with which etcd says the token sent is missing, expired or stale: authenticate again. */
const TOKEN_PROBLEM = /invalid auth token|revision of auth store is old|user name is empty|token is expired/;

/** isTokenProblem: etcd's message asks for a new token. */
export function isTokenProblem(message: string): boolean {
  return TOKEN_PROBLEM.test(message);
}

/** TLS verification failures of the server's certificate (Node / OpenSSL codes). */
const SERVER_CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

/**
 * tlsHint says which option to look at when a connection to etcd failed around TLS: the server's
 * certificate was not trusted (`tls.ca`), etcd refused ours or wanted one (`tls.cert` / `tls.key`),
 * or one side does not speak TLS (the endpoint's scheme). Empty when nothing points at TLS.
 * `https` is whether the endpoint was https, `cert` whether a client certificate was given.
 */
export function tlsHint(err: unknown, configPath: string, at: { https: boolean; cert: boolean }): string {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  const message = err instanceof Error ? err.message : '';
  if (SERVER_CERT_CODES.has(code)) return `the server's certificate is not trusted: check ${configPath}.tls.ca (or ${configPath}.tls.insecureSkipVerify)`;
  if (/ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/.test(code) || /certificate required|bad certificate/.test(message)) {
    return at.cert
      ? `etcd refused the client certificate: check ${configPath}.tls.cert and ${configPath}.tls.key`
      : `etcd wants a client certificate (--client-cert-auth): set ${configPath}.tls.cert and ${configPath}.tls.key`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code)) return `the endpoint does not speak TLS: check the scheme of ${configPath}.endpoints and ${configPath}.tls`;
  // A member serving TLS closes a plain-HTTP connection without a word.
  if (!at.https && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) return `if etcd serves HTTPS, give https:// endpoints or set ${configPath}.tls`;
  return '';
}
