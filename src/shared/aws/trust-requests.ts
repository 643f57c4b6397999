import { trimTrailing } from '../text.js';
import type { RequestContext, TrustRequest } from './iam-policy.js';

/**
 * The requests a role's trust policy is evaluated against, built in one place for the lab's STS
 * (which decides with them) and `explain` (which shows why it would decide so): IRSA's
 * `AssumeRoleWithWebIdentity` and the `AssumeRole` + `TagSession` a service principal makes.
 */
export interface SessionTag {
  readonly key: string;
  readonly value: string;
}

/** The service principal EKS assumes Pod Identity roles as. */
export const PODS_SERVICE_PRINCIPAL = 'pods.eks.amazonaws.com';

/** The IAM provider id of an issuer (its URL without the scheme): the provider ARN's tail and the condition-key prefix. */
export function oidcProviderId(issuer: string): string {
  return trimTrailing(issuer.replace(/^https?:\/\//, ''), '/');
}

export function oidcProviderArn(partition: string, account: string, providerId: string): string {
  return `arn:${partition}:iam::${account}:oidc-provider/${providerId}`;
}

export interface WebIdentityClaims {
  /** The provider's id (`HOST/PATH`), which prefixes its condition keys. */
  readonly providerId: string;
  readonly providerArn: string;
  readonly subject: string;
  /** The token audience the provider accepted. */
  readonly audience: string;
  /** Undefined when the caller's session name is not known (an SDK picks it). */
  readonly sessionName: string | undefined;
  readonly amr?: readonly string[];
  readonly azp?: string;
}

/**
 * `AssumeRoleWithWebIdentity`: the provider's keys from the token (`sub`, `aud`, and `amr`/`azp` when
 * the token has them), `aws:FederatedProvider` and the session name, from the federated principal.
 */
export function webIdentityRequest(claims: WebIdentityClaims): TrustRequest {
  const prefix = claims.providerId.toLowerCase();
  const context = new Map<string, readonly string[]>([
    [`${prefix}:sub`, [claims.subject]],
    [`${prefix}:aud`, [claims.audience]],
    ['aws:federatedprovider', [claims.providerArn]],
  ]);
  if (claims.sessionName !== undefined) context.set('sts:rolesessionname', [claims.sessionName]);
  if (claims.amr !== undefined) context.set(`${prefix}:amr`, claims.amr);
  if (claims.azp !== undefined) context.set(`${prefix}:azp`, [claims.azp]);
  return { action: 'sts:AssumeRoleWithWebIdentity', principal: { type: 'Federated', ids: [claims.providerArn] }, context };
}

export interface ServiceSession {
  readonly service: string;
  readonly sessionName: string | undefined;
  readonly tags: readonly SessionTag[];
  readonly transitiveTagKeys: readonly string[];
  /** `aws:SourceAccount` and `aws:SourceArn`: whom the service acts for (confused-deputy conditions). */
  readonly sourceAccount?: string;
  readonly sourceArn?: string;
}

/**
 * A service principal's `sts:AssumeRole` and, when it passes tags, the `sts:TagSession` that must be
 * allowed too; both with `aws:RequestTag/KEY`, `aws:TagKeys`, `sts:TransitiveTagKeys`,
 * `aws:SourceAccount` and `aws:SourceArn` in the context.
 */
export function serviceRequests(session: ServiceSession): { readonly assume: TrustRequest; readonly tagSession: TrustRequest | undefined } {
  const context = new Map<string, readonly string[]>();
  if (session.sessionName !== undefined) context.set('sts:rolesessionname', [session.sessionName]);
  if (session.sourceAccount !== undefined) context.set('aws:sourceaccount', [session.sourceAccount]);
  if (session.sourceArn !== undefined) context.set('aws:sourcearn', [session.sourceArn]);
  for (const { key, value } of session.tags) context.set(`aws:requesttag/${key.toLowerCase()}`, [value]);
  if (session.tags.length > 0) context.set('aws:tagkeys', session.tags.map((tag) => tag.key));
  if (session.transitiveTagKeys.length > 0) context.set('sts:transitivetagkeys', [...session.transitiveTagKeys]);
  const principal = { type: 'Service' as const, ids: [session.service] };
  const shared: RequestContext = context;
  return {
    assume: { action: 'sts:AssumeRole', principal, context: shared },
    tagSession: session.tags.length > 0 ? { action: 'sts:TagSession', principal, context: shared } : undefined,
  };
}

export interface PodIdentitySubject {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string;
  readonly podUid: string;
}

/** The six session tags EKS Pod Identity sets, all transitive (EKS user guide, pod-id-abac). */
export function podIdentityTags(subject: PodIdentitySubject): SessionTag[] {
  return [
    { key: 'eks-cluster-arn', value: subject.clusterArn },
    { key: 'eks-cluster-name', value: subject.clusterName },
    { key: 'kubernetes-namespace', value: subject.namespace },
    { key: 'kubernetes-service-account', value: subject.serviceAccount },
    { key: 'kubernetes-pod-name', value: subject.podName },
    { key: 'kubernetes-pod-uid', value: subject.podUid },
  ];
}
