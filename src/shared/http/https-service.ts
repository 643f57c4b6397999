import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { LogFields, Logger } from '../log.js';
import type { Registry } from 'prom-client';
import { metricsListener } from '../metrics.js';
import { CertificateReloader, certificateMetrics, loadKeyPair } from './tls.js';

export interface HttpTimeouts {
  /** Whole request headers must arrive within this (slowloris defence). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this. */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connections are kept this long: above the API server's 90 s idle timeout, so it closes first. */
  readonly keepAliveTimeoutMs: number;
  /** A TLS handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** How often the header and request timeouts are enforced (Node checks them on a timer). */
  readonly checkIntervalMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 120_000,
  handshakeTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
};

/** What every HTTPS service of the project (admission webhook, authenticator) is configured with. */
export interface HttpsServiceConfig {
  readonly bindAddress: string;
  readonly port: number;
  /** Undefined disables the metrics listener. */
  readonly metricsPort: number | undefined;
  readonly tlsCertPath: string;
  readonly tlsKeyPath: string;
  readonly logger: Logger;
  /** The server's metrics registry: served on the metrics port, and where the certificate metrics go. */
  readonly registry: Registry;
  readonly timeouts?: Partial<HttpTimeouts>;
  /** In-flight requests get this long to finish on shutdown before connections are cut. */
  readonly shutdownTimeoutMs?: number;
}

export interface HttpsServiceDefinition extends HttpsServiceConfig {
  /** Builds the app; `isShuttingDown` lets readiness answers report the drain. */
  readonly createApp: (isShuttingDown: () => boolean) => RequestListener;
  /** Runs after the connections drained (stop watches, caches). */
  readonly onClosed?: () => Promise<void>;
  /** Extra fields for the `listening` log line. */
  readonly describe?: () => LogFields;
}

export interface RunningHttpsService {
  readonly port: number;
  readonly metricsPort: number | undefined;
  readonly server: HttpsServer;
  readonly certificates: CertificateReloader;
  /** Stops accepting, lets in-flight requests finish (bounded), then runs `onClosed`. */
  close(): Promise<void>;
}

/** A startup problem the operator must fix (bad certificate files, port in use). */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new ServiceStartError(`cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * An HTTPS server (TLS 1.2+, reloading certificate, bounded slow clients, graceful drain) with an
 * optional plain-HTTP metrics listener.
 */
export async function startHttpsService(config: HttpsServiceDefinition): Promise<RunningHttpsService> {
  const { logger, registry } = config;
  const timeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...config.timeouts };
  const keyPair = await loadKeyPair(config.tlsCertPath, config.tlsKeyPath);
  if (!keyPair.ok) throw new ServiceStartError(keyPair.error);

  let shuttingDown = false;
  const app = config.createApp(() => shuttingDown);

  const server = createHttpsServer(
    {
      cert: keyPair.value.cert,
      key: keyPair.value.key,
      minVersion: 'TLSv1.2',
      handshakeTimeout: timeouts.handshakeTimeoutMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    app,
  );
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.on('tlsClientError', (error) => logger.log('debug', 'tls-client-error', { error: error.message }));

  const certificates = new CertificateReloader(config.tlsCertPath, config.tlsKeyPath, keyPair.value, server, logger, certificateMetrics(registry));
  const port = await listen(server, config.port, config.bindAddress);
  certificates.start();

  let metricsServer: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = createHttpServer(metricsListener(registry));
    try {
      metricsPort = await listen(metricsServer, config.metricsPort, config.bindAddress);
    } catch (error) {
      certificates.stop();
      server.close();
      throw error;
    }
  }
  logger.info('listening', {
    address: `https://${config.bindAddress}:${port}`,
    metrics: metricsPort === undefined ? undefined : `http://${config.bindAddress}:${metricsPort}/metrics`,
    ...config.describe?.(),
    certificateExpires: keyPair.value.notAfter.toISOString(),
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      logger.info('shutting-down', {});
      certificates.stop();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections close now; busy ones close as soon as their response is sent.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs ?? 20_000).unref());
      server.closeIdleConnections();
      if ((await Promise.race([drained, deadline])) === 'timeout') {
        logger.warn('shutdown-timeout', { message: 'cutting connections that did not finish in time' });
        server.closeAllConnections();
        await drained;
      }
      clearInterval(sweep);
      if (metricsServer) {
        const metricsClosed = new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
        metricsServer.closeAllConnections();
        await metricsClosed;
      }
      await config.onClosed?.();
      logger.info('stopped', {});
    })();
    return closing;
  };

  return { port, metricsPort, server, certificates, close };
}
