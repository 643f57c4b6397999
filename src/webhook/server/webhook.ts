import type { MutationOptions } from '../engine/types.js';
import type { ServiceAccountSource } from '../serviceaccounts/source.js';
import { createApp } from './app.js';
import type { WebhookMetrics } from './metrics.js';
import { type HttpsServiceConfig, type RunningHttpsService, startHttpsService } from '../../shared/http/https-service.js';

export { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts, ServiceStartError } from '../../shared/http/https-service.js';

export interface WebhookConfig extends Omit<HttpsServiceConfig, 'registry'> {
  readonly metrics: WebhookMetrics;
  readonly options: MutationOptions;
  /** More readiness checks (the caBundle of the webhook configuration verifies the certificate, say). */
  readonly readinessChecks?: () => Readonly<Record<string, boolean>>;
  readonly serviceAccounts: ServiceAccountSource;
}

export type RunningWebhook = RunningHttpsService;

/** The HTTPS admission webhook in front of a ServiceAccount source. */
export function startWebhook(config: WebhookConfig): Promise<RunningWebhook> {
  const { serviceAccounts, logger, metrics } = config;
  return startHttpsService({
    ...config,
    registry: metrics.registry,
    createApp: (state) => {
      /** Each readiness check, `true` when it lets the replica be ready. */
      const passing = (): Record<string, boolean> => ({
        tls: state.certificateValid(),
        serviceAccounts: serviceAccounts.isReady(),
        ...config.readinessChecks?.(),
        shuttingDown: !state.isShuttingDown(),
      });
      metrics.readiness.observe(passing);
      return createApp({
        decisions: { serviceAccounts, options: config.options },
        metrics,
        logger,
        readiness: () => {
          const checks = passing();
          // The body says `shuttingDown: true` while draining; the metric, like the other checks, 0.
          return { ready: Object.values(checks).every(Boolean), checks: { ...checks, shuttingDown: !checks.shuttingDown } };
        },
      });
    },
    onClosed: async () => {
      // A source stuck on an unreachable API server must not keep the process from exiting.
      const stopped = await Promise.race([
        serviceAccounts.stop().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
      if (!stopped) logger.warn('serviceaccount-source-stop-timeout', {});
    },
    describe: () => ({ serviceAccounts: serviceAccounts.describe() }),
  });
}
