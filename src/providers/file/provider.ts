/**
 * FileProvider serves the dynamic configuration of one file (`--providers.file.filename`) or of
 * every YAML/TOML file in a directory (`--providers.file.directory`), and with `watch` re-reads
 * it on every change. It watches the parent directory, not the file, because editors save by
 * writing a new file and renaming it over the old one (the file may vanish for a moment).
 * A file that fails to read or parse is logged with file:line:column and nothing is emitted, so
 * the last good configuration keeps serving; the error stays in `lastError` for the API.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, ParseError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Emit, Provider } from '../provider.js';
import { readDirectory, readSingle, type ReadResult } from './read.js';
import { FirstLoad } from '../first-load.js';

export interface FileProviderOptions {
  filename?: string;
  directory?: string;
  watch: boolean;
  /** Quiet time after the last change before re-reading (default 25 ms): one save is several events. */
  debounceMs?: number;
  /** Called with each new loading error, and with null once the files load again. */
  onError?: (err: ParseError | ConfigError | null) => void;
}

const REWATCH_MS = 1000;

export class FileProvider implements Provider {
  readonly name = 'file';
  /** Done after the first read that parsed: a file that does not load keeps Gantry not ready. */
  readonly loaded = new FirstLoad();
  /** The error of the last attempt to load, or null when it succeeded. */
  lastError: ParseError | ConfigError | null = null;

  readonly #opts: FileProviderOptions;
  readonly #path: string;
  readonly #dirMode: boolean;
  #emit: Emit | null = null;
  #logger: Logger | null = null;
  #watcher: FSWatcher | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #rewatch: NodeJS.Timeout | null = null;
  #reading: Promise<void> | null = null;
  #again = false;
  #lastEmitted: string | null = null;
  #stopped = false;

  constructor(opts: FileProviderOptions) {
    if ((opts.filename === undefined) === (opts.directory === undefined)) {
      throw new ConfigError('providers.file', 'give either filename or directory');
    }
    this.#opts = opts;
    this.#dirMode = opts.directory !== undefined;
    this.#path = resolve(opts.directory ?? opts.filename!);
  }

  async start(emit: Emit, logger: Logger): Promise<void> {
    this.#emit = emit;
    this.#logger = logger.child({ provider: 'file' });
    this.#stopped = false;
    // Watch before the first read so that a change made in between is not missed.
    if (this.#opts.watch) this.#startWatch();
    await this.reload();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#debounce) clearTimeout(this.#debounce);
    if (this.#rewatch) clearTimeout(this.#rewatch);
    this.#debounce = this.#rewatch = null;
    await this.#reading;
  }

  /** reload reads the source now; concurrent calls coalesce into one more read. */
  reload(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          await this.#readOnce();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#reading = null;
      }
    })();
    return this.#reading;
  }

  async #readOnce(): Promise<void> {
    let result: ReadResult;
    try {
      result = this.#dirMode ? await readDirectory(this.#path) : await readSingle(this.#path);
    } catch (e) {
      this.#failed(e);
      return;
    }
    if (this.#stopped) return;
    if (this.lastError !== null) {
      this.lastError = null;
      this.#logger?.info('dynamic configuration loads again', { path: this.#path });
      this.#opts.onError?.(null);
    }
    const key = JSON.stringify(result);
    if (key === this.#lastEmitted) return;
    this.#lastEmitted = key;
    for (const err of result.errors) this.#logger?.error(err.message, { path: err.path });
    this.#emit?.({ provider: this.name, config: result.config, ...(result.errors.length > 0 ? { errors: result.errors } : {}) });
    this.loaded.mark();
  }

  #failed(e: unknown): void {
    const err = e instanceof ConfigError || e instanceof ParseError ? e : new ConfigError(this.#path, String(e));
    const same = this.lastError?.message === err.message;
    this.lastError = err;
    if (same) return;
    this.#logger?.error(`${err.message}; keeping the last good dynamic configuration`, { path: this.#path });
    this.#opts.onError?.(err);
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      void this.reload();
    }, this.#opts.debounceMs ?? 25);
  }

  #startWatch(): void {
    if (this.#stopped) return;
    const dir = this.#dirMode ? this.#path : dirname(this.#path);
    const base = basename(this.#path);
    try {
      const onEvent = (_event: string, name: string | Buffer | null) => {
        const n = name === null ? null : String(name);
        // In file mode only our file matters (and Kubernetes' `..data` link swaps); the directory is shared.
        if (this.#dirMode || n === null || n === base || n.startsWith('..')) this.#schedule();
      };
      this.#watcher = this.#watchDir(dir, onEvent);
      this.#watcher.on('error', (err) => {
        this.#logger?.warn('watch failed; retrying', { path: dir, error: err });
        this.#watcher?.close();
        this.#watcher = null;
        this.#retryWatch();
      });
    } catch (err) {
      this.#logger?.warn('cannot watch; retrying', { path: dir, error: err as Error });
      this.#retryWatch();
    }
  }

  #watchDir(dir: string, onEvent: (event: string, name: string | Buffer | null) => void): FSWatcher {
    if (this.#dirMode) {
      try {
        return watch(dir, { recursive: true, persistent: false }, onEvent);
      } catch {
        // Recursive watching is not available everywhere; the top directory alone still works.
      }
    }
    return watch(dir, { persistent: false }, onEvent);
  }

  #retryWatch(): void {
    if (this.#stopped || this.#rewatch) return;
    this.#rewatch = setTimeout(() => {
      this.#rewatch = null;
      this.#startWatch();
      // The file may have changed while nothing watched it.
      if (this.#watcher) this.#schedule();
    }, REWATCH_MS);
    this.#rewatch.unref();
  }
}
