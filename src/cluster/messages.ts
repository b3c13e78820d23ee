/**
 * Messages between the primary and its workers (over the cluster IPC channel). The primary owns
 * the providers; workers only ever receive whole, versioned sets of provider configurations.
 */
import type { ConfigMessage } from '../providers/provider.js';
import type { StatsSnapshot } from '../observability/metrics.js';

/** Primary → worker: the provider configurations of snapshot `version`. */
export interface ConfigUpdate {
  type: 'gantry:config';
  version: number;
  messages: ConfigMessage[];
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

export type ToWorker = ConfigUpdate | ShutdownRequest | StatsRequest;
export type ToPrimary = WorkerHello | WorkerApplied | StatsReply;

export function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}
