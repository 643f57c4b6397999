import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { createCertificateAuthority, issueServingCertificate, loadCertificateAuthority, serviceAltNames } from '../../shared/certs/generate.js';
import type { CertificateMetrics, CertificateProvider, KeyPair, SecureContextTarget, ServingCertificates } from '../../shared/http/tls.js';
import { keyPairOf } from '../../shared/http/tls.js';
import { isJsonObject } from '../../shared/json.js';
import type { ApiClient } from '../../shared/k8s/api-client.js';
import { errorMessage, type Logger } from '../../shared/log.js';
import type { Parsed } from '../../shared/result.js';
import { bundleCertificates, joinBundle } from './bundle.js';
import { WebhookConfigurationBundle } from './webhook-configuration.js';

/**
 * The self-managed certificate mode: the webhook keeps its own CA and serving certificate in one
 * Secret, writes the CA into its own MutatingWebhookConfiguration, and renews well before expiry.
 *
 * - Replicas agree through the Secret: every write carries the resourceVersion it read, so when
 *   two replicas renew at once one write wins (409 Conflict for the other, which then reads and
 *   serves the winner's certificate).
 * - A certificate is renewed once two thirds of its lifetime have passed, so a replica that has
 *   not yet picked up a renewal still serves a valid certificate under the same CA.
 * - A CA is replaced the same way; the new one is published beside the old one in the caBundle
 *   until the old one expires, so certificates of either verify meanwhile.
 * - The webhook only reads and updates (never creates) the one Secret and the one configuration,
 *   so its RBAC can name both (`resourceNames`); the manifests create the Secret empty.
 */
export interface SelfManagedOptions {
  readonly api: ApiClient;
  readonly secret: { readonly namespace: string; readonly name: string };
  readonly webhookConfiguration: string;
  /** The webhook's Service (in the Secret's namespace): the certificate names its DNS names. */
  readonly service: string;
  /** Extra DNS names or IP addresses. */
  readonly hosts: readonly string[];
  readonly validitySeconds: number;
  readonly checkIntervalMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

interface Material {
  /** Every CA the webhook configuration should trust, newest first. */
  readonly caBundle: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

const KEYS = { caBundle: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;
const CA_VALIDITY_DAYS = 3650;

function dueForRenewal(certificate: X509Certificate, now: Date): boolean {
  const from = new Date(certificate.validFrom).getTime();
  const to = new Date(certificate.validTo).getTime();
  return now.getTime() >= from + ((to - from) * 2) / 3;
}

function names(certificate: X509Certificate, wanted: readonly string[]): boolean {
  return wanted.every((name) => (isIP(name) ? certificate.checkIP(name) : certificate.checkHost(name, { subject: 'never', wildcards: false })) !== undefined);
}

function decodeData(secret: unknown): Partial<Record<keyof Material, string>> {
  const data = isJsonObject(secret) && isJsonObject(secret.data) ? secret.data : {};
  const out: Partial<Record<keyof Material, string>> = {};
  for (const [field, key] of Object.entries(KEYS) as Array<[keyof Material, string]>) {
    const value = data[key];
    if (typeof value === 'string' && value !== '') out[field] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

export class SelfManagedCertificates implements ServingCertificates, CertificateProvider {
  private material: Material;
  private pair: KeyPair;
  private target: SecureContextTarget | undefined;
  private metrics: CertificateMetrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private bundleReady = false;
  private checking: Promise<void> | undefined;
  private readonly configuration: WebhookConfigurationBundle;

  private constructor(
    private readonly options: SelfManagedOptions,
    material: Material,
    pair: KeyPair,
  ) {
    this.material = material;
    this.pair = pair;
    this.configuration = new WebhookConfigurationBundle(options.api, options.webhookConfiguration);
  }

  /** Reads (or creates, and writes) the certificate before the server starts, so it starts serving a valid one. */
  static async create(options: SelfManagedOptions): Promise<Parsed<SelfManagedCertificates>> {
    try {
      const material = await synchronise(options);
      const pair = keyPairOf(Buffer.from(material.cert), Buffer.from(material.key), secretName(options));
      if (!pair.ok) return pair;
      return { ok: true, value: new SelfManagedCertificates(options, material, pair.value) };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  }

  get initial(): KeyPair {
    return this.pair;
  }

  attach(target: SecureContextTarget, _logger: Logger, metrics: CertificateMetrics): CertificateProvider {
    this.target = target;
    this.metrics = metrics;
    metrics.expires(this.pair.notAfter.getTime() / 1000);
    return this;
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  isValid(now = new Date()): boolean {
    return this.pair.notBefore <= now && now < this.pair.notAfter;
  }

  certificate(): Buffer {
    return this.pair.cert;
  }

  /** Whether the webhook configuration's caBundle verified the serving certificate at the last check. */
  caBundleReady(): boolean {
    return this.bundleReady;
  }

  /** One round: pick up or make a renewal, serve it, publish the CA. One at a time; never rejects. */
  check(): Promise<void> {
    this.checking ??= this.checkNow()
      .catch((error: unknown) => this.options.logger.warn('certificate-check-failed', { error: errorMessage(error) }))
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  private async checkNow(): Promise<void> {
    const material = await synchronise(this.options);
    if (material.cert !== this.material.cert || material.key !== this.material.key) {
      const pair = keyPairOf(Buffer.from(material.cert), Buffer.from(material.key), secretName(this.options));
      if (!pair.ok) {
        this.metrics?.reloaded('invalid');
        throw new Error(pair.error);
      }
      this.target?.setSecureContext({ cert: pair.value.cert, key: pair.value.key, minVersion: 'TLSv1.2' });
      this.pair = pair.value;
      this.metrics?.reloaded('success');
      this.metrics?.expires(pair.value.notAfter.getTime() / 1000);
      this.options.logger.info('certificate-reloaded', { notAfter: pair.value.notAfter.toISOString(), from: secretName(this.options) });
    }
    this.material = material;
    const written = await this.configuration.write(material.caBundle);
    if (written === 'written') this.options.logger.info('ca-bundle-written', { webhookConfiguration: this.options.webhookConfiguration });
    const verified = await this.configuration.verifies(material.cert);
    if (!verified.ok && this.bundleReady) this.options.logger.warn('ca-bundle-not-ready', { reason: verified.reason });
    this.bundleReady = verified.ok;
  }
}

function secretName(options: SelfManagedOptions): string {
  return `Secret ${options.secret.namespace}/${options.secret.name}`;
}

const secretPath = (options: SelfManagedOptions): string =>
  `/api/v1/namespaces/${encodeURIComponent(options.secret.namespace)}/secrets/${encodeURIComponent(options.secret.name)}`;

/** What the Secret should hold now, given what it holds: kept, a new serving certificate, or a new CA too. */
function renewed(current: Partial<Material>, options: SelfManagedOptions, now: Date): Material | undefined {
  const wanted = serviceAltNames(options.service, options.secret.namespace, options.hosts);
  const cas = bundleCertificates(current.caBundle ?? '').filter((ca) => ca.ca && now < new Date(ca.validTo));
  let signing: X509Certificate | undefined;
  try {
    const key = current.caKey ? createPrivateKey(current.caKey) : undefined;
    signing = key && cas.find((ca) => ca.checkPrivateKey(key));
  } catch {
    signing = undefined;
  }
  let leaf: X509Certificate | undefined;
  try {
    leaf = current.cert ? new X509Certificate(current.cert) : undefined;
    if (leaf && current.key && !leaf.checkPrivateKey(createPrivateKey(current.key))) leaf = undefined;
  } catch {
    leaf = undefined;
  }
  const caDue = !signing || dueForRenewal(signing, now);
  const leafGood = leaf !== undefined && signing !== undefined && leaf.checkIssued(signing) && leaf.verify(signing.publicKey) && names(leaf, wanted) && !dueForRenewal(leaf, now);
  if (!caDue && leafGood && current.caBundle && current.caKey && current.cert && current.key) return undefined;

  const authority =
    caDue || !signing || !current.caKey
      ? createCertificateAuthority(options.service, CA_VALIDITY_DAYS, now)
      : loadCertificateAuthority(signing.toString(), current.caKey);
  const issued = issueServingCertificate(authority, {
    service: options.service,
    namespace: options.secret.namespace,
    hosts: options.hosts,
    validitySeconds: options.validitySeconds,
    now,
  });
  // The new (or kept) CA first, then the others still valid: certificates of either verify meanwhile.
  const signingCa = new X509Certificate(authority.certPem);
  const others = cas.filter((ca) => ca.fingerprint256 !== signingCa.fingerprint256);
  return { caBundle: joinBundle([signingCa, ...others]), caKey: authority.keyPem, cert: issued.cert, key: issued.key };
}

/**
 * Brings the Secret up to date and returns what it holds: reads it; when it holds no usable,
 * current certificate, writes a new one with the resourceVersion read; on a conflict (another
 * replica wrote first) reads again and takes theirs.
 */
async function synchronise(options: SelfManagedOptions): Promise<Material> {
  const now = options.now?.() ?? new Date();
  for (let attempt = 1; ; attempt += 1) {
    let secret: unknown;
    try {
      secret = await options.api.getJson(secretPath(options), AbortSignal.timeout(10_000));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 404) throw new Error(`${secretName(options)} does not exist: create it empty (the manifests do); the webhook may only read and update it`);
      if (code === 403) throw new Error(`${secretName(options)} cannot be read: the webhook's RBAC must allow get and update on it by name`);
      throw error;
    }
    const current = decodeData(secret);
    const next = renewed(current, options, now);
    if (next === undefined) return current as Material;
    const data: Record<string, string> = {};
    for (const [field, key] of Object.entries(KEYS) as Array<[keyof Material, string]>) data[key] = Buffer.from(next[field]).toString('base64');
    try {
      await options.api.putJson(secretPath(options), { ...(secret as Record<string, unknown>), data }, AbortSignal.timeout(10_000));
      options.logger.info('certificate-issued', { secret: secretName(options), notAfter: new X509Certificate(next.cert).validTo, newCa: next.caKey !== current.caKey });
      return next;
    } catch (error) {
      // Another replica wrote first: read again and serve theirs.
      if ((error as { code?: unknown }).code !== 409 || attempt >= 5) throw error;
    }
  }
}
