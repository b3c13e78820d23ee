/**
 * The middleware registry maps a configuration key (`stripPrefix`) to its factory (Caddy's
 * RegisterModule habit). `chain` is not here: the snapshot compiler expands it into its members.
 */
import type { MiddlewareFactory } from './types.js';

const factories = new Map<string, MiddlewareFactory<any>>();

export function registerMiddleware<O>(factory: MiddlewareFactory<O>): void {
  if (factories.has(factory.type)) throw new Error(`middleware ${factory.type} registered twice`);
  factories.set(factory.type, factory);
}

export function middlewareFactory(type: string): MiddlewareFactory<unknown> | undefined {
  return factories.get(type);
}

export function middlewareTypes(): string[] {
  return [...factories.keys()].sort();
}
