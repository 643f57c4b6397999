import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { isJsonObject } from '../../shared/json.js';
import { bundleCertificates, bundleVerifies } from '../../webhook/certificates/bundle.js';
import type { Finding } from '../report.js';
import { type ParsedWebhook, unreadFinding } from './configuration.js';
import type { Fetched, TlsObservation } from './facts.js';
import { coded, passed } from './findings.js';

const DAY_MS = 86_400_000;
/** Warn when less than this is left... */
export const EXPIRY_WARNING_MS = 7 * DAY_MS;
/** ...or, for a certificate living less than 21 days, less than this share of its lifetime. */
export const EXPIRY_WARNING_FRACTION = 1 / 3;

function days(ms: number): string {
  if (Math.abs(ms) < DAY_MS) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.floor(ms / DAY_MS)} days`;
}

/** Expired, not yet valid, expiring soon, or how long it has left. */
function validity(certificate: X509Certificate, what: string, object: string, now: Date): { finding: Finding | undefined; left: string; valid: boolean } {
  const from = new Date(certificate.validFrom).getTime();
  const to = new Date(certificate.validTo).getTime();
  const at = now.getTime();
  if (at >= to) return { finding: coded('CERTIFICATE_EXPIRED', object, `${what} expired on ${certificate.validToDate.toISOString()} (${days(at - to)} ago)`), left: 'expired', valid: false };
  if (at < from) return { finding: coded('CERTIFICATE_NOT_YET_VALID', object, `${what} is valid only from ${certificate.validFromDate.toISOString()} (in ${days(from - at)})`), left: 'not yet valid', valid: false };
  const left = to - at;
  const threshold = Math.min(EXPIRY_WARNING_MS, (to - from) * EXPIRY_WARNING_FRACTION);
  const text = `${days(left)} left, until ${certificate.validToDate.toISOString()}`;
  if (left < threshold) return { finding: coded('CERTIFICATE_EXPIRES_SOON', object, `${what} expires in ${days(left)} (${certificate.validToDate.toISOString()}), of a ${days(to - from)} lifetime`), left: text, valid: true };
  return { finding: undefined, left: text, valid: true };
}

/** Whether the certificate names `host` as a SAN (the API server, in Go, ignores the Common Name). */
function names(certificate: X509Certificate, host: string): boolean {
  return (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host, { subject: 'never' })) !== undefined;
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** The caBundle's CAs that signed one of `chain`, with their own validity. */
function issuingCas(bundle: string, chain: readonly X509Certificate[]): X509Certificate[] {
  return bundleCertificates(bundle).filter((ca) => chain.some((certificate) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey)));
}

/** A point inside the certificate's validity (to ask "would the bundle verify it, dates aside"). */
const midpoint = (certificate: X509Certificate): Date => new Date((new Date(certificate.validFrom).getTime() + new Date(certificate.validTo).getTime()) / 2);

const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Check 3, url clientConfig: the certificate the webhook served in a TLS handshake made as the API
 * server makes it (servername = the url's host, the caBundle as the only CAs): verified, naming
 * the host, and its validity and its CA's.
 */
export function checkServedCertificate(webhook: ParsedWebhook & { readonly clientConfig: { readonly kind: 'url'; readonly url: URL } }, observation: TlsObservation, now: Date): Finding[] {
  const object = `webhook/${webhook.name}`;
  const { url } = webhook.clientConfig;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const address = url.host;
  if (!observation.connected) return [coded('WEBHOOK_UNREACHABLE', object, `TLS connection to ${address} failed: ${observation.error}`)];
  const chain = observation.chain.map(parse).filter((certificate): certificate is X509Certificate => certificate !== undefined);
  const leaf = chain[0];
  if (!leaf) return [{ ...coded('CHECK_FAILED', object, `${address} sent no certificate doctor could read`), check: 'webhook-certificate' }];
  const findings: Finding[] = [];
  const served = `the certificate served at ${address} (${leaf.subject.replaceAll('\n', ', ') || 'no subject'})`;
  const dates = validity(leaf, served, object, now);
  if (dates.finding) findings.push(dates.finding);
  const named = names(leaf, host);
  if (!named) findings.push(coded('CERTIFICATE_NAME_MISMATCH', object, `${served} does not name ${host} (its SANs: ${leaf.subjectAltName ?? 'none'})`));
  const error = observation.authorizationError;
  const verifiedHow = `verified in a TLS handshake with ${address} (servername ${host})`;
  if (webhook.caBundle.trim() === '') {
    if (error !== undefined && !DATE_ERRORS.has(error) && error !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
      findings.push(coded('CA_BUNDLE_EMPTY', object, `no caBundle, and the system roots do not verify ${served}: ${error}`));
    } else if (error === undefined) {
      findings.push(passed('webhook-certificate', object, `no caBundle: the system roots verify ${served}, ${verifiedHow}; ${dates.left}`));
    }
    return findings;
  }
  let bundleOk = error === undefined;
  if (error !== undefined && error !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    if (DATE_ERRORS.has(error)) {
      // A date is wrong (the leaf's, reported above, or a CA's, reported below): would the bundle verify it otherwise?
      bundleOk = bundleVerifies(webhook.caBundle, leaf.toString(), midpoint(leaf));
      if (!bundleOk) findings.push(coded('CA_BUNDLE_MISMATCH', object, `the caBundle does not verify ${served} (${error}; no CA of the bundle signed it)`));
    } else {
      findings.push(coded('CA_BUNDLE_MISMATCH', object, `the caBundle does not verify ${served}: ${error}`));
    }
  } else if (error === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    bundleOk = true;
    if (named) findings.push(coded('CERTIFICATE_NAME_MISMATCH', object, `${served}: the TLS handshake refused the name ${host}`));
  }
  for (const ca of issuingCas(webhook.caBundle, chain)) {
    const caDates = validity(ca, `the caBundle's CA ${ca.subject.replaceAll('\n', ', ')}`, object, now);
    if (caDates.finding && caDates.finding.code !== 'CERTIFICATE_NOT_YET_VALID') findings.push(caDates.finding);
  }
  if (bundleOk && dates.valid && named && !findings.some((finding) => finding.severity === 'error')) {
    findings.push(passed('webhook-certificate', object, `the caBundle verifies ${served}, ${verifiedHow}; it names ${host}; ${dates.left}`));
  }
  return findings;
}

function secretCertificate(secret: unknown): { cert: X509Certificate | undefined; present: boolean } {
  const data = isJsonObject(secret) && isJsonObject(secret.data) ? secret.data : {};
  const encoded = data['tls.crt'];
  if (typeof encoded !== 'string' || encoded === '') return { cert: undefined, present: false };
  const pem = Buffer.from(encoded, 'base64').toString('utf8');
  return { cert: bundleCertificates(pem)[0], present: true };
}

/**
 * Check 3, service clientConfig. The API server's service proxy does not show the certificate the
 * webhook serves, so what is compared is the certificate in the Secret the webhook serves from
 * (self-managed: the Secret it keeps; cert-manager and by hand: the mounted TLS Secret): the
 * caBundle verifies it, it names NAME.NAMESPACE.svc (the name the API server connects to), and its
 * validity. The findings say so.
 */
export function checkSecretCertificate(
  webhook: ParsedWebhook & { readonly clientConfig: { readonly kind: 'service'; readonly namespace: string; readonly name: string } },
  secret: { readonly name: string; readonly fetched: Fetched<unknown> } | undefined,
  tried: readonly string[],
  now: Date,
): Finding[] {
  const object = `webhook/${webhook.name}`;
  const proxyNote = "the API server's service proxy does not show the certificate the webhook serves";
  if (secret === undefined) {
    return [coded('CERTIFICATE_NOT_CHECKED', object, `${proxyNote}, and none of the Secrets ${tried.join(', ') || '(none)'} exists`)];
  }
  if (secret.fetched.status === 'missing') return [coded('CERTIFICATE_NOT_CHECKED', object, `${proxyNote}, and Secret ${secret.name} does not exist`)];
  if (secret.fetched.status !== 'ok') return [unreadFinding(secret.fetched, `Secret ${secret.name}`, object, 'webhook-certificate')!];
  const { cert, present } = secretCertificate(secret.fetched.value);
  if (!cert) return [coded('CERTIFICATE_NOT_CHECKED', object, `${proxyNote}, and Secret ${secret.name} ${present ? 'has a tls.crt that is not a PEM certificate' : 'has no tls.crt yet'}`)];
  const { namespace, name } = webhook.clientConfig;
  const host = `${name}.${namespace}.svc`;
  const what = `the certificate in Secret ${secret.name} (tls.crt, what the webhook is given to serve)`;
  const findings: Finding[] = [];
  const dates = validity(cert, what, object, now);
  if (dates.finding) findings.push(dates.finding);
  const named = names(cert, host);
  if (!named) findings.push(coded('CERTIFICATE_NAME_MISMATCH', object, `${what} does not name ${host}, the name the API server connects to (its SANs: ${cert.subjectAltName ?? 'none'})`));
  let bundleOk = false;
  if (webhook.caBundle.trim() === '') {
    findings.push(coded('CA_BUNDLE_EMPTY', object, `webhook ${webhook.name} has no caBundle: the API server verifies the Service's certificate with its system roots, which do not sign ${what}`));
  } else {
    bundleOk = bundleVerifies(webhook.caBundle, cert.toString(), dates.valid ? now : midpoint(cert));
    if (!bundleOk) {
      const expiredCa = bundleVerifies(webhook.caBundle, cert.toString(), midpoint(cert));
      findings.push(coded(expiredCa ? 'CERTIFICATE_EXPIRED' : 'CA_BUNDLE_MISMATCH', object, expiredCa ? `the caBundle's CA that signed ${what} is not valid now` : `the caBundle does not verify ${what}: no CA of the bundle signed it`));
    }
    for (const ca of issuingCas(webhook.caBundle, [cert])) {
      const caDates = validity(ca, `the caBundle's CA ${ca.subject.replaceAll('\n', ', ')}`, object, now);
      if (caDates.finding?.code === 'CERTIFICATE_EXPIRES_SOON') findings.push(caDates.finding);
    }
  }
  if (bundleOk && dates.valid && named && !findings.some((finding) => finding.severity === 'error')) {
    findings.push(passed('webhook-certificate', object, `the caBundle verifies ${what}; it names ${host}; ${dates.left}. Compared from the Secret: ${proxyNote}`));
  }
  return findings;
}

