import type { PodIdentities } from '../../webhook/pod-identity/identities.js';
import { type DoctorReport, doctorReport, type Finding } from '../report.js';
import { checkAdmissionPolicies } from './admission-policy.js';
import { certificateReference, checkCertManager } from './cert-manager.js';
import { checkSecretCertificate, checkServedCertificate } from './certificate.js';
import { checkConfiguration, namespaceLabels, type ParsedWebhook, unreadFinding } from './configuration.js';
import { checkWorkload } from './deployment.js';
import { checkReadiness, checkServiceEndpoints, isServiceWebhook } from './endpoints.js';
import type { DoctorFacts, IdentitiesFacts, PodPages } from './facts.js';
import { coded, noted, passed } from './findings.js';
import { checkImagePull } from './image-pull.js';
import { checkOidc } from './oidc.js';
import { PodChecker } from './pods.js';
import { checkSelectors } from './selectors.js';
import { checkServiceAccounts } from './service-accounts.js';

/** Where the webhook reads its Pod Identity ServiceAccounts from, as doctor was told; undefined when it cannot know them. */
function checkIdentities(facts: IdentitiesFacts | undefined): { findings: Finding[]; identities: PodIdentities | undefined } {
  if (facts === undefined) {
    return { findings: [noted('pod-identities', undefined, 'not given (--watch-container-credentials-config or --watch-container-credentials-config-map, as serve has them): pods with Pod Identity are not judged')], identities: undefined };
  }
  if ('identities' in facts) {
    return { findings: [passed('pod-identities', facts.source, `${facts.identities.size} ServiceAccount${facts.identities.size === 1 ? '' : 's'} listed for Pod Identity`)], identities: facts.identities };
  }
  if ('invalid' in facts) return { findings: [coded('POD_IDENTITIES_INVALID', facts.source, facts.invalid)], identities: undefined };
  if (facts.unread.status === 'missing') {
    return { findings: [noted('pod-identities', facts.source, 'the ConfigMap does not exist: the webhook gives no ServiceAccount Pod Identity')], identities: new Set() };
  }
  return { findings: [unreadFinding(facts.unread, facts.source, facts.source, 'pod-identities')!], identities: undefined };
}

function checkWebhook(webhook: ParsedWebhook, facts: DoctorFacts): Finding[] {
  const probed = facts.webhooks.get(webhook.name);
  const object = `webhook/${webhook.name}`;
  if (isServiceWebhook(webhook)) {
    if (!probed?.service) return [noted('webhook-endpoints', object, 'not probed')];
    const { service } = probed;
    const { namespace, name, port } = webhook.clientConfig;
    return [
      ...checkServiceEndpoints(webhook, service),
      ...checkReadiness(webhook, service.readyz, `through the API server's service proxy (services/https:${name}:${port}/proxy in ${namespace})`),
      ...(service.workload ? checkWorkload(service.workload, namespace, name) : []),
      ...checkSecretCertificate(webhook, service.secret, service.secretsTried, facts.now),
    ];
  }
  if (webhook.clientConfig.kind !== 'url' || !probed?.url) return [noted('webhook-endpoints', object, 'not probed')];
  const url = webhook as ParsedWebhook & { clientConfig: { kind: 'url'; url: URL } };
  const findings: Finding[] = [];
  if (probed.url.connected) findings.push(passed('webhook-endpoints', object, `a TLS connection to ${url.clientConfig.url.host} succeeded`));
  findings.push(...checkServedCertificate(url, probed.url, facts.now));
  if (probed.url.connected) findings.push(...checkReadiness(webhook, probed.url.readyz, `at ${url.clientConfig.url.origin}`));
  return findings;
}

/**
 * Every check over what was gathered, in order: the configuration and its selectors, each pod
 * webhook's endpoints and certificate, the ServiceAccounts, the Pod Identity list, the pods, image
 * pulls with pod tokens, OIDC.
 * Pure apart from reading the pod pages it is given.
 */
export async function diagnose(facts: DoctorFacts, pods: PodPages | undefined): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const configuration = checkConfiguration(facts.configurationName, facts.configuration);
  const identities = checkIdentities(facts.identities);
  const policies = checkAdmissionPolicies(facts.admissionPolicies, {
    webhookActive: configuration.webhooks?.some((webhook) => webhook.podCreate) ?? false,
    serviceAccounts: facts.serviceAccounts,
    options: facts.options,
    identities: identities.identities,
  });
  // With only the policies installed, the webhook configuration's absence is the mode, not a fault.
  const policyModeOnly = configuration.missing && policies.active;
  for (const finding of configuration.findings) {
    if (policyModeOnly && finding.code === 'WEBHOOK_CONFIGURATION_MISSING') {
      findings.push(noted('webhook-configuration', finding.object, `MutatingWebhookConfiguration ${facts.configurationName} does not exist: the admission policies are the active mode`));
    } else findings.push(finding);
  }

  const serviceAccounts =
    facts.serviceAccounts.status === 'ok' ? checkServiceAccounts(facts.serviceAccounts.value, facts.options, identities.identities) : undefined;

  let labelsOf = (namespace: string): Readonly<Record<string, string>> => namespaceLabels(namespace, undefined);
  if (facts.namespace !== undefined && facts.namespaces.status === 'missing') {
    findings.push(noted('webhook-selectors', `namespace/${facts.namespace}`, `namespace ${facts.namespace} (--namespace) does not exist: nothing in it to check`));
  }
  if (configuration.webhooks) {
    const selectors = checkSelectors(configuration.webhooks, facts.configurationName, facts.namespaces, serviceAccounts?.identityNamespaces ?? new Map(), facts.namespace);
    findings.push(...selectors.findings);
    labelsOf = selectors.labelsOf;
    const certManager = facts.certManager ? checkCertManager(facts.certManager, facts.configurationName, configuration.webhooks) : [];
    // In the cert-manager mode an empty caBundle is the injector's to fill: its finding says so, with the fix that applies.
    const injectorMissed = new Set(certManager.filter((finding) => finding.code === 'CERT_MANAGER_CA_NOT_INJECTED').map((finding) => finding.object));
    const certificate = facts.certManager?.certificate?.status === 'ok' ? certificateReference(facts.certManager.annotation) : undefined;
    for (const webhook of configuration.webhooks.filter((candidate) => candidate.podCreate)) {
      for (const finding of checkWebhook(webhook, facts)) {
        if (finding.code === 'CA_BUNDLE_EMPTY' && injectorMissed.has(finding.object)) continue;
        // The Secret is cert-manager's: --certificate-secret would not help; the Certificate says why it is not there.
        if (finding.code === 'CERTIFICATE_NOT_CHECKED' && certificate && facts.certManager?.secret) {
          findings.push({ ...finding, fix: `cert-manager writes Secret ${facts.certManager.secret.name} for Certificate ${certificate.namespace}/${certificate.name}: kubectl -n ${certificate.namespace} describe certificate ${certificate.name}` });
        } else findings.push(finding);
      }
    }
    findings.push(...certManager);
  }

  if (serviceAccounts) findings.push(...serviceAccounts.findings);
  else findings.push(unreadFinding(facts.serviceAccounts, 'the ServiceAccounts', undefined, 'service-accounts') ?? noted('service-accounts', undefined, 'the ServiceAccounts could not be listed'));
  findings.push(...identities.findings);
  findings.push(...policies.findings);

  if (!serviceAccounts) {
    findings.push(noted('pods', undefined, 'not checked: without the ServiceAccounts, which pods should have an identity is unknown'));
  } else if (pods) {
    const checker = new PodChecker({
      options: facts.options,
      serviceAccounts: serviceAccounts.byKey,
      identitiesKnown: identities.identities !== undefined,
      // A pod is mutated when a webhook or a bound policy is called for it.
      webhooks: configuration.webhooks ? [...configuration.webhooks, ...policies.selectors] : policyModeOnly ? policies.selectors : undefined,
      configurationName: facts.configurationName,
      configurationMissing: configuration.missing && !policies.active,
      policyModeOnly,
      labelsOf,
    });
    for await (const page of pods.pages) for (const pod of page) checker.check(pod);
    const outcome = pods.outcome();
    if (outcome.failure) findings.push(unreadFinding(outcome.failure, 'the pods', undefined, 'pods') ?? noted('pods', undefined, 'the pods could not be listed'));
    findings.push(...checker.result(outcome.truncated, facts.maxPods, outcome.failure !== undefined));
  }

  if (serviceAccounts && facts.serviceAccounts.status === 'ok') findings.push(...checkImagePull(facts.serviceAccounts.value, facts.imagePull, serviceAccounts.byKey, facts.options));
  findings.push(...checkOidc(facts.oidc.discovery, facts.oidc.jwks));
  return doctorReport(findings);
}
