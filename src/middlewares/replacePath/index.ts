/**
 * replacePath forwards every request with a fixed path (Traefik `pkg/middlewares/replacepath`),
 * keeping the query string; the original path (with its query, as Traefik sends it) goes in
 * X-Replaced-Path.
 */
import type { IncomingMessage } from 'node:http';
import * as z from '../../config/zod.js';
import { ConfigError } from '../../errors.js';
import type { MiddlewareFactory } from '../types.js';
import { appendRequestHeader } from '../stripPrefix/index.js';

export const replacePathSchema = z.strictObject({
  path: z.string(),
});

export type ReplacePathOptions = z.infer<typeof replacePathSchema>;

/** setReplacedPath records the path before the rewrite, as Traefik's X-Replaced-Path. */
export function setReplacedPath(req: IncomingMessage, original: string): void {
  appendRequestHeader(req, 'x-replaced-path', original);
}

/**
 * checkPath validates a configured (percent-encoded) path and returns it with a leading slash.
 * Traefik fails each request with 500 when the escapes are broken; Gantry refuses the
 * configuration instead.
 */
export function checkPath(path: string, where: string): string {
  if (/[\x00-\x20\x7f#]/.test(path)) throw new ConfigError(where, `path ${JSON.stringify(path)} has characters not allowed in a path`);
  try {
    decodeURIComponent(path);
  } catch {
    throw new ConfigError(where, `path ${JSON.stringify(path)} has an invalid percent-encoding`);
  }
  const p = path.replaceAll('?', '%3F');
  return p.charCodeAt(0) === 47 ? p : '/' + p;
}

export const replacePath: MiddlewareFactory<ReplacePathOptions> = {
  type: 'replacePath',
  schema: replacePathSchema,
  create(options, next) {
    const path = checkPath(options.path, 'replacePath.path');
    return (req, res, ctx) => {
      // Traefik records req.URL.String() here, which carries the query string when there is one.
      setReplacedPath(req, ctx.target());
      ctx.path = path;
      next(req, res, ctx);
    };
  },
};
