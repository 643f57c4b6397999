import { isJsonObject } from '../../shared/json.js';
import { renderAdmissionPolicies } from '../../webhook/admission-policy/policies.js';
import { parseKubernetesVersion, policyVersionProblem } from '../../webhook/admission-policy/version.js';
import type { MutationOptions } from '../../webhook/engine/types.js';
import type { PodIdentities } from '../../webhook/pod-identity/identities.js';
import { type BindingView, isProjectObject, policyNamePrefix, type PolicyView, readBinding, readPolicy } from '../admission-policies.js';
import type { Finding } from '../report.js';
import { type PodSelector, unreadFinding } from './configuration.js';
import type { Fetched, ListResult, PolicyFacts } from './facts.js';
import { coded, noted, passed } from './findings.js';

export interface PolicyContext {
  /** A webhook of the configuration is sent pods. */
  readonly webhookActive: boolean;
  readonly serviceAccounts: Fetched<ListResult>;
  readonly options: MutationOptions;
  /** Undefined when doctor was not told the Pod Identity list. */
  readonly identities: PodIdentities | undefined;
}

export interface PolicyResult {
  readonly findings: Finding[];
  /** Some policy of the project is bound as the mode needs: pods get their identity from it. */
  readonly active: boolean;
  /** The bound policies' selectors, for the pods check. */
  readonly selectors: readonly PodSelector[];
}

const objectOf = (policy: string): string => `mutatingadmissionpolicy/${policy}`;

function versionNote(version: string | undefined): string {
  if (version === undefined) return '';
  const parsed = parseKubernetesVersion(version);
  if (!parsed.ok) return ` (Kubernetes ${version})`;
  return policyVersionProblem(parsed.value) === undefined ? ` (Kubernetes ${version}: the API may be turned off with --runtime-config)` : ` (Kubernetes ${version}, older than 1.36)`;
}

const expressions = (value: unknown): string[] => (Array.isArray(value) ? value.map((entry) => (isJsonObject(entry) ? `${String(entry.name)}=${String(entry.expression)}` : '')) : []);

/** What differs between a stored policy and the one `manifests --mode admission-policy` renders from doctor's flags. */
function settingsDiffer(policy: PolicyView, options: MutationOptions, identities: PodIdentities | undefined): string | undefined {
  const prefix = policyNamePrefix(policy.name);
  if (prefix === undefined) return undefined;
  // Unknown identities: a placeholder so that the Pod Identity policy is rendered; its match conditions are then not compared.
  const rendered = renderAdmissionPolicies({ mutation: options, podIdentities: identities ?? new Set(['-/-']), name: prefix }).find((object) => (object.metadata as { name?: unknown }).name === policy.name);
  if (rendered === undefined) return 'doctor\'s identities list gives no ServiceAccount Pod Identity, the policy does';
  const want = rendered.spec as Record<string, unknown>;
  const have = isJsonObject(policy.object.spec) ? policy.object.spec : {};
  const parts: string[] = [];
  const wantVariables = new Map(expressions(want.variables).map((entry) => [entry.split('=')[0], entry]));
  const haveVariables = new Map(expressions(have.variables).map((entry) => [entry.split('=')[0], entry]));
  const changed = [...new Set([...wantVariables.keys(), ...haveVariables.keys()])].filter((name) => wantVariables.get(name) !== haveVariables.get(name));
  if (changed.length > 0) parts.push(`variables ${changed.slice(0, 6).join(', ')}${changed.length > 6 ? ', ...' : ''}`);
  const patch = (spec: Record<string, unknown>): unknown => (Array.isArray(spec.mutations) ? spec.mutations.map((mutation) => (isJsonObject(mutation) && isJsonObject(mutation.jsonPatch) ? mutation.jsonPatch.expression : mutation)) : undefined);
  if (JSON.stringify(patch(want)) !== JSON.stringify(patch(have))) parts.push('the patch (token audience, mount path, region, STS or container-credentials settings)');
  if (identities !== undefined && JSON.stringify(expressions(want.matchConditions)) !== JSON.stringify(expressions(have.matchConditions))) parts.push('the match conditions (annotation prefix or the Pod Identity list)');
  return parts.length === 0 ? undefined : parts.join('; ');
}

/**
 * The MutatingAdmissionPolicy mode: the project's policies and bindings present, bound, and in the
 * form the mode needs (each pod's own ServiceAccount as the parameter); whether doctor can read
 * those parameters; and both modes installed at once. Pure.
 */
export function checkAdmissionPolicies(facts: PolicyFacts, context: PolicyContext): PolicyResult {
  const findings: Finding[] = [];
  const none: PolicyResult = { findings, active: false, selectors: [] };
  if (facts.policies.status === 'missing') {
    findings.push(noted('admission-policy', undefined, `MutatingAdmissionPolicy v1 is not served${versionNote(facts.version)}: the admission-policy mode is not available`));
    return none;
  }
  if (facts.policies.status !== 'ok') {
    findings.push(unreadFinding(facts.policies, 'the MutatingAdmissionPolicies', undefined, 'admission-policy')!);
    return none;
  }
  const policies: PolicyView[] = [];
  const allPolicyNames = new Set<string>();
  for (const item of facts.policies.value.items) {
    const read = readPolicy(item);
    if (typeof read === 'string') {
      if (isProjectObject(item)) findings.push({ ...coded('OBJECT_UNREADABLE', undefined, read), check: 'admission-policy' });
      continue;
    }
    allPolicyNames.add(read.name);
    if (isProjectObject(item)) policies.push(read);
  }
  const ours = new Set(policies.map((policy) => policy.name));
  const bindings: BindingView[] = [];
  if (facts.bindings.status === 'ok') {
    for (const item of facts.bindings.value.items) {
      const read = readBinding(item);
      if (typeof read === 'string') {
        if (isProjectObject(item)) findings.push({ ...coded('OBJECT_UNREADABLE', undefined, read), check: 'admission-policy' });
      } else if (isProjectObject(item) || ours.has(read.policyName)) bindings.push(read);
    }
  } else if (policies.length > 0) {
    findings.push(unreadFinding(facts.bindings, 'the MutatingAdmissionPolicyBindings', undefined, 'admission-policy') ?? noted('admission-policy', undefined, 'MutatingAdmissionPolicyBindings are not served'));
  }
  if (policies.length === 0 && bindings.length === 0) {
    findings.push(noted('admission-policy', undefined, 'no MutatingAdmissionPolicy of the project is installed: the admission-policy mode is not in use'));
    return none;
  }

  for (const binding of bindings.filter((candidate) => !allPolicyNames.has(candidate.policyName))) {
    findings.push(coded('POLICY_BINDING_ORPHANED', `mutatingadmissionpolicybinding/${binding.name}`, `binding ${binding.name} names policy ${binding.policyName}, which does not exist`));
  }
  const bound: PolicyView[] = [];
  for (const policy of policies) {
    const object = objectOf(policy.name);
    let usable = true;
    if (!policy.paramKind.ok) {
      findings.push(coded('POLICY_PARAM_KIND_INVALID', object, `paramKind is ${policy.paramKind.shown}, not {apiVersion: v1, kind: ServiceAccount}`));
      usable = false;
    }
    if (!policy.podCreate) {
      findings.push(noted('admission-policy', object, 'its matchConstraints.resourceRules do not send CREATE of pods: it mutates no pod'));
      usable = false;
    }
    const mine = facts.bindings.status === 'ok' ? bindings.filter((binding) => binding.policyName === policy.name) : undefined;
    if (mine !== undefined && mine.length === 0) {
      findings.push(coded('POLICY_NOT_BOUND', object, `no MutatingAdmissionPolicyBinding names ${policy.name}`));
      usable = false;
    }
    const good = (mine ?? []).filter((binding) => binding.paramRefProblem === undefined);
    for (const binding of (mine ?? []).filter((candidate) => candidate.paramRefProblem !== undefined)) {
      findings.push(coded('POLICY_PARAM_REF_INVALID', `mutatingadmissionpolicybinding/${binding.name}`, `binding ${binding.name} of ${policy.name}: ${binding.paramRefProblem!}`));
    }
    if (mine !== undefined && mine.length > 0 && good.length === 0) usable = false;
    if (!usable) continue;
    bound.push(policy);
    const failurePolicy = isJsonObject(policy.object.spec) && typeof policy.object.spec.failurePolicy === 'string' ? policy.object.spec.failurePolicy : 'Fail';
    findings.push(passed('admission-policy', object, `${policy.kind === 'unknown' ? 'a policy' : `the ${policy.kind === 'irsa' ? 'IRSA' : 'Pod Identity'} policy`}, bound${good.length > 0 ? ` by ${good.map((binding) => binding.name).join(', ')}` : ''} with each pod's own ServiceAccount as its parameter (failurePolicy ${failurePolicy})`));
  }
  const active = bound.length > 0;
  if (active && context.serviceAccounts.status === 'forbidden') {
    findings.push({
      ...coded('CHECK_FORBIDDEN', objectOf(bound[0]!.name), `the policies read each pod's ServiceAccount as their parameter, and doctor may not list ServiceAccounts: which pods they give an identity cannot be checked (${context.serviceAccounts.error})`),
      check: 'admission-policy',
    });
  }
  if (active && context.webhookActive) {
    findings.push(coded('BOTH_MODES_ACTIVE', undefined, `the webhook configuration and the policies ${bound.map((policy) => policy.name).join(', ')} both mutate pods: each pod gets its identity once, from whichever runs first`));
    for (const policy of bound) {
      const differs = settingsDiffer(policy, context.options, context.identities);
      if (differs !== undefined) findings.push(coded('POLICY_SETTINGS_DIFFER', objectOf(policy.name), `rendered from doctor's flags, ${policy.name} would differ in: ${differs}`));
    }
  } else if (active) {
    findings.push(noted('admission-policy', undefined, `the admission-policy mode is active (${bound.map((policy) => policy.name).join(', ')}) and no webhook is sent pods`));
  }
  const selectors: PodSelector[] = bound.map((policy) => ({ name: objectOf(policy.name), podCreate: true, namespaceSelector: policy.namespaceSelector, objectSelector: policy.objectSelector }));
  return { findings, active, selectors };
}
