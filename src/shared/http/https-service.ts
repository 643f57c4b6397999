import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { LogFields, Logger } from '../log.js';
import type { Registry } from 'prom-client';
import { metricsListener } from '../metrics.js';
import { type CertificateProvider, CertificateReloader, certificateMetrics, loadKeyPair, type ServingCertificates } from './tls.js';

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
  /**
   * On shutdown, keep serving (not ready) this long first, so endpoints stop sending new requests
   * before the listener closes: what a `preStop` sleep does, without needing one.
   */
  readonly shutdownDelayMs?: number;
  /** A certificate the server manages itself; without it the server reads and watches `tlsCertPath`/`tlsKeyPath`. */
  readonly servingCertificates?: ServingCertificates;
}

/** What readiness answers are made of, besides a server's own checks. */
export interface ServiceState {
  /** The server is draining: not ready, so endpoints drop it. */
  isShuttingDown(): boolean;
  /** The serving certificate in use is loaded and within its validity. */
  certificateValid(): boolean;
}

export interface HttpsServiceDefinition extends HttpsServiceConfig {
  /** Builds the app; the state lets readiness answers report the drain and the certificate. */
  readonly createApp: (state: ServiceState) => RequestListener;
  /** Runs after the connections drained (stop watches, caches). */
  readonly onClosed?: () => Promise<void>;
  /** Extra fields for the `listening` log line. */
  readonly describe?: () => LogFields;
}

export interface RunningHttpsService {
  readonly port: number;
  readonly metricsPort: number | undefined;
  readonly server: HttpsServer;
  readonly certificates: CertificateProvider;
  /** Stops accepting, lets in-flight requests finish (bounded), then runs `onClosed`. */
  close(): Promise<void>;
}

/** A startup problem the operator must fix (bad certificate files, port in use). */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
}

/** The address that listens on every interface, IPv6 and IPv4 alike (dual-stack). */
export const DUAL_STACK_ADDRESS = '::';

function listenOnce(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(error);
    server.once('error', onError);
    // ipv6Only false: `::` accepts IPv4 connections too (as ::ffff:a.b.c.d).
    server.listen({ port, host, ipv6Only: false }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Listens on `host:port`. `::` on a host without IPv6 falls back to `0.0.0.0`, so the dual-stack
 * default never keeps an IPv4-only node from starting.
 */
async function listen(server: HttpServer | HttpsServer, port: number, host: string, logger: Logger): Promise<number> {
  try {
    return await listenOnce(server, port, host);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (host === DUAL_STACK_ADDRESS && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      logger.warn('ipv6-unavailable', { message: `cannot listen on [::] (${code}); listening on 0.0.0.0, IPv4 only` });
      return listen(server, port, '0.0.0.0', logger);
    }
    throw new ServiceStartError(`cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : message}`);
  }
}

/** `https://[::1]:8443`, `https://127.0.0.1:8443`. */
function urlOf(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * An HTTPS server (TLS 1.2+, reloading certificate, bounded slow clients, graceful drain) with an
 * optional plain-HTTP metrics listener.
 */
export async function startHttpsService(config: HttpsServiceDefinition): Promise<RunningHttpsService> {
  const { logger, registry } = config;
  const timeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...config.timeouts };
  const keyPair = config.servingCertificates ? { ok: true as const, value: config.servingCertificates.initial } : await loadKeyPair(config.tlsCertPath, config.tlsKeyPath);
  if (!keyPair.ok) throw new ServiceStartError(keyPair.error);

  let shuttingDown = false;
  let certificates: CertificateProvider | undefined;
  const app = config.createApp({ isShuttingDown: () => shuttingDown, certificateValid: () => certificates?.isValid() ?? false });

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

  const reloader =
    config.servingCertificates?.attach(server, logger, certificateMetrics(registry)) ??
    new CertificateReloader(config.tlsCertPath, config.tlsKeyPath, keyPair.value, server, logger, certificateMetrics(registry));
  certificates = reloader;
  const port = await listen(server, config.port, config.bindAddress, logger);
  reloader.start();

  let metricsServer: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = createHttpServer(metricsListener(registry));
    try {
      metricsPort = await listen(metricsServer, config.metricsPort, config.bindAddress, logger);
    } catch (error) {
      reloader.stop();
      server.close();
      throw error;
    }
  }
  logger.info('listening', {
    address: urlOf('https', config.bindAddress, port),
    metrics: metricsPort === undefined ? undefined : `${urlOf('http', config.bindAddress, metricsPort)}/metrics`,
    ...config.describe?.(),
    certificateExpires: keyPair.value.notAfter.toISOString(),
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      const delayMs = config.shutdownDelayMs ?? 0;
      logger.info('shutting-down', { delayMs });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      reloader.stop();
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

  return { port, metricsPort, server, certificates: reloader, close };
}
