/**
 * Raw HTTP/2 frames, for tests that must send what a well-behaved client library never sends:
 * streams reset as fast as they open (Rapid Reset), endless CONTINUATION frames, forbidden
 * fields. Header blocks use HPACK literals without indexing or Huffman coding (RFC 7541 §6.2.2),
 * which every decoder accepts.
 */
import net from 'node:net';
import tls from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** hpackLength encodes an HPACK string length with a 7-bit prefix (no Huffman). */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  n -= 127;
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n >>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** headerBlock encodes fields as literals without indexing (new names). */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00]), hpackLength(n.length), n, hpackLength(v.length), v);
  }
  return Buffer.concat(parts);
}

export function request(path: string, authority: string, extra: Array<[string, string]> = []): Buffer {
  return headerBlock([[':method', 'GET'], [':scheme', 'https'], [':path', path], [':authority', authority], ...extra]);
}

export interface RawH2 {
  socket: net.Socket;
  /** Frame types received, in order (GOAWAY and RST_STREAM are what the tests look for). */
  received: Array<{ type: number; stream: number; code?: number }>;
  closed: Promise<void>;
  send(...frames: Buffer[]): boolean;
}

/** connectRaw opens an h2 connection (TLS with ALPN h2 when `tls`, else cleartext prior knowledge) and sends the preface and SETTINGS. */
export async function connectRaw(port: number, opts: { tls?: { servername: string } } = {}): Promise<RawH2> {
  const socket: net.Socket = opts.tls
    ? tls.connect({ port, host: '127.0.0.1', servername: opts.tls.servername, ALPNProtocols: ['h2'], rejectUnauthorized: false })
    : net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const received: RawH2['received'] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const type = buf[3]!;
      const stream = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + len);
      const code = type === TYPE.GOAWAY ? payload.readUInt32BE(4) : type === TYPE.RST_STREAM ? payload.readUInt32BE(0) : undefined;
      received.push({ type, stream, code });
      // SETTINGS must be acknowledged, or the server gives up on us for the wrong reason.
      if (type === TYPE.SETTINGS && (buf[4]! & FLAG.ACK) === 0 && socket.writable) socket.write(frame(TYPE.SETTINGS, FLAG.ACK, 0));
      buf = buf.subarray(9 + len);
    }
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]));
  return { socket, received, closed, send: (...f: Buffer[]) => (socket.writable ? socket.write(Buffer.concat(f)) : false) };
}
