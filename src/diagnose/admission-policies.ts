import { isJsonObject } from '../shared/json.js';
import { DEFAULT_POLICY_NAME } from '../webhook/admission-policy/policies.js';
import { podIdentityKey } from '../webhook/pod-identity/identities.js';

/**
 * The project's MutatingAdmissionPolicies and their bindings (`manifests --mode admission-policy`,
 * src/webhook/admission-policy/policies.ts) read into what doctor and explain reason about. The
 * policies' CEL is never evaluated: what a policy does is known from the shape the project renders
 * (its name's `-irsa` / `-pod-identity` suffix, the Pod Identity match condition's map of
 * `namespace/name`), which is an approximation for a policy edited by hand.
 */
export type PolicyKind = 'irsa' | 'pod-identity' | 'unknown';

export interface PolicyView {
  readonly name: string;
  readonly kind: PolicyKind;
  /** paramKind is {apiVersion: v1, kind: ServiceAccount}; else what it is, for the message. */
  readonly paramKind: { readonly ok: true } | { readonly ok: false; readonly shown: string };
  /** Whether matchConstraints.resourceRules send CREATE of core v1 pods. */
  readonly podCreate: boolean;
  readonly namespaceSelector: unknown;
  readonly objectSelector: unknown;
  /** The ServiceAccounts (`namespace/name`) its `pod-identity` match condition lists; undefined when it has none of that shape. */
  readonly identities: ReadonlySet<string> | undefined;
  /** The ServiceAccounts its `not-pod-identity` match condition (the IRSA policy's) leaves to the Pod Identity policy. */
  readonly excluded: ReadonlySet<string> | undefined;
  readonly object: Readonly<Record<string, unknown>>;
}

export interface BindingView {
  readonly name: string;
  readonly policyName: string;
  /** Undefined when the paramRef is `{selector: {}, parameterNotFoundAction: Allow}` (every ServiceAccount of the pod's namespace); else why not. */
  readonly paramRefProblem: string | undefined;
}

const LABEL_NAME = 'app.kubernetes.io/name';
const LABEL_COMPONENT = 'app.kubernetes.io/component';
const SUFFIXES: ReadonlyArray<readonly [string, PolicyKind]> = [
  ['-pod-identity', 'pod-identity'],
  ['-irsa', 'irsa'],
];

const metadataOf = (value: Record<string, unknown>): Record<string, unknown> => (isJsonObject(value.metadata) ? value.metadata : {});

/** Labelled as the project labels them, or named as its default names. */
export function isProjectObject(value: unknown): boolean {
  if (!isJsonObject(value)) return false;
  const metadata = metadataOf(value);
  const labels = isJsonObject(metadata.labels) ? metadata.labels : {};
  if (labels[LABEL_NAME] === 'pod-identity-webhook' && labels[LABEL_COMPONENT] === 'admission-policy') return true;
  return SUFFIXES.some(([suffix]) => metadata.name === `${DEFAULT_POLICY_NAME}${suffix}`);
}

export function policyKind(name: string): PolicyKind {
  return SUFFIXES.find(([suffix]) => name.endsWith(suffix))?.[1] ?? 'unknown';
}

/** The name prefix `renderAdmissionPolicies` was given for a policy of this name. */
export function policyNamePrefix(name: string): string | undefined {
  const suffix = SUFFIXES.find(([candidate]) => name.endsWith(candidate))?.[0];
  return suffix === undefined ? undefined : name.slice(0, -suffix.length);
}

const listed = (values: unknown, wanted: string): boolean => Array.isArray(values) && values.some((value) => value === wanted || value === '*');

function rulesSendPodCreate(rules: unknown): boolean {
  return (
    Array.isArray(rules) &&
    rules.some(
      (rule) =>
        isJsonObject(rule) &&
        listed(rule.operations, 'CREATE') &&
        listed(rule.apiGroups, '') &&
        listed(rule.apiVersions, 'v1') &&
        Array.isArray(rule.resources) &&
        rule.resources.some((resource) => resource === 'pods' || resource === '*' || resource === '*/*'),
    )
  );
}

/** The `"ns/name": true` keys of a rendered Pod Identity condition (celString quotes; Kubernetes names need no escape). */
function identitiesOf(matchConditions: unknown, name: string): ReadonlySet<string> | undefined {
  if (!Array.isArray(matchConditions)) return undefined;
  const condition = matchConditions.find((entry) => isJsonObject(entry) && entry.name === name && typeof entry.expression === 'string');
  if (!isJsonObject(condition) || typeof condition.expression !== 'string') return undefined;
  const identities = new Set<string>();
  for (const match of condition.expression.matchAll(/"([a-z0-9.-]{1,253})\/([a-z0-9.-]{1,253})": true/g)) identities.add(podIdentityKey(match[1]!, match[2]!));
  return identities;
}

/** A policy object, or why it cannot be read. */
export function readPolicy(value: unknown): PolicyView | string {
  if (!isJsonObject(value)) return 'a MutatingAdmissionPolicy is not an object';
  const name = metadataOf(value).name;
  if (typeof name !== 'string' || name === '') return 'a MutatingAdmissionPolicy has no metadata.name';
  if (!isJsonObject(value.spec)) return `MutatingAdmissionPolicy ${name} has no spec`;
  const { spec } = value;
  const paramKind = isJsonObject(spec.paramKind) ? spec.paramKind : undefined;
  const constraints = isJsonObject(spec.matchConstraints) ? spec.matchConstraints : {};
  return {
    name,
    kind: policyKind(name),
    paramKind: paramKind?.apiVersion === 'v1' && paramKind.kind === 'ServiceAccount' ? { ok: true } : { ok: false, shown: paramKind === undefined ? 'none' : JSON.stringify(paramKind).slice(0, 120) },
    podCreate: rulesSendPodCreate(constraints.resourceRules),
    namespaceSelector: constraints.namespaceSelector,
    objectSelector: constraints.objectSelector,
    identities: identitiesOf(spec.matchConditions, 'pod-identity'),
    excluded: identitiesOf(spec.matchConditions, 'not-pod-identity'),
    object: value,
  };
}

function paramRefProblem(paramRef: unknown): string | undefined {
  if (!isJsonObject(paramRef)) return 'it has no paramRef: the policy gets no parameter and matches no pod';
  if (typeof paramRef.name === 'string') return `paramRef.name ${JSON.stringify(paramRef.name.slice(0, 60))}: every pod is given that one ServiceAccount as its parameter, not its own`;
  if (typeof paramRef.namespace === 'string') return `paramRef.namespace ${JSON.stringify(paramRef.namespace.slice(0, 60))}: the parameters are that namespace's ServiceAccounts, not the pod's`;
  const selector = paramRef.selector;
  if (!isJsonObject(selector)) return 'paramRef has no selector';
  const labels = isJsonObject(selector.matchLabels) ? Object.keys(selector.matchLabels).length : 0;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length : 0;
  if (labels + expressions > 0) return 'paramRef.selector is not empty: a pod whose ServiceAccount does not carry those labels is never its parameter';
  const action = paramRef.parameterNotFoundAction;
  // Deny puts a pod whose namespace has no ServiceAccount the API server has seen under the policy's failurePolicy (refused under Fail).
  if (action !== undefined && action !== 'Allow') return `parameterNotFoundAction ${JSON.stringify(String(action)).slice(0, 40)}, not Allow: a pod whose ServiceAccount the API server has not seen yet falls under the failurePolicy (refused with Fail)`;
  return undefined;
}

export function readBinding(value: unknown): BindingView | string {
  if (!isJsonObject(value)) return 'a MutatingAdmissionPolicyBinding is not an object';
  const name = metadataOf(value).name;
  if (typeof name !== 'string' || name === '') return 'a MutatingAdmissionPolicyBinding has no metadata.name';
  const spec = isJsonObject(value.spec) ? value.spec : {};
  if (typeof spec.policyName !== 'string' || spec.policyName === '') return `MutatingAdmissionPolicyBinding ${name} has no spec.policyName`;
  return { name, policyName: spec.policyName, paramRefProblem: paramRefProblem(spec.paramRef) };
}
