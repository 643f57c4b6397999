import { errorMessage, type Logger } from '../shared/log.js';

/**
 * Runs a long-lived command until SIGTERM or SIGINT: then closes it (draining in-flight work) and
 * exits 0, or 1 when closing fails. A promise rejection nothing handled is logged (`unhandled-
 * rejection`, level error) instead of ending the process: for a server, one request's bug must
 * not take down every other request and the readiness of the replica.
 */
export function closeOnSignal(close: () => Promise<void>, logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled-rejection', { error: errorMessage(reason), stack: reason instanceof Error ? reason.stack : undefined });
  });
  const stop = (signal: NodeJS.Signals): void => {
    logger.info('signal', { signal });
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown-failed', { error: errorMessage(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
