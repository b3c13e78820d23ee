/**
 * Traefik middleware types Gantry knows and does not implement yet, each with the reason: a
 * configuration naming one is refused with "not supported yet (<why>)" rather than "unknown".
 */
export const UNSUPPORTED_MIDDLEWARES: Readonly<Record<string, string>> = {
  contentType: 'Gantry does not guess a Content-Type from the body; the server must send one',
  plugin: 'Traefik plugins are Go or WebAssembly modules for Traefik itself',
};
