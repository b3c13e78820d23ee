/**
 * NdjsonParser splits a stream of newline-delimited JSON (Docker's `/events`) into objects. Chunks
 * may end anywhere — inside a line or inside a multi-byte UTF-8 character — so bytes are decoded
 * with a StringDecoder and the unfinished line is kept for the next chunk. A line that is not JSON
 * is handed to `onBadLine` and skipped; one bad event never ends the stream.
 */
import { StringDecoder } from 'node:string_decoder';

export class NdjsonParser {
  #decoder = new StringDecoder('utf8');
  #rest = '';
  #onBadLine: (line: string, err: unknown) => void;

  constructor(onBadLine: (line: string, err: unknown) => void = () => {}) {
    this.#onBadLine = onBadLine;
  }

  /** push returns the complete objects the chunk finishes. */
  push(chunk: Buffer | string): unknown[] {
    const text = this.#rest + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    const lines = text.split('\n');
    this.#rest = lines.pop()!;
    const out: unknown[] = [];
    for (const line of lines) this.#parse(line, out);
    return out;
  }

  /** end returns the last object when the stream ended without a final newline. */
  end(): unknown[] {
    const out: unknown[] = [];
    this.#parse(this.#rest + this.#decoder.end(), out);
    this.#rest = '';
    return out;
  }

  #parse(line: string, out: unknown[]): void {
    const t = line.trim();
    if (t === '') return;
    try {
      out.push(JSON.parse(t));
    } catch (err) {
      this.#onBadLine(t, err);
    }
  }
}
