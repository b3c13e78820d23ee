/**
 * The oracle's upstream: raw `net` servers on 127.0.0.1, one port per proxy under test, that keep
 * every byte each connection received, cut it into requests with the strict parser and answer each
 * with a small 200 and a Content-Length (so keep-alive works and nothing waits for a close). Each
 * request is attributed to the case that was running when its first byte arrived.
 */
import net from 'node:net';
import { parseRequest, type ForwardedRequest } from './backend-parser.js';

export interface BackendRecord {
  /** The proxy whose port received it. */
  proxy: string;
  /** The case label current when the request's first byte arrived. */
  label: string;
  /** Arrival order of the request's first byte, across all connections. */
  seq: number;
  /** The parsed request (only its head when `incomplete`), or null when the bytes were not one. */
  request: ForwardedRequest | null;
  /** Why the bytes were not a request (parse error, or the connection closed mid-request). */
  error: string | null;
  /** A head arrived but the connection closed before the body was complete. */
  incomplete: boolean;
  /** The bytes of this request (or of the unparsable rest), latin1. */
  raw: string;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n';

export class RecordingBackend {
  /** The case being run; set by the driver before it sends. */
  label = '';
  readonly records: BackendRecord[] = [];
  /** The exact bytes each connection received, per proxy (records hold them cut into requests). */
  readonly connections: Array<{ proxy: string; bytes: Buffer[] }> = [];
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Set<net.Socket>();
  /** Per proxy: when bytes last arrived, and connections holding part of a request. */
  readonly #lastByte = new Map<string, number>();
  readonly #partial = new Map<string, number>();
  #seq = 0;

  static async start(ports: Record<string, number>): Promise<RecordingBackend> {
    const b = new RecordingBackend();
    for (const [proxy, port] of Object.entries(ports)) {
      const server = net.createServer((s) => b.#accept(proxy, s));
      b.#servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    }
    return b;
  }

  /** forCase returns what `proxy` forwarded while `label` ran. */
  forCase(label: string, proxy: string): BackendRecord[] {
    return this.records.filter((r) => r.label === label && r.proxy === proxy).sort((a, b) => a.seq - b.seq);
  }

  /** quietFor tells whether `proxy`'s upstream connections are idle: no partial request, no byte for `ms`. */
  quietFor(proxy: string, ms: number): boolean {
    return (this.#partial.get(proxy) ?? 0) === 0 && Date.now() - (this.#lastByte.get(proxy) ?? 0) >= ms;
  }

  #accept(proxy: string, s: net.Socket): void {
    this.#sockets.add(s);
    const seen: Buffer[] = [];
    this.connections.push({ proxy, bytes: seen });
    let buf: Buffer = Buffer.alloc(0);
    let label = '';
    let seq = 0;
    const start = (): void => {
      label = this.label;
      seq = ++this.#seq;
    };
    let continued = false;
    let partial = false;
    const setPartial = (p: boolean): void => {
      if (p === partial) return;
      partial = p;
      this.#partial.set(proxy, (this.#partial.get(proxy) ?? 0) + (p ? 1 : -1));
    };
    const record = (r: Omit<BackendRecord, 'proxy' | 'label' | 'seq'>): void => {
      this.records.push({ proxy, label, seq, ...r });
    };
    s.on('data', (chunk: Buffer) => {
      seen.push(chunk);
      this.#lastByte.set(proxy, Date.now());
      if (buf.length === 0) start();
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length > 0 && !s.destroyed) {
        const step = parseRequest(buf);
        if (step.kind === 'more') {
          setPartial(true);
          // A client that waits for 100 Continue gets it once the head is in, as from a real server.
          if (step.headComplete && step.expectContinue && !continued) {
            continued = true;
            s.write('HTTP/1.1 100 Continue\r\n\r\n');
          }
          return;
        }
        if (step.kind === 'error') {
          record({ request: null, error: step.reason, incomplete: false, raw: buf.toString('latin1') });
          buf = Buffer.alloc(0);
          setPartial(false);
          s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        const { request, consumed } = step;
        record({ request, error: null, incomplete: false, raw: buf.toString('latin1', 0, consumed) });
        buf = buf.subarray(consumed);
        continued = false;
        setPartial(buf.length > 0);
        start();
        if (request.close) {
          if (buf.length > 0) record({ request: null, error: 'bytes after a request that closes the connection', incomplete: false, raw: buf.toString('latin1') });
          buf = Buffer.alloc(0);
          setPartial(false);
          s.end(`${OK}Connection: close\r\n\r\nok`);
          return;
        }
        s.write(`${OK}\r\nok`);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.#sockets.delete(s);
      if (buf.length > 0) {
        // The proxy gave up mid-request (its client went away): the head may still have been forwarded.
        const step = parseRequest(buf);
        const head = step.kind === 'more' ? step.head : null;
        const error = head !== null ? 'connection closed before the body was complete' : step.kind === 'error' ? step.reason : 'connection closed inside a request head';
        record({ request: head, error, incomplete: head !== null, raw: buf.toString('latin1') });
      }
      setPartial(false);
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }
}
