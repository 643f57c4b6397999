import { X509Certificate } from 'node:crypto';
import { isJsonObject } from '../../shared/json.js';
import { bundleCertificates } from '../../webhook/certificates/bundle.js';
import type { Finding } from '../report.js';
import { type ParsedWebhook, unreadFinding } from './configuration.js';
import type { CertManagerFacts, Fetched } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

/** The annotation cert-manager's CA injector reads on a webhook configuration: `NAMESPACE/NAME` of a Certificate. */
export const INJECT_CA_FROM = 'cert-manager.io/inject-ca-from';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The inject-ca-from annotation of a configuration that was read, when it has one. */
export function injectCaFrom(configuration: Fetched<unknown>): string | undefined {
  if (configuration.status !== 'ok' || !isJsonObject(configuration.value) || !isJsonObject(configuration.value.metadata)) return undefined;
  const annotations = configuration.value.metadata.annotations;
  const value = isJsonObject(annotations) ? annotations[INJECT_CA_FROM] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** `NAMESPACE/NAME` with a namespace that is a DNS label and a name that is a DNS subdomain, as the injector splits it. */
export function certificateReference(value: string): { readonly namespace: string; readonly name: string } | undefined {
  const parts = value.split('/');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  return DNS_LABEL.test(namespace) && DNS_SUBDOMAIN.test(name) ? { namespace, name } : undefined;
}

/** The Ready condition of a cert-manager object's status. */
function readyCondition(object: Record<string, unknown>): { status: string; reason: string; message: string } | undefined {
  const status = isJsonObject(object.status) ? object.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const ready = conditions.find((condition) => isJsonObject(condition) && condition.type === 'Ready');
  if (!isJsonObject(ready)) return undefined;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return { status: text(ready.status), reason: text(ready.reason), message: text(ready.message) };
}

function caCertificates(secret: unknown): { certificates: X509Certificate[]; present: boolean } {
  const data = isJsonObject(secret) && isJsonObject(secret.data) ? secret.data : {};
  const encoded = data['ca.crt'];
  if (typeof encoded !== 'string' || encoded === '') return { certificates: [], present: false };
  return { certificates: bundleCertificates(Buffer.from(encoded, 'base64').toString('utf8')), present: true };
}

/** Whether every certificate of `cas` is in the caBundle, byte for byte (the injector copies ca.crt as it is). */
function bundleHolds(caBundle: string, cas: readonly X509Certificate[]): boolean {
  const held = new Set(bundleCertificates(caBundle).map((certificate) => certificate.fingerprint256));
  return cas.every((ca) => held.has(ca.fingerprint256));
}

/**
 * The cert-manager mode (the configuration's `cert-manager.io/inject-ca-from`): the Certificate it
 * names exists (and cert-manager's API is served), is Ready, and the caBundle of each pod webhook
 * holds the `ca.crt` of its Secret, which is what the CA injector writes there.
 */
export function checkCertManager(facts: CertManagerFacts, configurationName: string, webhooks: readonly ParsedWebhook[]): Finding[] {
  const configurationObject = `mutatingwebhookconfiguration/${configurationName}`;
  const reference = certificateReference(facts.annotation);
  if (reference === undefined || facts.certificate === undefined) {
    return [coded('CERT_MANAGER_ANNOTATION_INVALID', configurationObject, `${INJECT_CA_FROM} is ${shown(facts.annotation)}, not <namespace>/<name> of a Certificate`)];
  }
  const { namespace, name } = reference;
  const object = `certificate/${namespace}/${name}`;
  const describe = `kubectl -n ${namespace} describe certificate ${name}`;
  if (facts.certificate.status === 'missing') {
    if (facts.api?.status === 'missing') {
      return [coded('CERT_MANAGER_NOT_INSTALLED', object, `${configurationName} has ${INJECT_CA_FROM}: ${namespace}/${name}, but the API server does not serve cert-manager.io/v1 (no Certificate CRD)`)];
    }
    const apiUnread = facts.api?.status === 'forbidden' || facts.api?.status === 'failed' ? facts.api.error : undefined;
    const unsure = apiUnread === undefined ? '' : ` (whether cert-manager is installed could not be read: ${apiUnread})`;
    return [
      coded(
        'CERT_MANAGER_CERTIFICATE_MISSING',
        object,
        `${configurationName} has ${INJECT_CA_FROM}: ${namespace}/${name}, and Certificate ${namespace}/${name} does not exist${unsure}`,
        `apply the webhook's Certificate as ${namespace}/${name} (manifests/cert-manager/certificate.yaml, or the chart with certificates.mode cert-manager), or correct the annotation (kubectl -n ${namespace} get certificates lists those there)`,
      ),
    ];
  }
  if (facts.certificate.status !== 'ok') return [unreadFinding(facts.certificate, `Certificate ${namespace}/${name}`, object, 'webhook-certificate')!];
  const certificate = facts.certificate.value;
  if (!isJsonObject(certificate)) return [coded('OBJECT_UNREADABLE', object, 'the Certificate is not an object')];

  const findings: Finding[] = [];
  const ready = readyCondition(certificate);
  const secretNote = facts.secret ? `; its Secret ${facts.secret.name}` : '; it names no spec.secretName';
  if (ready?.status !== 'True') {
    const why = ready === undefined ? 'it has no Ready condition yet (cert-manager has not processed it: is cert-manager running?)' : `Ready ${ready.status || '(no status)'}: ${ready.reason || '(no reason)'}: ${shown(ready.message, 300)}`;
    findings.push(coded('CERT_MANAGER_CERTIFICATE_NOT_READY', object, `Certificate ${namespace}/${name} is not Ready: ${why}${secretNote}`, `${describe}, then its CertificateRequest and Issuer (kubectl -n ${namespace} get certificaterequests,issuers): act on the reason given`));
  } else {
    const notAfter = isJsonObject(certificate.status) && typeof certificate.status.notAfter === 'string' ? `, valid until ${certificate.status.notAfter}` : '';
    findings.push(passed('webhook-certificate', object, `Certificate ${namespace}/${name} (named by ${INJECT_CA_FROM}) is Ready${ready.message ? ` (${shown(ready.message)})` : ''}${notAfter}${secretNote}`));
  }

  const secret = facts.secret;
  if (secret === undefined) return findings;
  if (secret.fetched.status === 'missing') {
    if (ready?.status === 'True') findings.push(coded('CERT_MANAGER_CERTIFICATE_NOT_READY', object, `Certificate ${namespace}/${name} is Ready, but its Secret ${secret.name} does not exist`, `${describe}; deleting the Secret makes cert-manager issue it again`));
    return findings;
  }
  if (secret.fetched.status !== 'ok') {
    findings.push(unreadFinding(secret.fetched, `Secret ${secret.name}`, object, 'webhook-certificate')!);
    return findings;
  }
  const ca = caCertificates(secret.fetched.value);
  const injectorFix = `check that the cert-manager-cainjector pods run and read their log (kubectl -n cert-manager logs deployment/cert-manager-cainjector); it fills the caBundle from the ca.crt of Secret ${secret.name}`;
  for (const webhook of webhooks.filter((candidate) => candidate.podCreate)) {
    const where = `webhook/${webhook.name}`;
    const empty = webhook.caBundle.trim() === '';
    if (ca.certificates.length === 0) {
      const what = ca.present ? 'has a ca.crt that is not a PEM certificate' : 'has no ca.crt (the issuer gives no CA)';
      if (empty) findings.push(coded('CERT_MANAGER_CA_NOT_INJECTED', where, `webhook ${webhook.name} has no caBundle, and Secret ${secret.name} ${what}: the CA injector has nothing to inject`, `issue the webhook's certificate from an issuer that writes ca.crt (a CA or self-signed Issuer, as manifests/cert-manager does): ${describe}`));
      else findings.push(noted('webhook-certificate', where, `Secret ${secret.name} ${what}: the caBundle was not compared with it`));
      continue;
    }
    const subjects = ca.certificates.map((certificate) => certificate.subject.replaceAll('\n', ', ')).join('; ');
    if (bundleHolds(webhook.caBundle, ca.certificates)) {
      findings.push(passed('webhook-certificate', where, `the caBundle holds the ca.crt of Secret ${secret.name} (${subjects}), as cert-manager's CA injector writes it from Certificate ${namespace}/${name}`));
    } else if (empty) {
      findings.push(coded('CERT_MANAGER_CA_NOT_INJECTED', where, `webhook ${webhook.name} has no caBundle: cert-manager's CA injector has not injected the ca.crt of Secret ${secret.name} (${subjects})`, injectorFix));
    } else {
      findings.push(coded('CERT_MANAGER_CA_NOT_INJECTED', where, `the caBundle of webhook ${webhook.name} does not hold the ca.crt of Secret ${secret.name} (${subjects}): the CA injector has not caught up with a new CA, or something else wrote the caBundle`, injectorFix));
    }
  }
  return findings;
}
