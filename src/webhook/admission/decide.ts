import { mutatePod } from '../engine/mutate.js';
import type { MutationOptions } from '../engine/types.js';
import { readPod } from '../read-objects.js';
import type { ServiceAccountLookup, ServiceAccountSource } from '../serviceaccounts/source.js';
import { type AdmissionRequestView, type AdmissionReviewResponse, allowResponse, denyResponse } from './review.js';

/** What happened to one request, for logs and metrics. */
export type DecisionKind =
  | 'mutated' // a non-empty patch was returned
  | 'unchanged' // the ServiceAccount has no (valid) role, or the pod already has everything
  | 'ignored' // not a pod CREATE
  | 'no-service-account' // the ServiceAccount does not exist
  | 'invalid-pod' // the pod object could not be read; admitted unmutated with a warning
  | 'lookup-failed'; // the ServiceAccount could not be looked up; denied so the creator retries

export interface Decision {
  readonly kind: DecisionKind;
  readonly review: AdmissionReviewResponse;
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly patchOperations: number;
  readonly warnings: readonly string[];
  readonly reason?: string;
}

export interface DecisionContext {
  readonly serviceAccounts: ServiceAccountSource;
  readonly options: MutationOptions;
  /** Where in [79200, 86400] a default-lifetime Pod Identity token falls, in [0, 1) (default Math.random). */
  readonly expirationJitter?: () => number;
}

function isPodCreate(request: AdmissionRequestView): boolean {
  return (
    request.operation === 'CREATE' &&
    request.kind.group === '' &&
    request.kind.kind === 'Pod' &&
    request.resource.group === '' &&
    request.resource.resource === 'pods' &&
    request.subResource === undefined
  );
}

/**
 * Decides the answer to one AdmissionReview request. Knows nothing about HTTP. Synchronous when the
 * ServiceAccount is answered from memory (the common case), a promise when a live lookup is needed.
 */
export function decide(request: AdmissionRequestView, context: DecisionContext): Decision | Promise<Decision> {
  const { apiVersion, uid } = request;
  // Built only on the paths that answer without a patch (the common path builds its own).
  const base = () => ({ namespace: request.namespace, pod: request.name, serviceAccount: undefined, patchOperations: 0, warnings: [] });
  if (!isPodCreate(request)) {
    return { ...base(), kind: 'ignored', review: allowResponse(apiVersion, uid, [], []) };
  }

  const pod = readPod(request.object);
  if (!pod.ok) {
    const warning = `could not read the pod (${pod.error}); no AWS identity was injected`;
    return { ...base(), kind: 'invalid-pod', reason: pod.error, warnings: [warning], review: allowResponse(apiVersion, uid, [], [warning]) };
  }
  const podName = pod.value.name ?? (pod.value.generateName ? `${pod.value.generateName}*` : request.name);
  // The request namespace comes from the URL the API server served; it is authoritative.
  if (request.namespace && pod.value.namespace && request.namespace !== pod.value.namespace) {
    const warning = `the pod's metadata.namespace "${pod.value.namespace}" differs from the request namespace "${request.namespace}"; no AWS identity was injected`;
    return { ...base(), pod: podName, kind: 'invalid-pod', reason: 'namespace mismatch', warnings: [warning], review: allowResponse(apiVersion, uid, [], [warning]) };
  }
  const namespace = request.namespace ?? pod.value.namespace ?? 'default';
  const serviceAccountName = pod.value.serviceAccountName;
  const view = pod.value.namespace === namespace ? pod.value : { ...pod.value, namespace };

  const conclude = (lookup: ServiceAccountLookup): Decision => {
    const described = () => ({ namespace, pod: podName, serviceAccount: serviceAccountName, patchOperations: 0, warnings: [] });
    if (lookup.status === 'error') {
      const message = `pod-identity-webhook could not look up ServiceAccount ${namespace}/${serviceAccountName}: ${lookup.message}; retry the request`;
      return { ...described(), kind: 'lookup-failed', reason: lookup.message, review: denyResponse(apiVersion, uid, 503, message) };
    }
    if (lookup.status === 'not-found') {
      return { ...described(), kind: 'no-service-account', review: allowResponse(apiVersion, uid, [], []) };
    }
    const jitter = lookup.serviceAccount.podIdentity ? (context.expirationJitter ?? Math.random)() : 0;
    const result = mutatePod(view, lookup.serviceAccount, context.options, jitter);
    return {
      namespace,
      pod: podName,
      serviceAccount: serviceAccountName,
      kind: result.patch.length > 0 ? 'mutated' : 'unchanged',
      patchOperations: result.patch.length,
      warnings: result.warnings,
      review: allowResponse(apiVersion, uid, result.patch, result.warnings),
    };
  };
  const lookup = context.serviceAccounts.lookup(namespace, serviceAccountName);
  return lookup instanceof Promise ? lookup.then(conclude) : conclude(lookup);
}
