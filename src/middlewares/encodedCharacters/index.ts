/**
 * encodedCharacters refuses (400) requests whose path carries a percent-encoded character that
 * routers and servers may read differently (Traefik v3.6+, pkg/middlewares/encodedcharacters):
 * `/`, `\`, NUL, `;`, `%`, `?` and `#`, each unless its `allow…` option is true. The path is read
 * as the client sent it. The middleware only refuses: an `allow…` option lets this middleware
 * pass the character, while the entrypoint may still refuse it before routing (encoded `/`, `\`
 * and NUL are, unless `entryPoints.<name>.http.encodedCharacters` allows them), as in Traefik.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from '../../config/zod.js';
import type { Handler, RequestContext } from '../../proxy/context.js';
import { sendText } from '../../proxy/respond.js';
import type { MiddlewareFactory } from '../types.js';

export const encodedCharactersSchema = z.strictObject({
  allowEncodedSlash: z.boolean().optional(),
  allowEncodedBackSlash: z.boolean().optional(),
  allowEncodedNullCharacter: z.boolean().optional(),
  allowEncodedSemicolon: z.boolean().optional(),
  allowEncodedPercent: z.boolean().optional(),
  allowEncodedQuestionMark: z.boolean().optional(),
  allowEncodedHash: z.boolean().optional(),
});

export type EncodedCharactersOptions = z.infer<typeof encodedCharactersSchema>;

/** The encoded byte (upper-case hex) each option lets through. */
const OPTIONS: ReadonlyArray<[keyof EncodedCharactersOptions, string]> = [
  ['allowEncodedSlash', '2F'],
  ['allowEncodedBackSlash', '5C'],
  ['allowEncodedNullCharacter', '00'],
  ['allowEncodedSemicolon', '3B'],
  ['allowEncodedPercent', '25'],
  ['allowEncodedQuestionMark', '3F'],
  ['allowEncodedHash', '23'],
];

/** deniedIn returns the first denied `%XX` of a raw path, '' when there is none, or null for a truncated escape. */
export function deniedIn(path: string, denied: ReadonlySet<string>): string | null {
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 3)) {
    if (i + 2 >= path.length) return null;
    const hex = path.slice(i + 1, i + 3).toUpperCase();
    if (denied.has(hex)) return `%${path.slice(i + 1, i + 3)}`;
  }
  return '';
}

export const encodedCharacters: MiddlewareFactory<EncodedCharactersOptions> = {
  type: 'encodedCharacters',
  schema: encodedCharactersSchema,
  create(options, next) {
    const denied = new Set(OPTIONS.filter(([k]) => options[k] !== true).map(([, hex]) => hex));
    if (denied.size === 0) return next;
    return function encodedCharactersHandler(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const found = deniedIn(q < 0 ? url : url.slice(0, q), denied);
      if (found === '') return next(req, res, ctx);
      ctx.errorText = found === null ? 'encodedCharacters: truncated percent-encoding in the path' : `encodedCharacters: encoded ${found} in the path`;
      sendText(res, ctx, 400, `400 Bad Request: ${found === null ? 'truncated percent-encoding' : `encoded ${found}`} in the request path`);
    };
  },
};
