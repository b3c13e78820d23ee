/**
 * Accept-Encoding negotiation as Traefik's compress middleware does it
 * (pkg/middlewares/compress/compress.go getCompressionEncoding): the highest q-value wins among the
 * encodings the middleware offers; on a tie the server's order (`encodings`) decides; `*` stands
 * for any offered encoding not named; q=0 refuses an encoding. '' means "do not compress".
 */

/** negotiate picks an encoding from `offered` (in server preference order) for an Accept-Encoding value. */
export function negotiate(acceptEncoding: string, offered: readonly string[], defaultEncoding: string): string {
  let starQ = -1;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const semi = part.indexOf(';');
    const name = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (name === '') continue;
    let weight = 1;
    if (semi >= 0) {
      const m = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(part.slice(semi));
      if (m) {
        weight = Number(m[1]);
        if (!Number.isFinite(weight)) weight = 0;
      }
    }
    if (name === '*') starQ = weight;
    else q.set(name, Math.max(weight, q.get(name) ?? -1));
  }
  let best = '';
  let bestQ = 0;
  for (const enc of offered) {
    let w = q.get(enc);
    if (w === undefined) {
      if (starQ < 0) continue;
      // Traefik: a wildcard takes the defaultEncoding when one is set, else the preferred encoding.
      w = defaultEncoding === '' || defaultEncoding === enc ? starQ : -1;
      if (w < 0) continue;
    }
    if (w > bestQ) {
      best = enc;
      bestQ = w;
    }
  }
  return best;
}
