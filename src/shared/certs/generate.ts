import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { readCertificateAuthority, signCertificate } from './authority.js';

export interface CertificateRequest {
  /** Kubernetes Service name of the webhook. */
  readonly service: string;
  readonly namespace: string;
  /** Extra DNS names or IP addresses for the serving certificate. */
  readonly hosts?: readonly string[];
  readonly validityDays?: number;
  /** Overrides validityDays (short-lived certificates for rotation tests). */
  readonly validitySeconds?: number;
  /** The start of the validity (default: now, less 5 minutes for clock skew). */
  readonly now?: Date;
}

export interface GeneratedCertificates {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
  /** Every subjectAltName of the serving certificate, in order. */
  readonly altNames: readonly string[];
}

/** The names the API server may use for the webhook's Service, then the extra hosts. */
export function serviceAltNames(service: string, namespace: string, hosts: readonly string[] = []): string[] {
  const names = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...hosts];
  return [...new Set(names)];
}

function rsaKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // node:crypto generates the key natively (milliseconds); node-forge builds and signs the certificates.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

function validity(certificate: forge.pki.Certificate, seconds: number, now = new Date()): void {
  // Valid a little before now, for clocks a little behind: 5 minutes, or a tenth of a short lifetime.
  const skewMs = Math.min(5 * 60, seconds / 10) * 1000;
  certificate.validity.notBefore = new Date(now.getTime() - skewMs);
  certificate.validity.notAfter = new Date(now.getTime() + seconds * 1000);
}

const DAY_SECONDS = 24 * 60 * 60;

/** A CA able to sign serving certificates. */
export interface CertificateAuthority {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly certPem: string;
  readonly keyPem: string;
}

export function createCertificateAuthority(service: string, validityDays = 3650, now?: Date): CertificateAuthority {
  const ca = rsaKeyPair();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = ca.publicKey;
  certificate.serialNumber = serialNumber();
  validity(certificate, Math.max(validityDays, 3650) * DAY_SECONDS, now);
  const subject = [{ name: 'commonName', value: `${service}-ca` }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(ca.privateKey, forge.md.sha256.create());
  return { certificate, privateKey: ca.privateKey, certPem: forge.pki.certificateToPem(certificate), keyPem: ca.pem };
}

/** A CA's certificate and key, PEM. */
export interface CertificateAuthorityPems {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * A serving certificate signed by `ca` (RSA, EC or Ed25519: see authority.ts), with SANs for the
 * webhook's Service and the extra hosts. Throws when the CA cannot sign at the request's time:
 * callers holding a CA they did not make read it with `readCertificateAuthority` first.
 */
export function issueServingCertificate(ca: CertificateAuthorityPems, request: CertificateRequest): GeneratedCertificates {
  const authority = readCertificateAuthority(ca.certPem, ca.keyPem, request.now ?? new Date());
  if (!authority.ok) throw new Error(authority.error);
  const leaf = rsaKeyPair();
  const altNames = serviceAltNames(request.service, request.namespace, request.hosts);
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, request.validitySeconds ?? (request.validityDays ?? 365) * DAY_SECONDS, request.now);
  cert.setSubject([{ name: 'commonName', value: `${request.service}.${request.namespace}.svc` }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: altNames.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: 'subjectKeyIdentifier' },
    ...(authority.value.keyIdentifier === undefined ? [] : [{ name: 'authorityKeyIdentifier', keyIdentifier: authority.value.keyIdentifier }]),
  ]);
  return { caCert: ca.certPem, caKey: ca.keyPem, cert: signCertificate(authority.value, cert), key: leaf.pem, altNames };
}

/** A new CA and a serving certificate it signs, with SANs for the webhook's Service. */
export function generateCertificates(request: CertificateRequest): GeneratedCertificates {
  return issueServingCertificate(createCertificateAuthority(request.service, request.validityDays, request.now), request);
}
