/**
 * parseClientHello reads the server name (SNI, RFC 6066 §3) and the ALPN protocols (RFC 7301)
 * from the first bytes a TLS client sends, without terminating TLS: TCP routing by SNI, TLS
 * passthrough and the ACME TLS-ALPN-01 answer all decide from this before any handshake.
 * The handshake message may span several records (RFC 8446 §5.1); they are reassembled.
 */

export type HelloResult =
  | { kind: 'incomplete' }
  | { kind: 'notTls' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'hello'; sni: string; alpn: string[] };

/** A ClientHello larger than this is refused (real ones are below 2 KB; 16 KB is one record). */
export const MAX_HELLO = 16 * 1024 + 5 * 4;

const INCOMPLETE: HelloResult = { kind: 'incomplete' };

export function parseClientHello(buf: Buffer): HelloResult {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] !== 0x16) return { kind: 'notTls' };
  // Reassemble the handshake payload from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need < 0 || have < need) {
    if (buf.length < off + 5) return buf.length > MAX_HELLO ? { kind: 'invalid', reason: 'ClientHello too large' } : INCOMPLETE;
    if (buf[off] !== 0x16) return { kind: 'invalid', reason: 'ClientHello interrupted by another record type' };
    const len = buf.readUInt16BE(off + 3);
    if (buf.length < off + 5 + len) return buf.length > MAX_HELLO ? { kind: 'invalid', reason: 'ClientHello too large' } : INCOMPLETE;
    const frag = buf.subarray(off + 5, off + 5 + len);
    parts.push(frag);
    have += frag.length;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const hs = Buffer.concat(parts);
      if (hs[0] !== 0x01) return { kind: 'invalid', reason: 'first handshake message is not a ClientHello' };
      need = 4 + hs.readUIntBE(1, 3);
      if (need > MAX_HELLO) return { kind: 'invalid', reason: 'ClientHello too large' };
    }
  }
  return readHello(Buffer.concat(parts).subarray(4, need));
}

function readHello(b: Buffer): HelloResult {
  let p = 2 + 32; // legacy_version, random
  if (p + 1 > b.length) return bad();
  p += 1 + b[p]!; // session id
  if (p + 2 > b.length) return bad();
  p += 2 + b.readUInt16BE(p); // cipher suites
  if (p + 1 > b.length) return bad();
  p += 1 + b[p]!; // compression methods
  let sni = '';
  const alpn: string[] = [];
  if (p === b.length) return { kind: 'hello', sni, alpn };
  if (p + 2 > b.length) return bad();
  const end = p + 2 + b.readUInt16BE(p);
  if (end > b.length) return bad();
  p += 2;
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const ext = b.subarray(p + 4, p + 4 + len);
    if (ext.length !== len) return bad();
    p += 4 + len;
    if (type === 0 && ext.length >= 2) {
      // server_name: list of (type, length, name); only host_name (0) is defined.
      let q = 2;
      while (q + 3 <= ext.length) {
        const nt = ext[q]!;
        const nl = ext.readUInt16BE(q + 1);
        if (nt === 0) {
          sni = ext.subarray(q + 3, q + 3 + nl).toString('latin1').toLowerCase();
          break;
        }
        q += 3 + nl;
      }
    } else if (type === 16 && ext.length >= 2) {
      let q = 2;
      while (q < ext.length) {
        const l = ext[q]!;
        alpn.push(ext.subarray(q + 1, q + 1 + l).toString('latin1'));
        q += 1 + l;
      }
    }
  }
  return { kind: 'hello', sni, alpn };
}

function bad(): HelloResult {
  return { kind: 'invalid', reason: 'malformed ClientHello' };
}
