import type { ApiClient } from '../../shared/k8s/api-client.js';
import { isJsonObject } from '../../shared/json.js';
import { bundleVerifies, fingerprints } from './bundle.js';

/**
 * The caBundle of the webhook's own MutatingWebhookConfiguration: whether it verifies the
 * certificate the webhook serves (readiness: with a bundle that does not, the API server's every
 * call fails TLS and, with failurePolicy Ignore, every pod is admitted without identity), and, for
 * a webhook that manages its certificate, writing it.
 */
export type BundleCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const path = (name: string): string => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;

interface Webhook {
  readonly name?: unknown;
  readonly clientConfig?: { caBundle?: unknown } & Record<string, unknown>;
}

function webhooksOf(configuration: unknown): Webhook[] {
  return isJsonObject(configuration) && Array.isArray(configuration.webhooks) ? (configuration.webhooks as Webhook[]) : [];
}

function bundleOf(webhook: Webhook): string {
  const encoded = webhook.clientConfig?.caBundle;
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64').toString('utf8') : '';
}

export class WebhookConfigurationBundle {
  constructor(
    private readonly api: ApiClient,
    readonly name: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private get(): Promise<unknown> {
    return this.api.getJson(path(this.name), AbortSignal.timeout(this.timeoutMs));
  }

  /** Whether every webhook of the configuration carries a caBundle that verifies `leafPem`. */
  async verifies(leafPem: string): Promise<BundleCheck> {
    const webhooks = webhooksOf(await this.get());
    if (webhooks.length === 0) return { ok: false, reason: `MutatingWebhookConfiguration ${this.name} has no webhooks` };
    const failing = webhooks.filter((webhook) => !bundleVerifies(bundleOf(webhook), leafPem));
    if (failing.length === 0) return { ok: true };
    const names = failing.map((webhook) => String(webhook.name)).join(', ');
    return { ok: false, reason: `the caBundle of ${names} in MutatingWebhookConfiguration ${this.name} does not verify the serving certificate` };
  }

  /**
   * Sets `bundlePem` as the caBundle of every webhook whose bundle holds other certificates (or
   * the same ones repeated or in another order). The write carries the resourceVersion read:
   * `conflict` when someone else wrote in between (another replica: the next check sees its result).
   */
  async write(bundlePem: string): Promise<'unchanged' | 'written' | 'conflict'> {
    const configuration = await this.get();
    if (!isJsonObject(configuration)) throw new Error(`MutatingWebhookConfiguration ${this.name} is not an object`);
    // The same certificates in the same order: a bundle repeating one, or in another order, is rewritten.
    const wanted = fingerprints(bundlePem).join(',');
    const same = (pem: string): boolean => fingerprints(pem).join(',') === wanted;
    const webhooks = webhooksOf(configuration);
    if (webhooks.every((webhook) => same(bundleOf(webhook)))) return 'unchanged';
    const caBundle = Buffer.from(bundlePem).toString('base64');
    const updated = { ...configuration, webhooks: webhooks.map((webhook) => ({ ...webhook, clientConfig: { ...webhook.clientConfig, caBundle } })) };
    try {
      await this.api.putJson(path(this.name), updated, AbortSignal.timeout(this.timeoutMs));
      return 'written';
    } catch (error) {
      if ((error as { code?: unknown }).code === 409) return 'conflict';
      throw error;
    }
  }
}
