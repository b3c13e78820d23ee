/**
 * EtcdClient is a small etcd v3 client over undici and etcd's JSON gRPC gateway (`/v3/...`, served by
 * etcd 3.4+ on its client port). It covers what Gantry needs: range, put, delete, txn, lease and watch.
 * The `etcd3` package would bring gRPC and 37 dependencies for the same thing.
 *
 * Two properties matter more than the rest (see TESTBED.md, "Kill one of three"):
 * - Every unary call has a deadline (`timeoutMs`, 1 s) and is retried on the other endpoints. When the
 *   leader dies, a write sent to a follower during the election is forwarded to the dead leader and hangs.
 *   Without a deadline it hangs for good. With one, the retry lands on the new leader about 1 s later.
 * - A watch survives the loss of the member it streams from. It reconnects to another endpoint and
 *   resumes from the revision after the last one it delivered, so no event is lost or repeated. A member
 *   that is alive but frozen or cut off keeps the stream open and silent; a periodic linearizable read on
 *   it (`watchProbeMs`, 5 s) notices and moves the watch, and `hasleader` makes etcd cancel it too.
 *
 * Retries make writes at-least-once. An attempt that timed out may still be applied: at once, or, on a
 * member that was frozen (SIGSTOP, a paused VM), when it resumes, which can be after later writes (the
 * frozen-member test sees this). A late put can thus bring back an old value of a key. Where the order of
 * writes to one key matters, use `txn` with a `modRevision` compare: a late duplicate then fails its compare.
 * `createIfAbsent` is safe this way and also recognises its own earlier success.
 * Keys and values are UTF-8 strings. Revisions are numbers; lease IDs are int64, so they stay strings.
 *
 * Security: with `tls` the client speaks HTTPS and can present a client certificate (etcd's
 * `--client-cert-auth`); with `auth` it authenticates as a user and sends the token on every call,
 * including watch streams and their probes, and authenticates again when etcd says the token ended
 * (auth.ts). A refusal — wrong password, missing permission, certificate refused — is an
 * EtcdAccessError that names the option to fix; it is not retried on other endpoints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent } from 'undici';
import { undici } from '../../upstreams/undici.js';
import { GantryError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { isTokenProblem, tlsHint, TokenKeeper } from './auth.js';

// ---------------------------------------------------------------------------------------------- errors

/** EtcdError is the base of every etcd client error; `code` is stable, status 503 (the store is unusable). */
export class EtcdError extends GantryError {
  constructor(message: string, code = 'GANTRY_ERR_ETCD', options?: { cause?: unknown }) {
    super(message, code, 503, options);
    this.name = 'EtcdError';
  }
}

/** EtcdUnavailableError: no endpoint answered a call within its deadlines; `cause` is the last failure. */
export class EtcdUnavailableError extends EtcdError {
  readonly attempts: number;
  constructor(op: string, attempts: number, cause: unknown, hint = '') {
    super(`etcd ${op}: no endpoint answered after ${attempts} attempts: ${messageOf(cause)}${hint ? ` (${hint})` : ''}`, 'GANTRY_ERR_ETCD_UNAVAILABLE', { cause });
    this.name = 'EtcdUnavailableError';
    this.attempts = attempts;
  }
}

/** EtcdTimeoutError: one attempt passed its deadline. It is retried, so callers see it only as a `cause`. */
export class EtcdTimeoutError extends EtcdError {
  constructor(endpoint: string, op: string, ms: number) {
    super(`etcd ${op} on ${endpoint}: no answer within ${ms} ms`, 'GANTRY_ERR_ETCD_TIMEOUT');
    this.name = 'EtcdTimeoutError';
  }
}

/** EtcdRequestError: etcd answered with a gRPC error (`grpcCode`, e.g. 3 = invalid argument). */
export class EtcdRequestError extends EtcdError {
  readonly grpcCode: number;
  readonly httpStatus: number;
  constructor(op: string, message: string, grpcCode: number, httpStatus: number, code = 'GANTRY_ERR_ETCD_REQUEST') {
    super(`etcd ${op}: ${message}`, code);
    this.name = 'EtcdRequestError';
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus;
  }
}

/** EtcdLeaseNotFoundError: the lease expired or was revoked (keep-alives report it through `onLost`). */
export class EtcdLeaseNotFoundError extends EtcdRequestError {
  constructor(op: string, message = 'requested lease not found') {
    super(op, message, GRPC_NOT_FOUND, 404, 'GANTRY_ERR_ETCD_LEASE_NOT_FOUND');
    this.name = 'EtcdLeaseNotFoundError';
  }
}

/**
 * EtcdCompactedError: a watch asked for revisions that etcd has compacted away. The watch stops. The
 * caller lists the prefix again and starts a new watch from the revision after that read.
 */
export class EtcdCompactedError extends EtcdError {
  readonly compactRevision: number;
  constructor(prefix: string, compactRevision: number) {
    super(`etcd watch ${prefix}: revisions before ${compactRevision} are compacted`, 'GANTRY_ERR_ETCD_COMPACTED');
    this.name = 'EtcdCompactedError';
    this.compactRevision = compactRevision;
  }
}

/** EtcdProtocolError: an answer that is not the JSON the gateway sends (it is retried elsewhere). */
export class EtcdProtocolError extends EtcdError {
  constructor(message: string) {
    super(message, 'GANTRY_ERR_ETCD_PROTOCOL');
    this.name = 'EtcdProtocolError';
  }
}

/**
 * EtcdAccessError: etcd refused us rather than failed — the user or password is wrong, the user
 * lacks a permission, etcd needs a user and none is configured, or it refused the TLS client
 * certificate. The message names the option to fix. It is not retried on other endpoints.
 */
export class EtcdAccessError extends EtcdError {
  constructor(message: string) {
    super(message, 'GANTRY_ERR_ETCD_ACCESS');
    this.name = 'EtcdAccessError';
  }
}

/** EtcdClosedError: the client was closed. */
export class EtcdClosedError extends EtcdError {
  constructor() {
    super('etcd client is closed', 'GANTRY_ERR_ETCD_CLOSED');
    this.name = 'EtcdClosedError';
  }
}

// ----------------------------------------------------------------------------------------------- types

/** EtcdTlsOptions are PEM contents (not paths): see options.ts for reading them from the static configuration. */
export interface EtcdTlsOptions {
  /** CA(s) of the server's certificate; default the system's. */
  ca?: string | Buffer;
  /** Client certificate and its key, for etcd's `--client-cert-auth`. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Accept any server certificate (no verification at all: test set-ups only). */
  insecureSkipVerify?: boolean;
}

export interface EtcdClientOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`; a bare `host:port` gets `http://`, or `https://` with `tls`. */
  endpoints: string[];
  /** TLS to etcd. */
  tls?: EtcdTlsOptions;
  /** A user of etcd's authentication (`etcdctl user add`); its token goes with every call. */
  auth?: { username: string; password: string };
  /** The configuration path these options come from, named in errors (default `providers.etcd`). */
  configPath?: string;
  /**
   * After a refusal (wrong password, missing permission), how long before etcd is asked again: a
   * refused authentication is remembered that long, a refused watch retries that often. Default 5000 ms.
   */
  refusalRetryMs?: number;
  /** Deadline of one attempt of a unary call, and of a watch's creation. Default 1000 ms. */
  timeoutMs?: number;
  /** Attempts per unary call over all endpoints. Default max(3, 2 × endpoints). */
  attempts?: number;
  /**
   * How often a watch checks that its member still serves linearizable reads (0 = never). A member
   * that is frozen or cut off keeps the stream open but silent; the check moves the watch elsewhere.
   * Default 5000 ms.
   */
  watchProbeMs?: number;
  logger?: Pick<Logger, 'debug' | 'warn'>;
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID, `'0'` when none. */
  lease: string;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** The store's revision when the range was read: watch from `revision + 1` to miss nothing. */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value; `''` for a delete. */
  value: string;
  modRevision: number;
}

export interface Watch {
  stop(): void;
  /** The next revision the watch will deliver (after the last event seen). */
  readonly nextRevision: number;
}

export interface KeepAlive {
  stop(): void;
}

export interface Lease {
  id: string;
  ttl: number;
}

export type CompareResult = '=' | '!=' | '<' | '>';
export type Compare =
  | { key: string; target: 'version' | 'createRevision' | 'modRevision'; result?: CompareResult; value: number }
  | { key: string; target: 'value' | 'lease'; result?: CompareResult; value: string };
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { get: { key: string; prefix?: boolean } }
  | { delete: { key: string; prefix?: boolean } };
export interface TxnOpResult {
  /** Keys read by a `get`. */
  kvs: KeyValue[];
  /** Keys removed by a `delete`. */
  deleted: number;
}
export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** One entry per op of the branch that ran. */
  responses: TxnOpResult[];
}

// ------------------------------------------------------------------------------------ wire (JSON gateway)

interface WireHeader { revision?: string }
interface WireKv { key?: string; value?: string; create_revision?: string; mod_revision?: string; version?: string; lease?: string }
interface WireRange { header?: WireHeader; kvs?: WireKv[] }
interface WireEvent { type?: 'PUT' | 'DELETE'; kv?: WireKv }
interface WireWatch {
  header?: WireHeader; created?: boolean; canceled?: boolean; cancel_reason?: string;
  compact_revision?: string; events?: WireEvent[];
}
type WireTxnResponse = { response_range?: WireRange; response_put?: object; response_delete_range?: { deleted?: string } };

const GRPC_NOT_FOUND = 5;
/** gRPC codes worth another endpoint: deadline exceeded, resource exhausted, aborted, unavailable (etcd's "no leader", "leader changed", "timed out"). */
const RETRIABLE_GRPC = new Set([4, 8, 10, 14]);
const COMPARE_RESULT = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;
const COMPARE_TARGET = { version: ['VERSION', 'version'], createRevision: ['CREATE', 'create_revision'], modRevision: ['MOD', 'mod_revision'], value: ['VALUE', 'value'], lease: ['LEASE', 'lease'] } as const;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const num = (s: string | undefined): number => (s ? Number(s) : 0);

/** prefixEnd is the range_end that covers every key starting with `prefix` (the prefix with its last byte + 1). */
function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64'); // empty or all-0xff prefix: every key from `key` on
}

function toKv(w: WireKv): KeyValue {
  return {
    key: unb64(w.key),
    value: unb64(w.value),
    createRevision: num(w.create_revision),
    modRevision: num(w.mod_revision),
    version: num(w.version),
    lease: w.lease ?? '0',
  };
}

function rangeBody(key: string, prefix: boolean): Record<string, string> {
  return prefix ? { key: b64(key), range_end: prefixEnd(key) } : { key: b64(key) };
}

function opBody(op: TxnOp): object {
  if ('put' in op) return { request_put: putBody(op.put.key, op.put.value, op.put.lease) };
  if ('get' in op) return { request_range: rangeBody(op.get.key, op.get.prefix ?? false) };
  return { request_delete_range: rangeBody(op.delete.key, op.delete.prefix ?? false) };
}

function putBody(key: string, value: string, lease: string | undefined): object {
  return lease && lease !== '0' ? { key: b64(key), value: b64(value), lease } : { key: b64(key), value: b64(value) };
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    // OpenSSL's messages span lines; a log line should not.
    const message = err.message.replace(/\s+/g, ' ').trim();
    return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(err);
}

function normalise(endpoint: string, tls: boolean): string {
  const e = endpoint.trim().replace(/\/+$/, '');
  return /^https?:\/\//.test(e) ? e : `${tls ? 'https' : 'http'}://${e}`;
}

/** gatewayError turns the gateway's error body (`{error, code}` or, in a stream, `{error: {grpc_code, message}}`) into an error. */
function gatewayError(op: string, httpStatus: number, body: unknown): EtcdError {
  const o = (body ?? {}) as { error?: unknown; message?: string; code?: number };
  let message = o.message ?? (typeof o.error === 'string' ? o.error : '');
  let code = o.code ?? 2;
  if (o.error && typeof o.error === 'object') {
    const e = o.error as { grpc_code?: number; message?: string; http_code?: number };
    message = e.message ?? message;
    code = e.grpc_code ?? code;
    httpStatus = e.http_code ?? httpStatus;
  }
  if (code === GRPC_NOT_FOUND && /lease not found/.test(message)) return new EtcdLeaseNotFoundError(op, message);
  return new EtcdRequestError(op, message || `HTTP ${httpStatus}`, code, httpStatus);
}

/**
 * plainTextError reads an answer that is not the gateway's JSON: etcd's own refusals come as text.
 * Two of them are set-up mistakes worth naming: a client certificate with a Common Name (the
 * gateway refuses those once auth is on: it cannot pass the name on as the user), and plain HTTP
 * sent to a member that serves HTTPS.
 */
function plainTextError(op: string, endpoint: string, status: number, text: string, configPath: string): EtcdError {
  const said = text.trim().slice(0, 200);
  if (/CommonName of client/.test(said)) {
    return new EtcdAccessError(`${configPath}.tls.cert: etcd refuses a client certificate with a Common Name on its JSON gateway when authentication is on ("${said}"); use a certificate whose subject has no CN, and ${configPath}.username / password for the user`);
  }
  if (/HTTP request to an HTTPS server/.test(said)) {
    return new EtcdAccessError(`${configPath}.endpoints: ${endpoint} serves HTTPS; give https:// endpoints or set ${configPath}.tls (its ca at least)`);
  }
  return new EtcdRequestError(op, said ? `HTTP ${status}: ${said}` : `HTTP ${status}`, 2, status);
}

function retriable(err: unknown): boolean {
  if (err instanceof EtcdRequestError) return RETRIABLE_GRPC.has(err.grpcCode) || err.httpStatus >= 502;
  return !(err instanceof EtcdClosedError) && !(err instanceof EtcdAccessError);
}

const GRPC_PERMISSION_DENIED = 7;
/** Calls that only read: a permission error on them asks for `read`, on the others for `readwrite`. */
const READ_OPS = new Set(['range', 'watch']);

// -------------------------------------------------------------------------------------------- client

export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  #attempts: number;
  #watchProbeMs: number;
  #logger: Pick<Logger, 'debug' | 'warn'> | null;
  #agent: Agent;
  /** Index of the endpoint that answered last: calls start there. */
  #current = 0;
  #closed = false;
  #closing = new AbortController();
  #watches = new Set<PrefixWatch>();
  #keepAlives = new Set<KeepAlive>();
  readonly #configPath: string;
  readonly #auth: { username: string; password: string } | null;
  readonly #tokens: TokenKeeper | null;
  #warnedAuthOff = false;
  readonly #hasCert: boolean;
  readonly #refusalRetryMs: number;

  constructor(opts: EtcdClientOptions) {
    if (!opts.endpoints.length) throw new EtcdError('etcd client needs at least one endpoint');
    const tls = opts.tls;
    this.endpoints = opts.endpoints.map((e) => normalise(e, tls !== undefined));
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.#attempts = opts.attempts ?? Math.max(3, 2 * this.endpoints.length);
    this.#watchProbeMs = opts.watchProbeMs ?? 5000;
    this.#logger = opts.logger ?? null;
    this.#configPath = opts.configPath ?? 'providers.etcd';
    this.#refusalRetryMs = opts.refusalRetryMs ?? 5000;
    this.#hasCert = tls?.cert !== undefined;
    this.#auth = opts.auth ?? null;
    this.#tokens = this.#auth === null ? null : new TokenKeeper(() => this.#authenticate(), (e) => e instanceof EtcdAccessError, this.#refusalRetryMs);
    // connect timeout = the call deadline, so a member that is down costs at most one deadline.
    const connect = tls === undefined
      ? { timeout: this.timeoutMs }
      : { timeout: this.timeoutMs, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.insecureSkipVerify !== true };
    // HTTP/1.1 even over TLS (undici offers h2 by ALPN): one connection per stream, as without
    // TLS, so a watch and the calls beside it do not share the fate of one h2 session.
    this.#agent = new (undici().Agent)({ connect, keepAliveTimeout: 10_000, allowH2: false });
  }

  /** authentications counts the tokens obtained so far (0 without a user). */
  get authentications(): number {
    return this.#tokens?.authentications ?? 0;
  }

  /** #authenticate asks etcd for a token for the configured user; null when etcd has authentication off. */
  async #authenticate(): Promise<string | null> {
    const { username, password } = this.#auth!;
    const p = this.#configPath;
    try {
      const r = await this.#call<{ token?: string }>('authenticate', '/v3/auth/authenticate', { name: username, password }, false);
      if (!r.token) throw new EtcdProtocolError('etcd authenticate: the answer has no token');
      return r.token;
    } catch (err) {
      if (err instanceof EtcdRequestError && /authentication is not enabled/.test(err.message)) {
        // As etcd's own client does: go on without a token; if etcd turns authentication on
        // later, it answers "user name is empty" and the keeper authenticates again.
        if (!this.#warnedAuthOff) this.#logger?.warn(`etcd has authentication off; ${p}.username and ${p}.password are not used`, { endpoints: this.endpoints.join(',') });
        this.#warnedAuthOff = true;
        return null;
      }
      if (err instanceof EtcdRequestError && /authentication failed/.test(err.message)) {
        throw new EtcdAccessError(`${p}.username / ${p}.password: etcd refused user "${username}" (${err.message.replace(/^etcd authenticate: /, '')})`);
      }
      throw err;
    }
  }

  /** #refusal turns etcd's "permission denied" or "user name is empty" into an error that names the option to fix. */
  #refusal(op: string, body: object, err: EtcdRequestError): EtcdAccessError | null {
    const p = this.#configPath;
    if (isTokenProblem(err.message) && this.#auth === null) {
      return new EtcdAccessError(`${p}: etcd requires a user (${err.message.replace(/^etcd [^:]+: /, '')}); set ${p}.username and ${p}.password`);
    }
    if (err.grpcCode !== GRPC_PERMISSION_DENIED) return null;
    const key = unb64((body as { key?: string }).key);
    const need = READ_OPS.has(op) ? 'read' : 'readwrite';
    const who = this.#auth === null ? `no user is configured (${p}.username)` : `user "${this.#auth.username}" (${p}.username) needs a role with ${need} on ${key ? 'it' : 'the keys it touches'}`;
    return new EtcdAccessError(`etcd ${op}${key ? ` "${key}"` : ''}: permission denied: ${who}`);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.#call<WireRange>('range', '/v3/kv/range', rangeBody(key, false));
    return r.kvs?.length ? toKv(r.kvs[0]!) : undefined;
  }

  async getPrefix(prefix: string): Promise<RangeResult> {
    const r = await this.#call<WireRange>('range', '/v3/kv/range', rangeBody(prefix, true));
    return { kvs: (r.kvs ?? []).map(toKv), revision: num(r.header?.revision) };
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<{ revision: number }> {
    const r = await this.#call<{ header?: WireHeader }>('put', '/v3/kv/put', putBody(key, value, opts.lease));
    return { revision: num(r.header?.revision) };
  }

  async delete(key: string): Promise<{ deleted: number; revision: number }> {
    return this.#deleteRange(rangeBody(key, false));
  }

  async deletePrefix(prefix: string): Promise<{ deleted: number; revision: number }> {
    return this.#deleteRange(rangeBody(prefix, true));
  }

  async #deleteRange(body: object): Promise<{ deleted: number; revision: number }> {
    const r = await this.#call<{ header?: WireHeader; deleted?: string }>('delete', '/v3/kv/deleterange', body);
    return { deleted: num(r.deleted), revision: num(r.header?.revision) };
  }

  /**
   * txn runs `success` when every comparison holds, else `failure`, atomically. Caution: an attempt that
   * timed out may have committed before the retry runs, so the retry can take the other branch.
   */
  async txn(t: { compare: Compare[]; success: TxnOp[]; failure?: TxnOp[] }): Promise<TxnResult> {
    const compare = t.compare.map((c) => {
      const [target, field] = COMPARE_TARGET[c.target];
      const value = c.target === 'value' ? b64(c.value as string) : String(c.value);
      return { key: b64(c.key), target, result: COMPARE_RESULT[c.result ?? '='], [field]: value };
    });
    const r = await this.#call<{ header?: WireHeader; succeeded?: boolean; responses?: WireTxnResponse[] }>('txn', '/v3/kv/txn', {
      compare,
      success: t.success.map(opBody),
      failure: (t.failure ?? []).map(opBody),
    });
    return {
      succeeded: r.succeeded === true,
      revision: num(r.header?.revision),
      responses: (r.responses ?? []).map((x) => ({
        kvs: (x.response_range?.kvs ?? []).map(toKv),
        deleted: num(x.response_delete_range?.deleted),
      })),
    };
  }

  /**
   * createIfAbsent puts `key` only when it does not exist (lock acquisition) and says whether it did.
   * Give a value unique to the caller (an owner ID). When an attempt timed out after committing, the
   * retry finds that value already in place with the same lease and still reports success.
   */
  async createIfAbsent(key: string, value: string, opts: { lease?: string } = {}): Promise<boolean> {
    const r = await this.txn({
      compare: [{ key, target: 'createRevision', value: 0 }],
      success: [{ put: { key, value, ...(opts.lease ? { lease: opts.lease } : {}) } }],
      failure: [{ get: { key } }],
    });
    if (r.succeeded) return true;
    const held = r.responses[0]?.kvs[0];
    return held !== undefined && held.value === value && held.lease === (opts.lease ?? '0');
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const r = await this.#call<{ ID?: string; TTL?: string; error?: string }>('lease grant', '/v3/lease/grant', { TTL: String(ttlSeconds) });
    if (!r.ID) throw new EtcdRequestError('lease grant', r.error || 'no lease ID in the answer', 2, 200);
    return { id: r.ID, ttl: num(r.TTL) };
  }

  /** revokeLease deletes the lease and every key attached to it; a lease already gone is not an error. */
  async revokeLease(id: string): Promise<void> {
    try {
      await this.#call('lease revoke', '/v3/lease/revoke', { ID: id });
    } catch (err) {
      if (!(err instanceof EtcdLeaseNotFoundError)) throw err;
    }
  }

  /** keepAliveOnce refreshes a lease once and returns its remaining TTL in seconds. */
  async keepAliveOnce(id: string): Promise<number> {
    // The gateway streams this call: one `{"result": …}` line per request sent, then it closes.
    const r = await this.#call<{ result?: { TTL?: string }; error?: unknown }>('lease keepalive', '/v3/lease/keepalive', { ID: id });
    if (r.error) throw gatewayError('lease keepalive', 200, r);
    const ttl = num(r.result?.TTL);
    if (ttl <= 0) throw new EtcdLeaseNotFoundError('lease keepalive');
    return ttl;
  }

  /**
   * keepAlive refreshes the lease every third of its TTL until stopped. A failed refresh is retried
   * sooner. `onLost` is called once if etcd reports the lease gone (expired or revoked), and the
   * refresher then stops.
   */
  keepAlive(id: string, opts: { ttlSeconds?: number; onLost?: (err: EtcdError) => void } = {}): KeepAlive {
    let timer: NodeJS.Timeout | null = null;
    let stopped = false;
    let ttl = opts.ttlSeconds ?? 0;
    const handle: KeepAlive = {
      stop: () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        this.#keepAlives.delete(handle);
      },
    };
    const schedule = (ms: number): void => {
      if (stopped) return;
      timer = setTimeout(tick, ms);
      timer.unref(); // a forgotten refresher must not keep the process alive
    };
    const tick = (): void => {
      this.keepAliveOnce(id).then(
        (t) => {
          ttl = t;
          schedule(Math.max(200, (t * 1000) / 3));
        },
        (err: unknown) => {
          if (stopped) return;
          if (err instanceof EtcdLeaseNotFoundError || err instanceof EtcdClosedError) {
            handle.stop();
            if (err instanceof EtcdLeaseNotFoundError) opts.onLost?.(err);
            return;
          }
          this.#logger?.warn('etcd lease keep-alive failed, retrying', { lease: id, error: messageOf(err) });
          schedule(Math.max(100, ttl > 0 ? (ttl * 1000) / 10 : 250));
        },
      );
    };
    this.#keepAlives.add(handle);
    // First refresh now when the TTL is unknown, else a third of the way in.
    schedule(ttl > 0 ? (ttl * 1000) / 3 : 0);
    return handle;
  }

  /**
   * watchPrefix delivers every change under `prefix` from `fromRevision` on (inclusive; 0 = from now), in
   * order, in batches of one revision or more. To see a prefix and then its changes with nothing lost,
   * read it with getPrefix and watch from that `revision + 1`. If the member it streams from dies or loses
   * its leader, the watch moves to another endpoint and resumes after the last delivered revision.
   * `onError` gets only errors that end the watch (EtcdCompactedError); transient ones are logged and retried.
   */
  watchPrefix(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onError?: (err: EtcdError) => void,
  ): Watch {
    if (this.#closed) throw new EtcdClosedError();
    const tokens = this.#tokens;
    const ctx: WatchContext = {
      endpoints: this.endpoints, timeoutMs: this.timeoutMs, probeMs: this.#watchProbeMs, agent: this.#agent, logger: this.#logger, first: this.#current,
      configPath: this.#configPath,
      refusalRetryMs: this.#refusalRetryMs,
      token: tokens === null ? () => Promise.resolve(null) : () => tokens.get(),
      invalidate: (t) => tokens?.invalidate(t),
      refusal: (op, body, err) => this.#refusal(op, body, err),
    };
    const w = new PrefixWatch(ctx, prefix, fromRevision, onEvents, onError ?? null);
    this.#watches.add(w);
    w.run().finally(() => this.#watches.delete(w));
    return w;
  }

  /** close stops every watch and keep-alive and closes the connections; later calls fail with EtcdClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const w of this.#watches) w.stop();
    for (const k of this.#keepAlives) k.stop();
    await this.#agent.destroy();
  }

  /**
   * #call posts `body` to `path`, starting at the endpoint that answered last, retrying the others.
   * With a user, it sends the token, and authenticates once more when etcd says the token ended.
   * `auth` is false for the authentication call itself.
   */
  async #call<T>(op: string, path: string, body: object, auth = true): Promise<T> {
    const n = this.endpoints.length;
    const payload = JSON.stringify(body);
    const tokens = auth ? this.#tokens : null;
    let last: unknown = null;
    let renewed = false;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      if (this.#closed) throw new EtcdClosedError();
      // After each full round over the endpoints, back off briefly: an election takes about a second.
      if (attempt > 0 && attempt % n === 0) {
        await sleep(Math.min(50 * 2 ** (attempt / n), 400), undefined, { signal: this.#closing.signal }).catch(() => undefined);
        if (this.#closed) throw new EtcdClosedError();
      }
      const idx = (this.#current + attempt) % n;
      const endpoint = this.endpoints[idx]!;
      const token = tokens === null ? null : await tokens.get();
      try {
        const res = await this.#once<T>(endpoint, op, path, payload, token);
        if (idx !== this.#current) {
          this.#current = idx;
          this.#logger?.debug('etcd switched endpoint', { endpoint, op });
        }
        return res;
      } catch (err) {
        if (err instanceof EtcdRequestError) {
          if (tokens !== null && isTokenProblem(err.message) && !renewed) {
            // The token expired or was revoked: a new one, and this attempt again (not counted).
            this.#logger?.debug('etcd token no longer valid, authenticating again', { endpoint, op, error: err.message });
            tokens.invalidate(token);
            renewed = true;
            attempt--;
            continue;
          }
          const refused = auth ? this.#refusal(op, body, err) : null;
          if (refused !== null) throw refused;
        }
        if (!retriable(err)) throw err;
        last = err;
        this.#logger?.debug('etcd call failed, trying the next endpoint', { endpoint, op, attempt, error: messageOf(err) });
      }
    }
    const https = this.endpoints.some((e) => e.startsWith('https:'));
    throw new EtcdUnavailableError(op, this.#attempts, last, tlsHint(last, this.#configPath, { https, cert: this.#hasCert }));
  }

  async #once<T>(endpoint: string, op: string, path: string, payload: string, token: string | null): Promise<T> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.#closing.signal]);
    let status: number;
    let text: string;
    try {
      const res = await undici().request(endpoint + path, {
        method: 'POST',
        body: payload,
        headers: token === null ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', authorization: token },
        dispatcher: this.#agent,
        signal,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (this.#closed) throw new EtcdClosedError();
      if (signal.aborted) throw new EtcdTimeoutError(endpoint, op, this.timeoutMs);
      throw err;
    }
    let parsed: unknown;
    try {
      // A streaming endpoint (keepalive) sends newline-delimited messages; the first is the answer.
      const nl = text.indexOf('\n');
      parsed = JSON.parse(nl > 0 && nl < text.length - 1 ? text.slice(0, nl) : text);
    } catch {
      if (status === 200) throw new EtcdProtocolError(`etcd ${op} on ${endpoint}: answer is not JSON`);
      throw plainTextError(op, endpoint, status, text, this.#configPath);
    }
    if (status !== 200) throw gatewayError(op, status, parsed);
    return parsed as T;
  }
}

// -------------------------------------------------------------------------------------------- watch

/** WatchContext is what a watch borrows from its client. */
interface WatchContext {
  endpoints: readonly string[];
  timeoutMs: number;
  probeMs: number;
  agent: Agent;
  logger: Pick<Logger, 'debug' | 'warn'> | null;
  /** Index of the endpoint to try first. */
  first: number;
  configPath: string;
  refusalRetryMs: number;
  /** The token to send (null: none); invalidate drops one etcd said has ended. */
  token: () => Promise<string | null>;
  invalidate: (token: string | null) => void;
  /** The client's reading of a permission or missing-user error (null: not one). */
  refusal: (op: string, body: object, err: EtcdRequestError) => EtcdAccessError | null;
}

/** PrefixWatch is one logical watch: a loop of HTTP streams, each resuming where the last one stopped. */
class PrefixWatch implements Watch {
  #ctx: WatchContext;
  #prefix: string;
  #next: number;
  #onEvents: (events: WatchEvent[], revision: number) => void;
  #onError: ((err: EtcdError) => void) | null;
  #stopped = false;
  #abort: AbortController | null = null;
  #wake: AbortController = new AbortController();
  /** The refusal last logged, so a persistent one is logged once. */
  #refusedWith = '';

  constructor(
    ctx: WatchContext,
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onError: ((err: EtcdError) => void) | null,
  ) {
    this.#ctx = ctx;
    this.#prefix = prefix;
    this.#next = fromRevision > 0 ? fromRevision : 0;
    this.#onEvents = onEvents;
    this.#onError = onError;
  }

  get nextRevision(): number {
    return this.#next;
  }

  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake.abort();
  }

  async run(): Promise<void> {
    const eps = this.#ctx.endpoints;
    let idx = this.#ctx.first;
    let failures = 0;
    while (!this.#stopped) {
      const endpoint = eps[idx % eps.length]!;
      try {
        await this.#stream(endpoint, () => (failures = 0));
        if (this.#stopped) return;
        this.#ctx.logger?.debug('etcd watch stream ended, reconnecting', { endpoint, prefix: this.#prefix });
      } catch (err) {
        if (this.#stopped) return;
        if (err instanceof EtcdCompactedError || err instanceof EtcdClosedError) {
          this.#stopped = true;
          if (err instanceof EtcdCompactedError) this.#onError?.(err);
          return;
        }
        if (err instanceof EtcdAccessError) {
          // A refusal is a set-up mistake: said once (until it changes), retried slowly, since
          // a permission may be granted or a password fixed in etcd while Gantry runs.
          if (err.message !== this.#refusedWith) this.#ctx.logger?.warn('etcd watch refused; keeping the last configuration and retrying', { prefix: this.#prefix, error: err.message });
          else this.#ctx.logger?.debug('etcd watch still refused', { prefix: this.#prefix });
          this.#refusedWith = err.message;
          await sleep(this.#ctx.refusalRetryMs, undefined, { signal: this.#wake.signal }).catch(() => undefined);
          continue;
        }
        this.#ctx.logger?.debug('etcd watch failed, trying the next endpoint', { endpoint, prefix: this.#prefix, error: messageOf(err) });
      }
      idx++;
      failures++;
      // First retry at once on the next endpoint; back off (up to 1 s) only when they all fail.
      if (failures >= eps.length) await sleep(Math.min(50 * 2 ** (failures - eps.length), 1000), undefined, { signal: this.#wake.signal }).catch(() => undefined);
    }
  }

  /** #stream runs one watch stream until it ends or fails; `onCreated` is called when etcd accepted it. */
  async #stream(endpoint: string, onCreated: () => void): Promise<void> {
    const c = this.#ctx;
    const ac = new AbortController();
    this.#abort = ac;
    // The stream is long-lived, so only its creation has a deadline.
    let created = false;
    const deadline = setTimeout(() => ac.abort(new EtcdTimeoutError(endpoint, 'watch', c.timeoutMs)), c.timeoutMs);
    let probe: NodeJS.Timeout | null = null;
    let token: string | null = null;
    const req = { key: b64(this.#prefix), range_end: prefixEnd(this.#prefix), start_revision: String(this.#next) };
    try {
      token = await c.token();
      // hasleader: the member cancels the watch when it loses its leader, instead of going quiet.
      const headers: Record<string, string> = { 'content-type': 'application/json', 'grpc-metadata-hasleader': 'true' };
      if (token !== null) headers['authorization'] = token;
      const res = await undici().request(endpoint + '/v3/watch', {
        method: 'POST',
        body: JSON.stringify({ create_request: req }),
        headers,
        dispatcher: c.agent,
        signal: ac.signal,
        bodyTimeout: 0,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        let body: unknown;
        try { body = JSON.parse(text); } catch { throw plainTextError('watch', endpoint, res.statusCode, text, c.configPath); }
        throw this.#reading(gatewayError('watch', res.statusCode, body), token, req);
      }
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Buffer, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let msg: { result?: WireWatch; error?: unknown };
          try { msg = JSON.parse(line); } catch { throw new EtcdProtocolError(`etcd watch on ${endpoint}: line is not JSON`); }
          if (msg.error) throw this.#reading(gatewayError('watch', 200, msg), token, req);
          const r = msg.result;
          if (!r) continue;
          if (r.canceled) {
            // etcd answers a refused watch (permission, token) with created + canceled at once.
            clearTimeout(deadline);
            const compacted = num(r.compact_revision);
            if (compacted > 0) throw new EtcdCompactedError(this.#prefix, compacted);
            const reason = r.cancel_reason ?? 'no reason given';
            // The reason is a Go error text: `rpc error: code = PermissionDenied desc = etcdserver: permission denied`.
            const code = /code = PermissionDenied/.test(reason) ? GRPC_PERMISSION_DENIED : 2;
            throw this.#reading(new EtcdRequestError('watch', reason.replace(/^rpc error: code = \w+ desc = /, ''), code, 200), token, req);
          }
          if (r.created && !created) {
            created = true;
            clearTimeout(deadline);
            this.#refusedWith = '';
            // Watching "from now": etcd sends changes after the revision in this header.
            if (this.#next === 0) this.#next = num(r.header?.revision) + 1;
            onCreated();
            if (c.probeMs > 0) probe = this.#probe(endpoint, ac);
          }
          if (r.events?.length) this.#deliver(r.events, num(r.header?.revision));
        }
      }
    } catch (err) {
      if (this.#stopped) return;
      if (ac.signal.aborted && ac.signal.reason instanceof EtcdError) throw ac.signal.reason;
      throw err;
    } finally {
      clearTimeout(deadline);
      if (probe) clearInterval(probe);
      if (!ac.signal.aborted) ac.abort();
    }
  }

  /**
   * #reading maps an error etcd gave a watch: a token that ended is dropped (the next stream
   * authenticates again) and the error is retried; a refusal becomes the client's EtcdAccessError.
   */
  #reading(err: EtcdError, token: string | null, req: { key: string }): EtcdError {
    if (!(err instanceof EtcdRequestError)) return err;
    if (isTokenProblem(err.message)) {
      const refused = this.#ctx.refusal('watch', req, err);
      if (refused !== null) return refused;
      this.#ctx.invalidate(token);
      return err;
    }
    return this.#ctx.refusal('watch', req, err) ?? err;
  }

  /**
   * #probe asks the watch's member for a linearizable count of the prefix every `probeMs`. That read
   * needs a live member with a leader; when it fails, the stream is aborted and the watch moves on.
   * An answer that the token ended is no reason to move: the token is dropped and the next probe
   * authenticates again.
   */
  #probe(endpoint: string, stream: AbortController): NodeJS.Timeout {
    const c = this.#ctx;
    const body = JSON.stringify({ ...rangeBody(this.#prefix, true), count_only: true });
    let busy = false;
    const timer = setInterval(() => {
      if (busy || stream.signal.aborted) return;
      busy = true;
      let token: string | null = null;
      c.token()
        .then((t) => {
          token = t;
          return undici().request(endpoint + '/v3/kv/range', {
            method: 'POST',
            body,
            headers: t === null ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', authorization: t },
            dispatcher: c.agent,
            signal: AbortSignal.any([AbortSignal.timeout(c.timeoutMs), stream.signal]),
          });
        })
        .then(async (res) => {
          const text = await res.body.text();
          if (res.statusCode === 200) return;
          if (isTokenProblem(text)) {
            c.invalidate(token);
            return;
          }
          throw new EtcdError(`HTTP ${res.statusCode}`);
        })
        .catch(() => {
          if (stream.signal.aborted) return;
          c.logger?.debug('etcd watch probe failed, moving the watch', { endpoint, prefix: this.#prefix });
          stream.abort(new EtcdTimeoutError(endpoint, 'watch probe', c.timeoutMs));
        })
        .finally(() => (busy = false));
    }, c.probeMs);
    timer.unref();
    return timer;
  }

  #deliver(wire: WireEvent[], revision: number): void {
    const events: WatchEvent[] = [];
    for (const e of wire) {
      const kv = e.kv ?? {};
      const modRevision = num(kv.mod_revision);
      // A resumed stream starts at #next, so this only guards against a server sending one twice.
      if (modRevision < this.#next) continue;
      events.push({ type: e.type === 'DELETE' ? 'delete' : 'put', key: unb64(kv.key), value: unb64(kv.value), modRevision });
    }
    if (!events.length) return;
    this.#next = events[events.length - 1]!.modRevision + 1;
    try {
      this.#onEvents(events, revision);
    } catch (err) {
      this.#ctx.logger?.warn('etcd watch callback threw', { prefix: this.#prefix, error: messageOf(err) });
    }
  }
}
