import { resolveIdentity } from '../../webhook/engine/identity.js';
import { podIdentityKey } from '../../webhook/pod-identity/identities.js';
import { isProjectObject, readBinding, readPolicy } from '../admission-policies.js';
import { evaluateSelector } from '../label-selector.js';
import type { ExplainInput } from './input.js';

export interface PolicyMatch {
  /** One line per policy of the project: bound or not, selected or not, would it mutate. */
  readonly detail: string[];
  /** The policies bound as the mode needs (whether or not they select this pod): the mode is installed. */
  readonly bound: readonly string[];
  /** The policies the API server evaluates for this pod (bound, selected by matchConstraints). */
  readonly called: readonly string[];
  /** Those of them whose match conditions, as rendered, hold for the pod's ServiceAccount. */
  readonly mutating: readonly string[];
}

/**
 * Which of the project's MutatingAdmissionPolicies would mutate the pod. The CEL is not evaluated:
 * the match conditions are read by the shape `manifests --mode admission-policy` renders (the pod's
 * own ServiceAccount as the parameter; IRSA: its role-arn annotation under doctor's prefix is a role
 * ARN and it is not in the `not-pod-identity` map; Pod Identity: it is in the `pod-identity` map).
 */
export function matchPolicies(input: ExplainInput, namespaceLabels: Readonly<Record<string, string>>): PolicyMatch {
  const given = input.admissionPolicies;
  const detail: string[] = [];
  const bound: string[] = [];
  const called: string[] = [];
  const mutating: string[] = [];
  if (given === undefined) return { detail, bound, called, mutating };
  const bindings = given.bindings.map(readBinding).filter((binding) => typeof binding !== 'string');
  const key = podIdentityKey(input.namespace, input.podView.serviceAccountName);
  const podLabels = input.podView.labels ?? {};
  const policies = given.policies.filter(isProjectObject).map(readPolicy);
  if (policies.length === 0) detail.push(`${given.source}: no MutatingAdmissionPolicy of the project`);
  for (const policy of policies) {
    if (typeof policy === 'string') {
      detail.push(`${given.source}: ${policy}`);
      continue;
    }
    const name = `policy ${policy.name}`;
    const mine = bindings.filter((binding) => binding.policyName === policy.name);
    const why =
      mine.length === 0
        ? 'no binding names it'
        : !mine.some((binding) => binding.paramRefProblem === undefined)
          ? `its binding ${mine[0]!.paramRefProblem!}`
          : !policy.paramKind.ok
            ? `paramKind is ${policy.paramKind.shown}, not ServiceAccount`
            : !policy.podCreate
              ? 'its resourceRules do not cover CREATE of pods'
              : undefined;
    if (why !== undefined) {
      detail.push(`${name}: not evaluated: ${why}`);
      continue;
    }
    bound.push(policy.name);
    const selected = [evaluateSelector(policy.namespaceSelector, namespaceLabels, 'namespaceSelector'), evaluateSelector(policy.objectSelector, podLabels, 'objectSelector')];
    const refused = selected.find((verdict) => !('matches' in verdict) || !verdict.matches);
    if (refused !== undefined) {
      detail.push(`${name}: not evaluated for this pod: ${'error' in refused ? refused.error : refused.why}`);
      continue;
    }
    called.push(policy.name);
    const serviceAccount = input.serviceAccount;
    let matches: string | undefined;
    if (serviceAccount === undefined) matches = undefined;
    else if (policy.kind === 'pod-identity') matches = policy.identities?.has(key) ? `its match conditions list ${key} for Pod Identity` : undefined;
    else if (policy.kind === 'irsa') {
      const irsa = resolveIdentity(serviceAccount, {}, input.options).identity !== undefined && !(policy.excluded?.has(key) ?? false);
      matches = irsa ? `its match conditions hold: ${key} has a role-arn annotation that is a role ARN` : undefined;
    }
    if (matches !== undefined) {
      mutating.push(policy.name);
      detail.push(`${name}: evaluated for this pod, and would mutate it (${matches}; read from the rendered shape, the CEL is not evaluated)`);
    } else {
      detail.push(`${name}: evaluated for this pod, but ${policy.kind === 'unknown' ? 'not one the project renders: its CEL is not read' : `its match conditions do not hold for ServiceAccount ${key}`}`);
    }
  }
  return { detail, bound, called, mutating };
}
