import type { Logger } from '../log.js';

/** Stops a long-running command on SIGTERM or SIGINT: closes it (draining in-flight work), then exits 0. */
export function closeOnSignal(close: () => Promise<void>, logger?: Logger): void {
  const stop = (signal: NodeJS.Signals): void => {
    logger?.info('signal', { signal });
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
