/**
 * The oracle's client: one fresh connection per case and proxy, the vector's bytes written as
 * given (never half-closed: some proxies treat a client FIN as an abort), then the responses read
 * until the proxy closes, the time bound runs out, or everything has gone quiet.
 */
import net from 'node:net';

export interface Outcome {
  /** Status of each complete or begun response, in order. */
  statuses: number[];
  /** How the exchange ended: the proxy closed, we stopped once all was quiet, or the bound ran out. */
  end: 'closed' | 'quiet' | 'timeout';
  /** Bytes received that are not HTTP/1.x responses (an HTTP/0.9 answer, say). */
  stray: number;
}

export interface ExchangeOptions {
  timeoutMs: number;
  /** Stop this long after the last response byte, once `settled()` says the upstream side is idle. */
  quietMs: number;
  settled: (responses: number) => boolean;
  /** The first request is HEAD: its response has no body whatever its Content-Length says. */
  headFirst: boolean;
}

export async function exchange(port: number, bytes: Buffer, opts: ExchangeOptions): Promise<Outcome> {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let last = Date.now();
  let closed = false;
  s.on('connect', () => s.write(bytes));
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    last = Date.now();
  });
  s.on('end', () => (closed = true));
  s.on('close', () => (closed = true));
  s.on('error', () => (closed = true));
  const deadline = Date.now() + opts.timeoutMs;
  let end: Outcome['end'] = 'timeout';
  // Polled, not evented: "quiet" is a matter of time passing without bytes on either side.
  for (;;) {
    const parsed = parseResponses(buf, opts.headFirst);
    if (closed) {
      end = 'closed';
      break;
    }
    const complete = parsed.statuses.length > 0 && parsed.rest === 0;
    if (complete && Date.now() - last >= opts.quietMs && opts.settled(parsed.statuses.length)) {
      end = 'quiet';
      break;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  s.destroy();
  const parsed = parseResponses(buf, opts.headFirst);
  return { statuses: parsed.statuses, end, stray: parsed.stray };
}

/**
 * parseResponses splits what arrived into HTTP/1.x responses; `rest` is the length of an
 * unfinished one, `stray` counts bytes that are not a response at all.
 */
export function parseResponses(buf: Buffer, headFirst: boolean): { statuses: number[]; rest: number; stray: number } {
  const statuses: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.toString('latin1', pos, Math.min(buf.length, pos + 5)) !== 'HTTP/'.slice(0, Math.min(5, buf.length - pos))) {
      return { statuses, rest: 0, stray: buf.length - pos };
    }
    const headEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) return { statuses, rest: buf.length - pos, stray: 0 };
    const head = buf.toString('latin1', pos, headEnd);
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(head);
    if (m === null) return { statuses, rest: 0, stray: buf.length - pos };
    const status = Number(m[1]);
    let next = headEnd + 4;
    const bodyless = status < 200 || status === 204 || status === 304 || (headFirst && statuses.filter((x) => x >= 200).length === 0);
    if (status >= 200) statuses.push(status);
    if (!bodyless) {
      const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
      if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
        const end = chunkedEnd(buf, next);
        if (end < 0) return { statuses, rest: buf.length - pos, stray: 0 };
        next = end;
      } else if (cl !== null) {
        next += Number(cl[1]);
        if (next > buf.length) return { statuses, rest: buf.length - pos, stray: 0 };
      } else {
        // Delimited by the close: it is complete only when the connection ends.
        return { statuses, rest: buf.length - pos, stray: 0 };
      }
    }
    pos = next;
  }
  return { statuses, rest: 0, stray: 0 };
}

/** chunkedEnd returns the offset after a complete chunked body starting at `pos`, or -1. */
function chunkedEnd(buf: Buffer, pos: number): number {
  for (;;) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) return -1;
    const size = parseInt(buf.toString('latin1', pos, eol), 16);
    if (Number.isNaN(size)) return -1;
    pos = eol + 2;
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', pos - 2, 'latin1');
      return end < 0 ? -1 : end + 4;
    }
    pos += size + 2;
    if (pos > buf.length) return -1;
  }
}
