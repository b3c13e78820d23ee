/**
 * Messages between the primary and its workers (over the cluster IPC channel). The primary owns
 * the providers; workers only ever receive whole, versioned sets of provider configurations.
 */
import type { ConfigMessage } from '../providers/provider.js';
import type { StaticConfig } from '../config/static/index.js';
import type { StatsSnapshot } from '../observability/metrics.js';
import type { ChallengeKind } from '../tls/acme/storage.js';
import type { PemPair } from '../tls/selfsigned.js';

/**
 * Primary → worker: the provider configurations of snapshot `version`, and by entrypoint the
 * primary's port and how many listening sockets it sends (one ListenSocket message each).
 */
export interface ConfigUpdate {
  type: 'gantry:config';
  version: number;
  messages: ConfigMessage[];
  listeners: Record<string, { port: number; sockets: number }>;
}

/**
 * Primary → worker, first of all: the static configuration the primary resolved and validated,
 * and its working directory. A worker never reads files, environment or flags itself, so every
 * process serves the same static configuration, even after the file changed on disk.
 */
export interface StaticConfigUpdate {
  type: 'gantry:static';
  config: StaticConfig;
  cwd: string;
}

/** Primary → worker, with a net.Server handle: one of the entrypoint's listening sockets, to accept on. */
export interface ListenSocket {
  type: 'gantry:socket';
  entrypoint: string;
}

/** Primary → worker: drain and exit. */
export interface ShutdownRequest {
  type: 'gantry:shutdown';
}

/** Worker → primary: ready for its first configuration. */
export interface WorkerHello {
  type: 'gantry:hello';
}

/** Worker → primary: configuration `version` is live in this worker. */
export interface WorkerApplied {
  type: 'gantry:applied';
  version: number;
}

/** Worker → primary: this worker's entrypoints are listening (ACME challenges can reach it). */
export interface WorkerListening {
  type: 'gantry:listening';
}

/** Worker → primary: this worker could not start (it exits next); `error` says why (EADDRINUSE …). */
export interface WorkerStartFailed {
  type: 'gantry:start-failed';
  error: string;
}

/** Primary → worker: send your traffic counters (the API and /metrics speak for all workers). */
export interface StatsRequest {
  type: 'gantry:stats?';
  id: number;
}

/** Worker → primary: this worker's counters and open connections. */
export interface StatsReply {
  type: 'gantry:stats';
  id: number;
  stats: StatsSnapshot | null;
  openConnections: Record<string, number>;
}

/**
 * Primary → worker: every certificate the primary's ACME resolvers hold, by resolver (the whole
 * set, never a diff). Only the primary talks to the CA; workers serve what it sends.
 */
export interface CertsUpdate {
  type: 'gantry:certs';
  acme: Record<string, PemPair[]>;
}

/**
 * Primary → worker: an ACME challenge answer (HTTP-01 key authorization by token, TLS-ALPN-01
 * certificate by domain), or its withdrawal (value null). The worker acknowledges with the same
 * id, and the primary tells the CA to validate only once every worker has it.
 */
export interface ChallengeUpdate {
  type: 'gantry:challenge';
  id: number;
  kind: ChallengeKind;
  key: string;
  value: string | null;
}

/** Worker → primary: challenge update `id` is applied. */
export interface ChallengeAck {
  type: 'gantry:challenge-ack';
  id: number;
}

/**
 * Worker → primary: render /metrics for me. A worker serving `/metrics` on an entrypoint
 * (metrics.prometheus.entryPoint) asks the primary, which speaks for every worker.
 */
export interface MetricsRequest {
  type: 'gantry:metrics?';
  id: number;
}

/** Primary → worker: the /metrics text (or why there is none). */
export interface MetricsReply {
  type: 'gantry:metrics';
  id: number;
  text: string | null;
  error?: string;
}

export type ToWorker = StaticConfigUpdate | ConfigUpdate | ListenSocket | ShutdownRequest | StatsRequest | CertsUpdate | ChallengeUpdate | MetricsReply;
export type ToPrimary = WorkerHello | WorkerStartFailed | WorkerApplied | WorkerListening | StatsReply | ChallengeAck | MetricsRequest;

export function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}
