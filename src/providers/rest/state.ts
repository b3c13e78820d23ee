/**
 * RestState is what the REST provider persists: the dynamic configuration pushed through the native
 * API (`PUT /api/providers/rest`, granular writes) and the Docker Flow Proxy registrations, kept as
 * the parameters they were made with so that a registry change (a new instance in etcd) can rebuild
 * their servers without another reconfigure call.
 */
import { createHash } from 'node:crypto';
import type { DynamicConfig } from '../../config/dynamic/schema.js';
import type { DfpRegistration } from './dfp.js';

export interface RestState {
  config: DynamicConfig;
  dfp: Record<string, DfpRegistration>;
  /**
   * writeId names the write that produced this state. A retried etcd write whose first attempt did
   * land finds its own id on re-read and knows it succeeded (etcd writes are at-least-once).
   */
  writeId?: string;
}

export function emptyState(): RestState {
  return { config: {}, dfp: {} };
}

/** normalizeState accepts what a storage read gives back, tolerating missing sections. */
export function normalizeState(v: unknown): RestState {
  const o = (v !== null && typeof v === 'object' ? v : {}) as Partial<RestState>;
  const config = o.config !== null && typeof o.config === 'object' ? o.config : {};
  const dfp = o.dfp !== null && typeof o.dfp === 'object' ? o.dfp : {};
  const s: RestState = { config, dfp };
  if (typeof o.writeId === 'string') s.writeId = o.writeId;
  return s;
}

/** stableStringify is JSON with object keys sorted, so equal values give equal text (and ETags). */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableStringify(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** etagOf is a strong entity tag for a value: absent values have none. */
export function etagOf(v: unknown): string | null {
  if (v === undefined) return null;
  return `"${createHash('sha256').update(stableStringify(v)).digest('base64url').slice(0, 22)}"`;
}

/**
 * ifMatchHolds applies RFC 9110 §13.1.1: no header passes; `*` passes when the resource exists;
 * otherwise one of the listed (strong) tags must equal the current one.
 */
export function ifMatchHolds(header: string | undefined, current: string | null): boolean {
  if (header === undefined) return true;
  const h = header.trim();
  if (h === '*') return current !== null;
  if (current === null) return false;
  return h.split(',').map((t) => t.trim()).some((t) => t === current);
}
