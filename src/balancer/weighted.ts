/**
 * A `weighted` service splits requests between child services by weight (canary releases), with
 * the same smooth round-robin as the wrr balancer and an optional sticky cookie whose values name
 * child services (hashed, like server URLs). Traefik's `weighted` service does the same with its
 * WRR over handlers.
 *
 * A child that reports no available server (its `available` returns false) is skipped while
 * another child can answer; when none can, the split goes on over all children and the chosen
 * child answers its own 503 naming its service.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SmoothWeighted } from './wrr.js';
import { StickyCookie } from './cookie.js';
import type { StickyCookieConfig } from '../config/dynamic/schema.js';
import type { Handler, RequestContext } from '../proxy/context.js';
import { ConfigError } from '../errors.js';

export interface WeightedChild {
  /** Qualified name of the child service (`canary@file`); the sticky cookie value is derived from it. */
  readonly name: string;
  readonly handler: Handler;
  /** Share of the requests; 0 sends none (but a sticky client of it is moved elsewhere). */
  readonly weight: number;
  /** Whether the child could answer now (e.g. hasAvailableServer of its balancer); always by default. */
  readonly available?: () => boolean;
}

class WeightedService {
  readonly #children: readonly WeightedChild[];
  readonly #handlers: readonly Handler[];
  readonly #available: readonly ((() => boolean) | null)[];
  readonly #wrr: SmoothWeighted;
  readonly #eligible: Uint8Array;
  readonly #all: Uint8Array;
  readonly #sticky: StickyCookie | null;

  constructor(children: readonly WeightedChild[], sticky: StickyCookieConfig | undefined, serviceName: string, secret: string) {
    this.#children = children;
    this.#handlers = children.map((c) => c.handler);
    this.#available = children.map((c) => c.available ?? null);
    this.#wrr = new SmoothWeighted(children.map((c) => c.weight));
    this.#eligible = new Uint8Array(children.length);
    this.#all = new Uint8Array(children.length).fill(1);
    this.#sticky = sticky === undefined ? null : new StickyCookie(sticky, serviceName, children.map((c) => c.name), secret);
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    const sticky = this.#sticky;
    if (sticky !== null) {
      const i = sticky.indexOf(req);
      if (i !== -1 && this.#children[i]!.weight > 0 && this.#isAvailable(i)) {
        this.#handlers[i]!(req, res, ctx);
        return;
      }
    }
    const i = this.#next();
    if (sticky !== null) sticky.write(res, i);
    this.#handlers[i]!(req, res, ctx);
  }

  #isAvailable(i: number): boolean {
    const f = this.#available[i]!;
    return f === null || f();
  }

  #next(): number {
    const eligible = this.#eligible;
    for (let i = 0; i < eligible.length; i++) eligible[i] = this.#isAvailable(i) ? 1 : 0;
    const i = this.#wrr.next(eligible);
    if (i !== -1) return i;
    const j = this.#wrr.next(this.#all);
    // Every weight is 0: the first child answers, as no share was asked of any.
    return j === -1 ? 0 : j;
  }
}

/**
 * createWeightedHandler returns the handler of a `weighted` service. `secret` is mixed into the
 * sticky values and must be the same in every worker (empty by default).
 */
export function createWeightedHandler(
  children: readonly WeightedChild[],
  sticky: StickyCookieConfig | undefined,
  serviceName: string,
  secret = '',
): Handler {
  if (children.length === 0) throw new ConfigError(`http.services.${serviceName}.weighted.services`, 'no services');
  const service = new WeightedService(children, sticky, serviceName, secret);
  return service.handle.bind(service);
}
