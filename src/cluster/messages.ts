/**
 * Messages between the primary and its workers (over the cluster IPC channel). The primary owns
 * the providers; workers only ever receive whole, versioned sets of provider configurations.
 */
import type { ConfigMessage } from '../providers/provider.js';

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

export type ToWorker = ConfigUpdate | ShutdownRequest;
export type ToPrimary = WorkerHello | WorkerApplied;

export function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}
