/**
 * Registers the traffic-control and response-shaping middlewares: forwardAuth, rateLimit,
 * inFlightReq, circuitBreaker, compress, buffering, errors, retry and grpcWeb.
 */
import { registerMiddleware } from './registry.js';
import { buffering } from './buffering/index.js';
import { circuitBreaker } from './circuitBreaker/index.js';
import { compress } from './compress/index.js';
import { errors } from './errors/index.js';
import { forwardAuth } from './forwardAuth/index.js';
import { grpcWeb } from './grpcWeb/index.js';
import { inFlightReq } from './inFlightReq/index.js';
import { rateLimit } from './rateLimit/index.js';
import { retry } from './retry/index.js';

registerMiddleware(forwardAuth);
registerMiddleware(rateLimit);
registerMiddleware(inFlightReq);
registerMiddleware(circuitBreaker);
registerMiddleware(compress);
registerMiddleware(buffering);
registerMiddleware(errors);
registerMiddleware(retry);
registerMiddleware(grpcWeb);
