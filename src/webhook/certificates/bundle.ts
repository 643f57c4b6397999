import { X509Certificate } from 'node:crypto';

/**
 * PEM certificate bundles, as a MutatingWebhookConfiguration's `caBundle` and the Secret's `ca.crt`
 * hold them: reading, comparing by fingerprint, and checking that a bundle verifies a leaf.
 */
const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';
/** A caBundle is a few certificates; more than this many is not one. */
const MAX_CERTIFICATES = 32;

/** The certificates of a PEM bundle, in order (blocks that do not parse are left out). */
export function bundleCertificates(pem: string): X509Certificate[] {
  const certificates: X509Certificate[] = [];
  let from = 0;
  while (certificates.length < MAX_CERTIFICATES) {
    const begin = pem.indexOf(BEGIN, from);
    if (begin < 0) break;
    const end = pem.indexOf(END, begin);
    if (end < 0) break;
    from = end + END.length;
    try {
      certificates.push(new X509Certificate(pem.slice(begin, from)));
    } catch {
      // not a certificate: ignored, as TLS libraries do
    }
  }
  return certificates;
}

/** The SHA-256 fingerprints of a bundle's certificates, in order. */
export function fingerprints(pem: string): string[] {
  return bundleCertificates(pem).map((certificate) => certificate.fingerprint256);
}

/** Whether one of the bundle's CAs, valid at `now`, issued and signed `leafPem`. */
export function bundleVerifies(bundlePem: string, leafPem: string, now = new Date()): boolean {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch {
    return false;
  }
  return bundleCertificates(bundlePem).some(
    (ca) => ca.ca && new Date(ca.validFrom) <= now && now < new Date(ca.validTo) && leaf.checkIssued(ca) && leaf.verify(ca.publicKey),
  );
}

export function joinBundle(certificates: readonly X509Certificate[]): string {
  return certificates.map((certificate) => certificate.toString().trim()).join('\n') + '\n';
}
