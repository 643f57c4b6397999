import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `check` returns true (or a truthy value), failing with `what` after the timeout. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Collects log lines of a logger built with `createLogger(capture.write)`. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly write = (line: string): void => {
    this.lines.push(JSON.parse(line) as Record<string, unknown>);
  };
  events(event: string): Array<Record<string, unknown>> {
    return this.lines.filter((line) => line.event === event);
  }
}
