/** Registers the middlewares that read the client's TLS connection: passTLSClientCert. */
import { registerMiddleware } from './registry.js';
import { passTLSClientCert } from './passTLSClientCert/index.js';

registerMiddleware(passTLSClientCert);
