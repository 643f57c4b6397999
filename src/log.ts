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

export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line), minimum: LogLevel = 'info'): Logger {
  const log = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
