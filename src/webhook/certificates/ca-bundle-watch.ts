import { errorMessage, type Logger } from '../../shared/log.js';
import type { WebhookConfigurationBundle } from './webhook-configuration.js';

/**
 * For a certificate that something else manages (cert-manager, or files by hand): checks now and
 * then that the webhook configuration's caBundle verifies the certificate served, so the webhook is
 * not ready while every call the API server makes would fail TLS (an empty or stale caBundle).
 */
export class CaBundleWatch {
  private ready = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly configuration: WebhookConfigurationBundle,
    private readonly served: () => Buffer,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  isReady(): boolean {
    return this.ready;
  }

  /** One check; one at a time, never rejects (a failed read is "not ready", logged). */
  check(): Promise<void> {
    this.checking ??= this.configuration
      .verifies(this.served().toString('utf8'))
      .then(
        (verdict) => {
          if (!verdict.ok && this.ready) this.logger.warn('ca-bundle-not-ready', { reason: verdict.reason });
          if (verdict.ok && !this.ready) this.logger.info('ca-bundle-ready', { webhookConfiguration: this.configuration.name });
          this.ready = verdict.ok;
        },
        (error: unknown) => {
          this.ready = false;
          this.logger.warn('ca-bundle-check-failed', { error: errorMessage(error) });
        },
      )
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }
}
