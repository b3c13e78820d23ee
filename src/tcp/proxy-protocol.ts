/**
 * PROXY protocol v1 (text) and v2 (binary), as HAProxy specifies them
 * (https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt): parsed on entrypoints when the
 * peer is a trusted load balancer, and written towards TCP servers that ask for it.
 */
import net from 'node:net';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');

export interface ProxyAddresses {
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
}

export type ProxyParse =
  | { kind: 'incomplete' }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  /** `addresses` is null for LOCAL / UNKNOWN (keep the connection's own addresses). */
  | { kind: 'header'; length: number; addresses: ProxyAddresses | null };

/** parseProxyHeader looks for a PROXY header at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  const n = Math.min(buf.length, 12);
  if (buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) {
    if (buf.length < 16) return { kind: 'incomplete' };
    return parseV2(buf);
  }
  const m = Math.min(buf.length, 6);
  if (buf.subarray(0, m).equals(V1_PREFIX.subarray(0, m))) {
    if (buf.length < 6) return { kind: 'incomplete' };
    const nl = buf.indexOf('\r\n');
    if (nl < 0) return buf.length >= 107 ? { kind: 'invalid', reason: 'PROXY v1 line too long' } : { kind: 'incomplete' };
    return parseV1(buf.subarray(0, nl).toString('latin1'), nl + 2);
  }
  return { kind: 'none' };
}

function parseV1(line: string, length: number): ProxyParse {
  const f = line.split(' ');
  if (f[1] === 'UNKNOWN') return { kind: 'header', length, addresses: null };
  if (f.length !== 6 || (f[1] !== 'TCP4' && f[1] !== 'TCP6')) return { kind: 'invalid', reason: `bad PROXY v1 line "${line}"` };
  const [, fam, src, dst, sp, dp] = f as [string, string, string, string, string, string];
  const want = fam === 'TCP4' ? 4 : 6;
  if (net.isIP(src) !== want || net.isIP(dst) !== want || !/^\d{1,5}$/.test(sp) || !/^\d{1,5}$/.test(dp)) return { kind: 'invalid', reason: `bad PROXY v1 line "${line}"` };
  return { kind: 'header', length, addresses: { srcAddr: src, dstAddr: dst, srcPort: Number(sp), dstPort: Number(dp) } };
}

function parseV2(buf: Buffer): ProxyParse {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'PROXY v2 version is not 2' };
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return { kind: 'incomplete' };
  const length = 16 + len;
  const cmd = verCmd & 0x0f;
  if (cmd === 0) return { kind: 'header', length, addresses: null }; // LOCAL: health checks of the balancer
  if (cmd !== 1) return { kind: 'invalid', reason: `PROXY v2 command ${cmd} is unknown` };
  const fam = buf[13]! >> 4;
  const b = buf.subarray(16, length);
  if (fam === 1 && b.length >= 12) {
    return { kind: 'header', length, addresses: { srcAddr: ipv4(b, 0), dstAddr: ipv4(b, 4), srcPort: b.readUInt16BE(8), dstPort: b.readUInt16BE(10) } };
  }
  if (fam === 2 && b.length >= 36) {
    return { kind: 'header', length, addresses: { srcAddr: ipv6(b, 0), dstAddr: ipv6(b, 16), srcPort: b.readUInt16BE(32), dstPort: b.readUInt16BE(34) } };
  }
  return { kind: 'header', length, addresses: null };
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6(b: Buffer, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(o + i).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

/** buildProxyHeader writes the header a server asked for (`proxyProtocol.version`). */
export function buildProxyHeader(version: 1 | 2, a: ProxyAddresses): Buffer {
  const src = unmap(a.srcAddr);
  const dst = unmap(a.dstAddr);
  const v6 = net.isIPv6(src) || net.isIPv6(dst);
  if (version === 1) return Buffer.from(`PROXY ${v6 ? 'TCP6' : 'TCP4'} ${v6 ? toV6(src) : src} ${v6 ? toV6(dst) : dst} ${a.srcPort} ${a.dstPort}\r\n`, 'latin1');
  const body = Buffer.alloc(v6 ? 36 : 12);
  if (v6) {
    writeV6(body, 0, toV6(src));
    writeV6(body, 16, toV6(dst));
    body.writeUInt16BE(a.srcPort, 32);
    body.writeUInt16BE(a.dstPort, 34);
  } else {
    src.split('.').forEach((x, i) => (body[i] = Number(x)));
    dst.split('.').forEach((x, i) => (body[4 + i] = Number(x)));
    body.writeUInt16BE(a.srcPort, 8);
    body.writeUInt16BE(a.dstPort, 10);
  }
  const head = Buffer.alloc(16);
  V2_SIGNATURE.copy(head);
  head[12] = 0x21; // version 2, PROXY
  head[13] = v6 ? 0x21 : 0x11; // AF_INET(6), STREAM
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}

function unmap(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function toV6(a: string): string {
  return net.isIPv4(a) ? `::ffff:${a}` : a;
}

function writeV6(b: Buffer, o: number, a: string): void {
  const sl = new net.SocketAddress({ address: a, family: 'ipv6' });
  // Expand "::" and an embedded IPv4 tail into eight 16-bit groups.
  let s = sl.address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) s = s.slice(0, v4.index) + (((+v4[1]! << 8) | +v4[2]!).toString(16) + ':' + ((+v4[3]! << 8) | +v4[4]!).toString(16));
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), o + i * 2));
}
