import { isJsonObject, type JsonObject } from '../../shared/json.js';
import type { Link } from '../report.js';
import { evaluateSelector } from '../label-selector.js';
import { EXPLAIN_CODES } from './codes.js';
import type { ExplainInput } from './input.js';
import { matchPolicies } from './admission-policy-match.js';

const NAME = 'webhook configuration';

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** Does a rule cover CREATE of core v1 pods, as the API server matches rules? */
function ruleCoversPodCreate(rule: JsonObject): boolean {
  const listed = (field: string, wanted: string): boolean => strings(rule[field]).some((value) => value === wanted || value === '*');
  const resources = strings(rule.resources);
  const scope = rule.scope;
  return (
    listed('operations', 'CREATE') &&
    listed('apiGroups', '') &&
    listed('apiVersions', 'v1') &&
    resources.some((resource) => resource === 'pods' || resource === '*' || resource === '*/*') &&
    (scope === undefined || scope === '*' || scope === 'Namespaced')
  );
}

/** Why one webhook of the configuration would not be called for the pod, or undefined when it would. */
function whyNotCalled(webhook: JsonObject, namespaceLabels: Readonly<Record<string, string>>, podLabels: Readonly<Record<string, string>>): string | undefined {
  const rules = Array.isArray(webhook.rules) ? webhook.rules.filter(isJsonObject) : [];
  if (!rules.some(ruleCoversPodCreate)) return 'no rule covers CREATE of pods (apiGroups "", apiVersions v1)';
  for (const [field, labels, what] of [
    ['namespaceSelector', namespaceLabels, 'the namespace'],
    ['objectSelector', podLabels, 'the pod'],
  ] as const) {
    const verdict = evaluateSelector(webhook[field], labels, field);
    if ('error' in verdict) return `${verdict.error}: the API server would refuse this configuration`;
    if (!verdict.matches) return `${verdict.why} (${what})`;
  }
  return undefined;
}

interface WebhookPart {
  readonly detail: string[];
  readonly called: boolean;
  /** Called, but its matchConditions are not evaluated, or reinvocationPolicy Never. */
  readonly warning: boolean;
}

/** Would the API server send the pod's CREATE to a webhook of this configuration? */
function webhookPart(input: ExplainInput, namespaceLabels: Readonly<Record<string, string>>): WebhookPart {
  const { object, source } = input.webhookConfiguration;
  if (object === undefined) {
    const why = input.admissionPolicies === undefined ? 'the webhook is not installed, or its configuration has another name (--webhook-configuration)' : 'the webhook is not installed';
    return { detail: [`${source}: ${why}`], called: false, warning: false };
  }
  if (!isJsonObject(object) || !Array.isArray(object.webhooks) || object.webhooks.length === 0) {
    return { detail: [`${source}: the MutatingWebhookConfiguration has no webhooks`], called: false, warning: false };
  }
  const podLabels = input.podView.labels ?? {};
  const detail: string[] = [`from ${source}`];
  const called: JsonObject[] = [];
  for (const [index, webhook] of object.webhooks.entries()) {
    if (!isJsonObject(webhook)) continue;
    const name = typeof webhook.name === 'string' ? webhook.name : `webhooks[${index}]`;
    const why = whyNotCalled(webhook, namespaceLabels, podLabels);
    if (why !== undefined) {
      detail.push(`${name}: not called: ${why}`);
      continue;
    }
    called.push(webhook);
    const failurePolicy = typeof webhook.failurePolicy === 'string' ? webhook.failurePolicy : 'Fail';
    const reinvocation = typeof webhook.reinvocationPolicy === 'string' ? webhook.reinvocationPolicy : 'Never';
    detail.push(`${name}: called for this pod (failurePolicy ${failurePolicy}, reinvocationPolicy ${reinvocation})`);
    if (failurePolicy === 'Ignore') detail.push(`${name}: failurePolicy Ignore: while the webhook is unreachable pods are created without identity (see the running pod link)`);
    if (Array.isArray(webhook.matchConditions) && webhook.matchConditions.length > 0) {
      detail.push(`${name}: its ${webhook.matchConditions.length} matchConditions (CEL) were not evaluated`);
    }
  }
  if (called.length === 0) return { detail, called: false, warning: false };
  const unevaluated = called.every((webhook) => Array.isArray(webhook.matchConditions) && webhook.matchConditions.length > 0);
  const reinvocationNever = called.every((webhook) => webhook.reinvocationPolicy !== 'IfNeeded');
  if (reinvocationNever) detail.push('reinvocationPolicy Never: a container another webhook adds after this one gets no identity');
  return { detail, called: true, warning: unevaluated || reinvocationNever };
}

/**
 * Which of the two modes would mutate the pod: the webhook (its configuration's rules and
 * selectors), the project's MutatingAdmissionPolicies (bound, their matchConstraints, their match
 * conditions read by the rendered shape), both, or neither (WEBHOOK_NOT_CALLED; WEBHOOK_NOT_INSTALLED when there
 * is no configuration and no policy bound).
 */
export function webhookLink(input: ExplainInput): Link {
  // The API server labels every namespace with its name; other labels are known only from the cluster.
  const namespaceLabels = { ...(input.namespaceLabels ?? {}), 'kubernetes.io/metadata.name': input.namespace };
  const webhook = webhookPart(input, namespaceLabels);
  const policies = matchPolicies(input, namespaceLabels);
  const detail = [...webhook.detail, ...policies.detail];
  if (input.namespaceLabels === undefined) detail.splice(webhook.detail.length > 1 ? 1 : 0, 0, `namespace labels unknown: only kubernetes.io/metadata.name=${input.namespace} was matched`);
  // Nothing installed: no configuration of that name, and no project policy bound as the mode needs.
  if (input.webhookConfiguration.object === undefined && policies.bound.length === 0) {
    return { name: NAME, status: 'broken', detail, code: 'WEBHOOK_NOT_INSTALLED', fix: EXPLAIN_CODES.WEBHOOK_NOT_INSTALLED.fix };
  }
  if (!webhook.called && policies.called.length === 0) {
    return { name: NAME, status: 'broken', detail, code: 'WEBHOOK_NOT_CALLED', fix: EXPLAIN_CODES.WEBHOOK_NOT_CALLED.fix };
  }
  const mutators = [...(webhook.called ? ['the webhook'] : []), ...policies.mutating.map((name) => `the admission policy ${name}`)];
  if (webhook.called && policies.mutating.length > 0) {
    detail.push(`mutated by: both, ${mutators.join(' and ')}: the first to run injects, the other finds nothing left to add (the same settings assumed)`);
  } else if (mutators.length > 0) {
    detail.push(`mutated by: ${mutators.join(' and ')}`);
  } else {
    detail.push(`mutated by: neither: the admission polic${policies.called.length === 1 ? 'y is' : 'ies are'} evaluated, but ${policies.called.length === 1 ? 'its' : 'their'} match conditions do not hold for this pod's ServiceAccount (see service account)`);
  }
  return { name: NAME, status: webhook.called && webhook.warning ? 'warning' : 'ok', detail };
}
