/**
 * RESP2, the Redis protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/):
 * commands go out as arrays of bulk strings; replies are simple strings, errors, integers, bulk
 * strings and arrays of those. RespParser takes bytes as they arrive and yields whole replies,
 * refusing a reply larger than MAX_REPLY_BYTES (a rate-limit script answers a few dozen bytes; a
 * server that sends megabytes is not one Gantry should keep reading).
 */

export type RespValue = string | number | null | RespError | RespValue[];

/** RespError is an error reply (`-NOSCRIPT No matching script`). */
export class RespError extends Error {
  /** The first word: NOSCRIPT, WRONGPASS, NOAUTH, ERR … */
  readonly code: string;
  constructor(message: string) {
    super(message);
    this.code = message.split(' ', 1)[0] ?? 'ERR';
  }
}

/** The largest reply accepted, in bytes. */
export const MAX_REPLY_BYTES = 1 << 20;

/** encodeCommand writes one command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');

/** Incomplete is thrown inside the parser when the buffer ends before the reply does. */
const INCOMPLETE = Symbol('incomplete');

export class RespParser {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;

  /** push adds bytes and returns every reply now complete, in order; it throws on a protocol error. */
  push(chunk: Buffer): RespValue[] {
    this.#buf = this.#pos < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#pos), chunk]) : chunk;
    this.#pos = 0;
    const out: RespValue[] = [];
    for (;;) {
      const start = this.#pos;
      try {
        out.push(this.#value(0));
      } catch (e) {
        if (e !== INCOMPLETE) throw e;
        this.#pos = start;
        if (this.#buf.length - start > MAX_REPLY_BYTES) throw new Error(`redis reply larger than ${MAX_REPLY_BYTES} bytes`);
        return out;
      }
      if (this.#pos === this.#buf.length) return out;
    }
  }

  #line(): string {
    const end = this.#buf.indexOf('\r\n', this.#pos);
    if (end < 0) throw INCOMPLETE;
    const s = this.#buf.toString('utf8', this.#pos, end);
    this.#pos = end + 2;
    return s;
  }

  #value(depth: number): RespValue {
    if (depth > 8) throw new Error('redis reply nested too deep');
    if (this.#pos >= this.#buf.length) throw INCOMPLETE;
    const type = this.#buf[this.#pos++];
    const line = this.#line();
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RespError(line);
      case 0x3a: // :
        return Number(line);
      case 0x24: {
        // $
        const n = Number(line);
        if (n === -1) return null;
        if (!Number.isInteger(n) || n < 0 || n > MAX_REPLY_BYTES) throw new Error(`bad redis bulk length ${line}`);
        if (this.#buf.length < this.#pos + n + 2) throw INCOMPLETE;
        const s = this.#buf.toString('utf8', this.#pos, this.#pos + n);
        this.#pos += n + 2;
        return s;
      }
      case 0x2a: {
        // *
        const n = Number(line);
        if (n === -1) return null;
        if (!Number.isInteger(n) || n < 0 || n > 1024) throw new Error(`bad redis array length ${line}`);
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) items.push(this.#value(depth + 1));
        return items;
      }
      default:
        throw new Error(`unexpected redis reply type ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
    }
  }
}
