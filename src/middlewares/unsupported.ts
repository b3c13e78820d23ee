/**
 * Traefik middleware types Gantry knows and does not implement yet, each with the reason: a
 * configuration naming one is refused with "not supported yet (<why>)" rather than "unknown".
 */
export const UNSUPPORTED_MIDDLEWARES: Readonly<Record<string, string>> = {
  contentType: 'Gantry does not guess a Content-Type from the body; the server must send one',
  grpcWeb: 'the gRPC-Web to gRPC translation (bodies, base64 text mode, trailers as a final frame) is not written yet; gRPC clients reach gRPC servers through Gantry over HTTP/2 (h2c:// or https:// servers)',
  plugin: 'Traefik plugins are Go or WebAssembly modules for Traefik itself',
};
