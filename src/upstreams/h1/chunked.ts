/**
 * ChunkedDecoder follows `Transfer-Encoding: chunked` framing (RFC 9112 §7.1) across socket reads,
 * hands the payload on as slices of the reads (no copies) and tells where the body ends, so the
 * connection can carry the next request. Chunk extensions and trailer fields are read past and
 * dropped. Malformed framing is an error: the connection is then closed, never reused.
 */

const enum State {
  Size = 0,
  /** After the size, until CR: a chunk extension (or optional whitespace before it). */
  Ext = 1,
  SizeLf = 2,
  Data = 3,
  DataCr = 4,
  DataLf = 5,
  /** At the start of a trailer line (or of the final empty line). */
  TrailerStart = 6,
  /** Inside a trailer line, until CR. */
  Trailer = 7,
  TrailerLf = 8,
  FinalLf = 9,
  Done = 10,
}

/** The largest chunk size accepted (2^40, far above any sane chunk). */
const MAX_SIZE = 2 ** 40;
/** Limit on extension and trailer bytes per body. */
const MAX_META = 64 * 1024;

export interface ChunkSink {
  onChunkData(chunk: Buffer): void;
}

export class ChunkedDecoder {
  #state: State = State.Size;
  #size = 0;
  #digits = 0;
  #meta = 0;

  reset(): void {
    this.#state = State.Size;
    this.#size = 0;
    this.#digits = 0;
    this.#meta = 0;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * execute reads `buf` from `start`, passing payload slices to `sink`. It returns the offset just
   * past the body's last byte once the body is complete, or -1 when it needs more input. Throws on
   * malformed framing.
   */
  execute(buf: Buffer, start: number, sink: ChunkSink): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      switch (this.#state) {
        case State.Size: {
          const c = buf[i]!;
          const d = hexValue(c);
          if (d >= 0) {
            this.#size = this.#size * 16 + d;
            if (++this.#digits > 11 || this.#size > MAX_SIZE) throw chunkError('chunk size too large');
            i++;
            break;
          }
          if (this.#digits === 0) throw chunkError('invalid chunk size');
          if (c === 13) this.#state = State.SizeLf;
          else if (c === 59 /* ; */ || c === 32 || c === 9) this.#state = State.Ext;
          else throw chunkError('invalid chunk size');
          i++;
          break;
        }
        case State.Ext: {
          const cr = buf.indexOf(13, i);
          const end = cr < 0 ? n : cr;
          for (let j = i; j < end; j++) if (buf[j] === 10 || buf[j] === 0) throw chunkError('invalid chunk extension');
          this.#meta += end - i;
          if (this.#meta > MAX_META) throw chunkError('chunk extensions too long');
          i = end;
          if (cr >= 0) {
            this.#state = State.SizeLf;
            i++;
          }
          break;
        }
        case State.SizeLf:
          if (buf[i] !== 10) throw chunkError('missing LF after chunk size');
          i++;
          if (this.#size === 0) this.#state = State.TrailerStart;
          else this.#state = State.Data;
          break;
        case State.Data: {
          const take = Math.min(this.#size, n - i);
          sink.onChunkData(take === n - i && i === 0 ? buf : buf.subarray(i, i + take));
          this.#size -= take;
          i += take;
          if (this.#size === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== 13) throw chunkError('missing CRLF after chunk data');
          this.#state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (buf[i] !== 10) throw chunkError('missing CRLF after chunk data');
          this.#state = State.Size;
          this.#digits = 0;
          i++;
          break;
        case State.TrailerStart:
          if (buf[i] === 13) {
            this.#state = State.FinalLf;
            i++;
          } else {
            this.#state = State.Trailer;
          }
          break;
        case State.Trailer: {
          const cr = buf.indexOf(13, i);
          const end = cr < 0 ? n : cr;
          for (let j = i; j < end; j++) if (buf[j] === 10 || buf[j] === 0) throw chunkError('invalid trailer');
          this.#meta += end - i;
          if (this.#meta > MAX_META) throw chunkError('trailers too long');
          i = end;
          if (cr >= 0) {
            this.#state = State.TrailerLf;
            i++;
          }
          break;
        }
        case State.TrailerLf:
          if (buf[i] !== 10) throw chunkError('missing LF after trailer');
          this.#state = State.TrailerStart;
          i++;
          break;
        case State.FinalLf:
          if (buf[i] !== 10) throw chunkError('missing LF at end of chunked body');
          this.#state = State.Done;
          return i + 1;
        case State.Done:
          return i;
      }
    }
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function chunkError(message: string): Error {
  return Object.assign(new Error(`invalid chunked response body: ${message}`), { code: 'HPE_INVALID_CHUNK_SIZE' });
}
