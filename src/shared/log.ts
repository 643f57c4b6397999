/** Structured logging: one JSON object per line, with a time, a level and an event name. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The ISO time of a `Date.now()` reading, formatted once per millisecond (many lines share one). */
let lastMillisecond = 0;
let lastTimestamp = '';
function isoTime(milliseconds: number): string {
  if (milliseconds !== lastMillisecond) {
    lastMillisecond = milliseconds;
    lastTimestamp = new Date(milliseconds).toISOString();
  }
  return lastTimestamp;
}

/**
 * One log line: the fixed fields as text, the caller's fields serialised without copying them.
 * Never throws: fields JSON cannot hold (a BigInt, a cycle) are replaced by a `logError` field, so
 * one bad value cannot lose the lines batched with it or crash the flush timer.
 */
export function formatLogLine(time: number, level: LogLevel, event: string, fields: LogFields): string {
  let rest: string;
  try {
    rest = JSON.stringify(fields);
  } catch (error) {
    rest = JSON.stringify({ logError: `the fields could not be serialised: ${errorMessage(error)}` });
  }
  return `{"time":"${isoTime(time)}","level":"${level}","event":${JSON.stringify(event)}${rest === '{}' ? '}' : `,${rest.slice(1)}`}\n`;
}

export interface BatchOptions {
  /** Pending lines are formatted and written when this many are waiting... */
  readonly maxLines: number;
  /** ...or this long after the first of them, whichever comes first. */
  readonly intervalMs: number;
}

export interface BatchedLogOutput {
  add(time: number, level: LogLevel, event: string, fields: LogFields): void;
  /** Formats and writes every pending line now. */
  flush(): void;
}

/**
 * Collects log entries and formats and writes them in batches: one write per batch instead of one
 * per request, and the formatting done in one tight loop rather than between the requests' other
 * work (measured in bench/README.md: formatting each line as it was logged cost the admission
 * server more than its mutation engine).
 */
export function batchedLogOutput(writeText: (text: string) => void, options: BatchOptions): BatchedLogOutput {
  let entries: Array<[number, LogLevel, string, LogFields]> = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (entries.length === 0) return;
    const pending = entries;
    entries = [];
    let text = '';
    for (const [time, level, event, fields] of pending) text += formatLogLine(time, level, event, fields);
    writeText(text);
  };
  return {
    add(time, level, event, fields) {
      entries.push([time, level, event, fields]);
      if (entries.length >= options.maxLines) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, options.intervalMs);
        timer.unref();
      }
    },
    flush,
  };
}

/**
 * stdout, in batches of up to 256 lines or 50 ms; pending lines are written when the process
 * exits. A process killed with SIGKILL can lose the last 50 ms of lines.
 */
let stdoutOutput: BatchedLogOutput | undefined;
function batchedStdout(): BatchedLogOutput {
  if (stdoutOutput === undefined) {
    const output = batchedLogOutput((text) => process.stdout.write(text), { maxLines: 256, intervalMs: 50 });
    process.on('exit', output.flush);
    stdoutOutput = output;
  }
  return stdoutOutput;
}

/**
 * A logger writing one JSON object per line: to `write` as each line is logged (tests), or to
 * stdout in batches. Fields are formatted later in the batched case, so callers must not change a
 * fields object after logging it (every caller passes a fresh literal).
 */
export function createLogger(write?: (line: string) => void, minimum: LogLevel = 'info'): Logger {
  const add: BatchedLogOutput['add'] = write === undefined ? batchedStdout().add : (time, level, event, fields) => write(formatLogLine(time, level, event, fields));
  const log = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (ORDER[level] >= ORDER[minimum]) add(Date.now(), level, event, fields);
  };
  return {
    log,
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** A logger that drops everything (tests and benchmarks that measure without log I/O). */
export const silentLogger: Logger = createLogger(() => {}, 'error');

/** Milliseconds since a `performance.now()` reading, to the microsecond, for `durationMs` log fields. */
export function millisecondsSince(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
