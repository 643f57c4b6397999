import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { errorMessage, type Logger } from '../log.js';
import type { Parsed } from '../result.js';
import { readFileBytes } from '../files/read-file.js';
import { type FileWatch, serialized, watchFiles } from '../files/watch-files.js';
import type { Registry } from 'prom-client';
import { counter, gauge } from '../metrics.js';

export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** When the leaf certificate becomes valid and when it expires. */
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** PEM certificate chains and keys are a few kilobytes; this bounds what a hostile file can make us read. */
const MAX_PEM_BYTES = 1024 * 1024;

async function readPair(certPath: string, keyPath: string): Promise<Parsed<{ cert: Buffer; key: Buffer }>> {
  const [cert, key] = await Promise.all([
    readFileBytes(certPath, { what: 'the TLS certificate', maxBytes: MAX_PEM_BYTES }),
    readFileBytes(keyPath, { what: 'the TLS key', maxBytes: MAX_PEM_BYTES }),
  ]);
  if (!cert.ok) return cert;
  if (!key.ok) return key;
  return { ok: true, value: { cert: cert.value, key: key.value } };
}

/** Checks a certificate and key belong together (OpenSSL refuses a mismatched pair). */
function checkPair(certPath: string, keyPath: string, cert: Buffer, key: Buffer): Parsed<KeyPair> {
  try {
    createSecureContext({ cert, key });
    const leaf = new X509Certificate(cert);
    return { ok: true, value: { cert, key, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) } };
  } catch (error) {
    return { ok: false, error: `${certPath} and ${keyPath} are not a usable certificate and key: ${errorMessage(error)}` };
  }
}

/** Reads a certificate and key and checks they belong together. */
export async function loadKeyPair(certPath: string, keyPath: string): Promise<Parsed<KeyPair>> {
  const files = await readPair(certPath, keyPath);
  return files.ok ? checkPair(certPath, keyPath, files.value.cert, files.value.key) : files;
}

/** What certificate reloads report, counted by the server that serves the certificate. */
export interface CertificateMetrics {
  reloaded(result: 'success' | 'invalid'): void;
  /** The certificate in use now expires at `seconds` (Unix time). */
  expires(seconds: number): void;
}

export function certificateMetrics(registry: Registry): CertificateMetrics {
  const reloads = counter(registry, 'certificate_reloads_total', 'Serving certificate reload attempts, by result', ['result']);
  const expiry = gauge(registry, 'certificate_expiry_timestamp_seconds', 'When the serving certificate in use expires (Unix time)');
  return { reloaded: (result) => reloads.inc({ result }), expires: (seconds) => expiry.set(seconds) };
}

export interface SecureContextTarget {
  setSecureContext(options: { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' }): void;
}

/** What keeps a server's certificate current once it serves: file reloads, or a certificate the server manages. */
export interface CertificateProvider {
  start(): void;
  stop(): void;
  /** Whether the pair in use is valid at `now` (readiness: a server serving an expired certificate fails every call). */
  isValid(now?: Date): boolean;
  /** The certificate (PEM chain) served now. */
  certificate(): Buffer;
}

/** A serving certificate from elsewhere than files: the pair to start with, and what keeps it current. */
export interface ServingCertificates {
  readonly initial: KeyPair;
  attach(target: SecureContextTarget, logger: Logger, metrics: CertificateMetrics): CertificateProvider;
}

/** Checks a certificate and key PEM pair belong together; the pair with its validity. */
export function keyPairOf(cert: Buffer, key: Buffer, source: string): Parsed<KeyPair> {
  return checkPair(`${source} (certificate)`, `${source} (key)`, cert, key);
}

/**
 * Watches the certificate and key files and installs a new pair on the server once both files form
 * a valid pair again.
 * Connections already open keep their context; new handshakes use the new one, so no request fails.
 */
export class CertificateReloader implements CertificateProvider {
  private watch: FileWatch | undefined;
  private current: KeyPair;
  /** Loads the files again; resolves to whether a new pair was installed. Reloads run one after another. */
  reload: () => Promise<boolean>;

  constructor(
    private readonly certPath: string,
    private readonly keyPath: string,
    initial: KeyPair,
    private readonly target: SecureContextTarget,
    private readonly logger: Logger,
    private readonly metrics: CertificateMetrics,
    private readonly debounceMs = 100,
  ) {
    this.current = initial;
    metrics.expires(initial.notAfter.getTime() / 1000);
    this.reload = serialized(
      () => this.reloadNow(),
      (error) => {
        this.metrics.reloaded('invalid');
        this.logger.error('certificate-reload-failed', { error: errorMessage(error) });
        return false;
      },
    );
  }

  start(): void {
    this.watch = watchFiles([this.certPath, this.keyPath], () => void this.reload(), {
      debounceMs: this.debounceMs,
      onError: (directory, error) => this.logger.warn('certificate-watch-failed', { directory, error: errorMessage(error) }),
    });
  }

  isValid(now = new Date()): boolean {
    return this.current.notBefore <= now && now < this.current.notAfter;
  }

  certificate(): Buffer {
    return this.current.cert;
  }

  private async reloadNow(): Promise<boolean> {
    const files = await readPair(this.certPath, this.keyPath);
    if (files.ok && files.value.cert.equals(this.current.cert) && files.value.key.equals(this.current.key)) return false;
    const loaded = files.ok ? checkPair(this.certPath, this.keyPath, files.value.cert, files.value.key) : files;
    if (!loaded.ok) {
      // Often the middle of an update (cert written, key not yet): the next file event retries.
      this.metrics.reloaded('invalid');
      this.logger.warn('certificate-reload-skipped', { reason: loaded.error });
      return false;
    }
    this.target.setSecureContext({ cert: loaded.value.cert, key: loaded.value.key, minVersion: 'TLSv1.2' });
    this.current = loaded.value;
    this.metrics.reloaded('success');
    this.metrics.expires(loaded.value.notAfter.getTime() / 1000);
    this.logger.info('certificate-reloaded', { notAfter: loaded.value.notAfter.toISOString() });
    return true;
  }

  stop(): void {
    this.watch?.close();
    this.watch = undefined;
  }
}
