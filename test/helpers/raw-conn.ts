/**
 * RawConn: one HTTP/1.1 client connection over a raw socket that reads complete responses off the
 * wire (Content-Length, chunked or close-delimited), so a test sees the exact bytes a proxy wrote.
 */
import assert from 'node:assert/strict';
import net from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string[]>;
  body: Buffer;
}

export class RawConn {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawConn> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawConn(s);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #more(deadline: number): Promise<void> {
    if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buf.toString('latin1'))}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no complete response in time; have: ${JSON.stringify(this.#buf.toString('latin1'))}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** read returns the next response; `head` tells that it answers a HEAD request (no body). */
  async read(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let end: number;
    while ((end = this.#buf.indexOf('\r\n\r\n')) < 0) await this.#more(deadline);
    const head = this.#buf.toString('latin1', 0, end);
    let pos = end + 4;
    const lines = head.split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1] ?? 0);
    const headers = new Map<string, string[]>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const k = l.slice(0, i).toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
    }
    let body = Buffer.alloc(0);
    const cl = headers.get('content-length')?.[0];
    const te = headers.get('transfer-encoding')?.[0];
    if (opts.head === true || status === 204 || status === 304) {
      // no body
    } else if (te !== undefined) {
      assert.equal(te, 'chunked');
      assert.equal(cl, undefined, 'Content-Length together with Transfer-Encoding');
      const parts: Buffer[] = [];
      for (;;) {
        let eol: number;
        while ((eol = this.#buf.indexOf('\r\n', pos)) < 0) await this.#more(deadline);
        const size = parseInt(this.#buf.toString('latin1', pos, eol), 16);
        assert.ok(Number.isFinite(size), 'chunk size line');
        while (this.#buf.length < eol + 2 + size + 2) await this.#more(deadline);
        parts.push(this.#buf.subarray(eol + 2, eol + 2 + size));
        assert.equal(this.#buf.toString('latin1', eol + 2 + size, eol + 4 + size), '\r\n', 'chunk data ends with CRLF');
        pos = eol + 4 + size;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      while (this.#buf.length < pos + Number(cl)) await this.#more(deadline);
      body = Buffer.from(this.#buf.subarray(pos, pos + Number(cl)));
      pos += Number(cl);
    } else {
      // Close-delimited.
      while (!this.closed) await this.#more(deadline);
      body = Buffer.from(this.#buf.subarray(pos));
      pos = this.#buf.length;
    }
    this.#buf = this.#buf.subarray(pos);
    return { status, head, headers, body };
  }

  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

