import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type AuthorityProblem, type AuthorityResult, readCertificateAuthority, type SigningAuthority } from '../../shared/certs/authority.js';
import { createCertificateAuthority, issueServingCertificate, serviceAltNames } from '../../shared/certs/generate.js';
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
  /** Counted by the webhook's metrics. */
  readonly events?: SelfManagedEvents;
  readonly now?: () => Date;
}

/** What the self-managed certificate reports (the webhook's metrics count it). */
export interface SelfManagedEvents {
  /** The Secret held a CA the webhook cannot sign with; a new one replaced it. */
  caReplaced(reason: AuthorityProblem): void;
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
    const material = await synchronise(this.options, this.material);
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

/** What the Secret should hold now, and why it changed. */
interface Update {
  readonly material: Material;
  /** A serving certificate was issued (else only the caBundle was tidied). */
  readonly issued: boolean;
  readonly newCa: boolean;
  /** The Secret held a CA the webhook cannot sign with, now replaced. */
  readonly unusable?: { readonly reason: AuthorityProblem; readonly error: string };
}

/**
 * The CA the Secret holds, read for signing: `undefined` when it holds none (the empty Secret the
 * manifests create), else the CA (a certificate of ca.crt that ca.key belongs to) or why it cannot sign.
 */
function heldAuthority(current: Partial<Material>, bundle: readonly X509Certificate[], now: Date): AuthorityResult<SigningAuthority> | undefined {
  if (current.caKey === undefined && current.caBundle === undefined) return undefined;
  if (current.caKey === undefined) return { ok: false, code: 'unreadable', error: 'ca.key is empty' };
  if (bundle.length === 0) return { ok: false, code: 'unreadable', error: 'ca.crt holds no certificate' };
  let key: KeyObject;
  try {
    key = createPrivateKey(current.caKey);
  } catch {
    return { ok: false, code: 'unreadable', error: 'ca.key is not a PEM private key' };
  }
  const belongs = (ca: X509Certificate): boolean => {
    try {
      return ca.checkPrivateKey(key);
    } catch {
      return false;
    }
  };
  let problem: AuthorityResult<SigningAuthority> = { ok: false, code: 'key-mismatch', error: 'no certificate of ca.crt belongs to ca.key' };
  for (const ca of bundle.filter(belongs)) {
    const read = readCertificateAuthority(ca.toString(), current.caKey, now);
    if (read.ok) return read;
    if (!problem.ok && problem.code === 'key-mismatch') problem = read;
  }
  return problem;
}

/** Each certificate once (by SHA-256 fingerprint), in the order first seen. */
function distinct(certificates: readonly X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  return certificates.filter((certificate) => !seen.has(certificate.fingerprint256) && seen.add(certificate.fingerprint256));
}

/**
 * What the Secret should hold now, given what it holds: `undefined` when it is right as it is;
 * otherwise a new serving certificate (under a new CA when the held one is missing, due for
 * renewal or unusable) or only a tidier caBundle. The caBundle is the signing CA first, then every
 * other CA of ca.crt still valid, each once, in order: certificates of either verify meanwhile.
 */
function renewed(current: Partial<Material>, options: SelfManagedOptions, now: Date): Update | undefined {
  const wanted = serviceAltNames(options.service, options.secret.namespace, options.hosts);
  const bundle = bundleCertificates(current.caBundle ?? '');
  const held = heldAuthority(current, bundle, now);
  const signing = held?.ok ? held.value : undefined;
  const others = (ca: X509Certificate): X509Certificate[] =>
    distinct(bundle.filter((other) => other.ca && now < new Date(other.validTo) && other.fingerprint256 !== ca.fingerprint256));
  let leaf: X509Certificate | undefined;
  try {
    leaf = current.cert ? new X509Certificate(current.cert) : undefined;
    if (leaf && current.key && !leaf.checkPrivateKey(createPrivateKey(current.key))) leaf = undefined;
  } catch {
    leaf = undefined;
  }
  const caDue = !signing || dueForRenewal(signing.certificate, now);
  const ca = signing?.certificate;
  const leafGood = leaf !== undefined && ca !== undefined && leaf.checkIssued(ca) && leaf.verify(ca.publicKey) && names(leaf, wanted) && !dueForRenewal(leaf, now);
  if (!caDue && leafGood && signing && current.cert && current.key) {
    const caBundle = joinBundle([signing.certificate, ...others(signing.certificate)]);
    if (caBundle === current.caBundle) return undefined;
    return { material: { caBundle, caKey: signing.keyPem, cert: current.cert, key: current.key }, issued: false, newCa: false };
  }

  const authority = caDue || !signing ? createCertificateAuthority(options.service, CA_VALIDITY_DAYS, now) : signing;
  const issued = issueServingCertificate(authority, {
    service: options.service,
    namespace: options.secret.namespace,
    hosts: options.hosts,
    validitySeconds: options.validitySeconds,
    now,
  });
  const signingCa = new X509Certificate(authority.certPem);
  return {
    material: { caBundle: joinBundle([signingCa, ...others(signingCa)]), caKey: authority.keyPem, cert: issued.cert, key: issued.key },
    issued: true,
    newCa: authority !== signing,
    unusable: held && !held.ok ? { reason: held.code, error: held.error } : undefined,
  };
}

/**
 * Brings the Secret up to date and returns what it holds: reads it; when it holds no usable,
 * current certificate, writes a new one with the resourceVersion read; on a conflict (another
 * replica wrote first) reads again and takes theirs. A running replica (`held`: what it serves)
 * that finds the Secret emptied refills it with what it holds rather than making a new CA: the
 * Secret was replaced by the empty one the manifests create (`helm upgrade --force`, `kubectl
 * replace`), and a new CA would leave the other replicas' certificates out of the caBundle until
 * they next check.
 */
async function synchronise(options: SelfManagedOptions, held?: Material): Promise<Material> {
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
    const stored = decodeData(secret);
    const refill = held !== undefined && Object.keys(stored).length === 0;
    const current = refill ? held : stored;
    const update = renewed(current, options, now);
    if (update === undefined && !refill) return current as Material;
    const next = update?.material ?? held!;
    const data: Record<string, string> = {};
    for (const [field, key] of Object.entries(KEYS) as Array<[keyof Material, string]>) data[key] = Buffer.from(next[field]).toString('base64');
    try {
      await options.api.putJson(secretPath(options), { ...(secret as Record<string, unknown>), data }, AbortSignal.timeout(10_000));
      if (refill) options.logger.warn('secret-refilled', { secret: secretName(options), reason: 'the Secret was emptied; refilled with the CA and certificate this replica serves' });
      if (update?.unusable) {
        options.logger.warn('ca-unusable', { secret: secretName(options), reason: update.unusable.reason, error: update.unusable.error });
        options.events?.caReplaced(update.unusable.reason);
      }
      if (update?.issued) options.logger.info('certificate-issued', { secret: secretName(options), notAfter: new X509Certificate(next.cert).validTo, newCa: update.newCa });
      else if (update) options.logger.info('ca-bundle-tidied', { secret: secretName(options), certificates: bundleCertificates(next.caBundle).length });
      return next;
    } catch (error) {
      // Another replica wrote first: read again and serve theirs.
      if ((error as { code?: unknown }).code !== 409 || attempt >= 5) throw error;
    }
  }
}
