/**
 * A Provider watches one source (a file, Docker, etcd, the REST API …) and emits its whole
 * dynamic configuration every time the source changes — never a diff (Traefik's provider habit).
 * Names inside a provider's configuration are bare; the watcher qualifies them (`demo@file`).
 */
import type { DynamicConfig } from '../config/dynamic/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Loaded } from './first-load.js';

export interface ConfigMessage {
  /** Provider name, used as the qualifier: `file`, `docker`, `rest`, `etcd` … */
  provider: string;
  /**
   * Never changed once emitted: the watcher keeps it as the elements' raw form and compares the
   * next message's elements with it (ValidationMemo). A change is a new message with new objects.
   */
  config: DynamicConfig;
  /** Errors the provider found that are not tied to a config element it emitted (e.g. a bad label). */
  errors?: ProviderError[];
}

/** ProviderError names where in the source the problem is (a file:line:col, a container label …). */
export interface ProviderError {
  /** The element it concerns in the dynamic model, if any (`http.routers.web`). */
  path?: string;
  /** Where in the source (file name, container name, etcd key). */
  source?: string;
  message: string;
}

export type Emit = (msg: ConfigMessage) => void;

export interface Provider {
  readonly name: string;
  /**
   * loaded is done once the provider has emitted the whole configuration its source held when it
   * started (the file read, the containers listed, the etcd keys read, the stored registrations
   * loaded). Until every provider's is, Gantry is not ready (/ping answers 503).
   */
  readonly loaded: Loaded;
  /**
   * start begins watching; it emits a first configuration as soon as it has one. It resolves once
   * the provider is running (not when it stops); failures after that are logged and retried inside.
   */
  start(emit: Emit, logger: Logger): Promise<void>;
  /** stop ends all watches and timers. */
  stop(): Promise<void>;
}
