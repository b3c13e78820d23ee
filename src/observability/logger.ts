import fs from 'node:fs';

/**
 * Logger writes structured lines (JSON or text) to stderr, or to `log.filePath` (FileSink). Fields are built only when the level is
 * enabled: callers pass a plain object, and `enabled()` lets hot code skip building it at all.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): void;
}

class StderrSink implements LogSink {
  write(line: string): void {
    process.stderr.write(line);
  }
}

/**
 * FileSink appends lines to a file (`log.filePath`), synchronously as stderr is written: a line
 * logged just before an exit is not lost. Opened in append mode, so several worker processes share
 * the file line by line.
 */
export class FileSink implements LogSink {
  readonly #fd: number;

  constructor(file: string) {
    this.#fd = fs.openSync(file, 'a');
  }

  write(line: string): void {
    try {
      fs.writeSync(this.#fd, line);
    } catch {
      // A full disk must not take the proxy down; stderr still gets the line.
      process.stderr.write(line);
    }
  }
}

export class Logger {
  #min: number;
  #format: LogFormat;
  #sink: LogSink;
  #scope: LogFields;

  constructor(level: LogLevel = 'info', format: LogFormat = 'text', sink: LogSink = new StderrSink(), scope: LogFields = {}) {
    this.#min = LEVELS[level];
    this.#format = format;
    this.#sink = sink;
    this.#scope = scope;
  }

  /** child returns a logger whose lines also carry `fields` (e.g. `{ provider: 'file' }`). */
  child(fields: LogFields): Logger {
    return new Logger(this.level, this.#format, this.#sink, { ...this.#scope, ...fields });
  }

  get level(): LogLevel {
    for (const [name, n] of Object.entries(LEVELS)) if (n === this.#min) return name as LogLevel;
    return 'info';
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.#min;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.#min <= 10) this.#log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#min <= 20) this.#log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#min <= 30) this.#log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#log('error', msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    const time = new Date().toISOString();
    const all = fields ? { ...this.#scope, ...fields } : this.#scope;
    if (this.#format === 'json') {
      this.#sink.write(JSON.stringify({ time, level, msg, ...all }, errorReplacer) + '\n');
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
    for (const [k, v] of Object.entries(all)) {
      if (v === undefined) continue;
      line += ` ${k}=${formatTextValue(v)}`;
    }
    this.#sink.write(line + '\n');
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return value;
}

function formatTextValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** parseLogLevel accepts DEBUG/INFO/WARN/ERROR in any case (Traefik spells them upper-case). */
export function parseLogLevel(s: string): LogLevel | null {
  const l = s.toLowerCase();
  if (l === 'warning') return 'warn';
  return l in LEVELS ? (l as LogLevel) : null;
}

/** A logger for tests and library use that drops everything. */
export const silentLogger = new Logger('error', 'text', { write() {} });
