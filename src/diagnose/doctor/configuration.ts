import { isJsonObject } from '../../shared/json.js';
import type { Finding } from '../report.js';
import { evaluateSelector } from '../label-selector.js';
import type { CheckName } from './codes.js';
import type { Fetched } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

/** One webhook of the configuration, read into what the checks need. */
export interface ParsedWebhook {
  readonly name: string;
  readonly clientConfig:
    | { readonly kind: 'url'; readonly url: URL }
    | { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly port: number; readonly path: string | undefined };
  /** The decoded caBundle (PEM text); empty when there is none. */
  readonly caBundle: string;
  /** As stored; the API server defaults v1 configurations to Fail. */
  readonly failurePolicy: string;
  /** As stored; the API server's default is Never. */
  readonly reinvocationPolicy: string;
  readonly namespaceSelector: unknown;
  readonly objectSelector: unknown;
  /** Whether one of its rules sends pods CREATE v1 (group "") to it. */
  readonly podCreate: boolean;
  readonly matchConditions: number;
}

/** What decides whether a webhook, or an admission policy, is called for a pod. */
export type PodSelector = Pick<ParsedWebhook, 'name' | 'podCreate' | 'namespaceSelector' | 'objectSelector'>;

export interface ConfigurationResult {
  readonly findings: Finding[];
  /** Undefined when the configuration could not be read (missing, forbidden, failed, malformed). */
  readonly webhooks: readonly ParsedWebhook[] | undefined;
  readonly missing: boolean;
}

const listed = (values: unknown, wanted: string): boolean => Array.isArray(values) && values.some((value) => value === wanted || value === '*');

/** A rule that sends CREATE of pods in core v1, as the API server matches rules (wildcards included; `pods/*` is subresources only). */
export function rulesCoverPodCreate(rules: unknown): boolean {
  if (!Array.isArray(rules)) return false;
  return rules.some((rule) => {
    if (!isJsonObject(rule)) return false;
    const scope = rule.scope;
    return (
      listed(rule.operations, 'CREATE') &&
      listed(rule.apiGroups, '') &&
      listed(rule.apiVersions, 'v1') &&
      Array.isArray(rule.resources) &&
      rule.resources.some((resource) => resource === 'pods' || resource === '*' || resource === '*/*') &&
      (scope === undefined || scope === '*' || scope === 'Namespaced')
    );
  });
}

type ClientConfig = ParsedWebhook['clientConfig'];

function readClientConfig(value: unknown): ClientConfig | string {
  if (!isJsonObject(value)) return 'has no clientConfig';
  if (typeof value.url === 'string') {
    try {
      const url = new URL(value.url);
      if (url.protocol !== 'https:') return `clientConfig.url ${shown(value.url)} is not https`;
      return { kind: 'url', url };
    } catch {
      return `clientConfig.url ${shown(value.url)} is not a URL`;
    }
  }
  const service = value.service;
  if (isJsonObject(service)) {
    if (typeof service.name !== 'string' || typeof service.namespace !== 'string') return 'clientConfig.service needs name and namespace';
    const port = service.port === undefined ? 443 : service.port;
    if (typeof port !== 'number' || !Number.isInteger(port)) return 'clientConfig.service.port is not a number';
    return { kind: 'service', namespace: service.namespace, name: service.name, port, path: typeof service.path === 'string' ? service.path : undefined };
  }
  return 'clientConfig has neither url nor service';
}

function readWebhook(value: unknown, index: number): ParsedWebhook | string {
  if (!isJsonObject(value)) return `webhooks[${index}] is not an object`;
  const name = typeof value.name === 'string' && value.name !== '' ? value.name : undefined;
  if (name === undefined) return `webhooks[${index}] has no name`;
  const clientConfig = readClientConfig(value.clientConfig);
  if (typeof clientConfig === 'string') return `webhook ${name} ${clientConfig}`;
  const rawBundle = isJsonObject(value.clientConfig) ? value.clientConfig.caBundle : undefined;
  if (rawBundle !== undefined && typeof rawBundle !== 'string') return `webhook ${name}: clientConfig.caBundle is not a string`;
  return {
    name,
    clientConfig,
    caBundle: typeof rawBundle === 'string' ? Buffer.from(rawBundle, 'base64').toString('utf8') : '',
    failurePolicy: typeof value.failurePolicy === 'string' ? value.failurePolicy : 'Fail',
    reinvocationPolicy: typeof value.reinvocationPolicy === 'string' ? value.reinvocationPolicy : 'Never',
    namespaceSelector: value.namespaceSelector,
    objectSelector: value.objectSelector,
    podCreate: rulesCoverPodCreate(value.rules),
    matchConditions: Array.isArray(value.matchConditions) ? value.matchConditions.length : 0,
  };
}

/** Findings for a read that did not give the object: forbidden or failed (missing is the caller's), under the check that needed it. */
export function unreadFinding(fetched: Fetched<unknown>, what: string, object: string | undefined, check: CheckName): Finding | undefined {
  if (fetched.status === 'forbidden') return { ...coded('CHECK_FORBIDDEN', object, `cannot read ${what}: ${fetched.error}`), check };
  if (fetched.status === 'failed') return { ...coded('CHECK_FAILED', object, `cannot read ${what}: ${fetched.error}`), check };
  return undefined;
}

/**
 * Check 1: the configuration exists, its webhooks are well formed and some are sent pods CREATE;
 * what failurePolicy and reinvocationPolicy mean for the pods.
 */
export function checkConfiguration(name: string, fetched: Fetched<unknown>): ConfigurationResult {
  const object = `mutatingwebhookconfiguration/${name}`;
  const findings: Finding[] = [];
  if (fetched.status === 'missing') {
    findings.push(coded('WEBHOOK_CONFIGURATION_MISSING', object, `MutatingWebhookConfiguration ${name} does not exist`));
    return { findings, webhooks: undefined, missing: true };
  }
  if (fetched.status !== 'ok') {
    findings.push(unreadFinding(fetched, `MutatingWebhookConfiguration ${name}`, object, 'webhook-configuration')!);
    return { findings, webhooks: undefined, missing: false };
  }
  const configuration = fetched.value;
  if (!isJsonObject(configuration) || !Array.isArray(configuration.webhooks) || configuration.webhooks.length === 0) {
    findings.push(coded('WEBHOOK_CONFIGURATION_MALFORMED', object, `MutatingWebhookConfiguration ${name} has no webhooks`));
    return { findings, webhooks: undefined, missing: false };
  }
  const webhooks: ParsedWebhook[] = [];
  for (const [index, entry] of configuration.webhooks.entries()) {
    const webhook = readWebhook(entry, index);
    if (typeof webhook === 'string') findings.push(coded('WEBHOOK_CONFIGURATION_MALFORMED', object, webhook));
    else webhooks.push(webhook);
  }
  const forPods = webhooks.filter((webhook) => webhook.podCreate);
  if (webhooks.length > 0 && forPods.length === 0) {
    findings.push(coded('NO_POD_CREATE_RULE', object, `none of ${webhooks.map((webhook) => webhook.name).join(', ')} has a rule for CREATE of pods (group "", version v1)`));
  }
  for (const webhook of forPods) {
    const where = `webhook/${webhook.name}`;
    const target = webhook.clientConfig.kind === 'url' ? webhook.clientConfig.url.href : `service ${webhook.clientConfig.namespace}/${webhook.clientConfig.name}:${webhook.clientConfig.port}`;
    findings.push(passed('webhook-configuration', where, `called for CREATE of pods, at ${target}`));
    if (webhook.failurePolicy === 'Ignore') {
      findings.push(coded('FAILURE_POLICY_IGNORE', where, 'failurePolicy Ignore: a call that fails (webhook down, TLS refused, timeout) admits the pod without its identity, silently'));
    } else {
      findings.push(noted('webhook-configuration', where, `failurePolicy ${webhook.failurePolicy}: a pod is refused while the webhook cannot be called`));
    }
    if (webhook.reinvocationPolicy !== 'IfNeeded') {
      findings.push(coded('REINVOCATION_NEVER', where, `reinvocationPolicy ${webhook.reinvocationPolicy}: containers added by webhooks called after this one are not given the identity`));
    }
    if (webhook.matchConditions > 0) {
      findings.push(noted('webhook-configuration', where, `${webhook.matchConditions} matchConditions (CEL) are not evaluated by doctor: they may exclude more pods than the selectors`));
    }
  }
  return { findings, webhooks, missing: false };
}

/** Labels of a namespace as the API server matches a namespaceSelector (it always has kubernetes.io/metadata.name). */
export function namespaceLabels(namespace: string, labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  return { 'kubernetes.io/metadata.name': namespace, ...labels };
}

/** Whether any pod webhook would be called for a pod with these labels in a namespace with these; why not, when not. */
export type Selection = { readonly called: true } | { readonly called: false; readonly by: 'namespace' | 'object' | 'none'; readonly why: string };

export function selection(webhooks: readonly PodSelector[], nsLabels: Readonly<Record<string, string>>, podLabels: Readonly<Record<string, string>> | undefined): Selection {
  const reasons: Array<{ by: 'namespace' | 'object'; why: string }> = [];
  for (const webhook of webhooks) {
    if (!webhook.podCreate) continue;
    const ns = evaluateSelector(webhook.namespaceSelector, nsLabels, 'namespaceSelector');
    // A selector doctor cannot read is reported by the configuration check; assume it selects.
    if ('matches' in ns && !ns.matches) {
      reasons.push({ by: 'namespace', why: `${webhook.name}: ${ns.why}` });
      continue;
    }
    if (podLabels === undefined) return { called: true };
    const object = evaluateSelector(webhook.objectSelector, podLabels, 'objectSelector');
    if ('matches' in object && !object.matches) {
      reasons.push({ by: 'object', why: `${webhook.name}: ${object.why}` });
      continue;
    }
    return { called: true };
  }
  if (reasons.length === 0) return { called: false, by: 'none', why: 'no webhook of the configuration is called for pods' };
  // A namespace reason only when every webhook excludes the namespace.
  const by = reasons.every((reason) => reason.by === 'namespace') ? 'namespace' : 'object';
  return { called: false, by, why: reasons.map((reason) => reason.why).join('; ') };
}

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** What is wrong with a selector's shape (every part, not only up to the first non-match), or undefined. */
export function selectorShapeError(selector: unknown, field: string): string | undefined {
  if (selector === undefined || selector === null) return undefined;
  if (!isJsonObject(selector)) return `${field} is not an object`;
  const { matchLabels, matchExpressions } = selector;
  if (matchLabels !== undefined && (!isJsonObject(matchLabels) || Object.values(matchLabels).some((value) => typeof value !== 'string'))) return `${field}.matchLabels is not a map of strings`;
  if (matchExpressions === undefined) return undefined;
  if (!Array.isArray(matchExpressions)) return `${field}.matchExpressions is not a list`;
  for (const [index, expression] of matchExpressions.entries()) {
    if (!isJsonObject(expression) || typeof expression.key !== 'string' || typeof expression.operator !== 'string') return `${field}.matchExpressions[${index}] needs key and operator`;
    if (!OPERATORS.has(expression.operator)) return `${field}.matchExpressions[${index}]: unknown operator ${shown(expression.operator)}`;
  }
  return undefined;
}

/** Selector problems the API server would have refused; reported once per webhook. */
export function selectorProblems(webhooks: readonly ParsedWebhook[], configurationName: string): Finding[] {
  const findings: Finding[] = [];
  for (const webhook of webhooks) {
    for (const [field, selector] of [['namespaceSelector', webhook.namespaceSelector], ['objectSelector', webhook.objectSelector]] as const) {
      const error = selectorShapeError(selector, field);
      if (error) findings.push(coded('WEBHOOK_CONFIGURATION_MALFORMED', `mutatingwebhookconfiguration/${configurationName}`, `webhook ${webhook.name}: ${error}`));
    }
  }
  return findings;
}
