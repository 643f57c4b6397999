import type { NamedPolicy } from '../../shared/aws/iam-permissions.js';
import type { TrustPolicy } from '../../shared/aws/iam-policy.js';
import type { MutationOptions, PodView, ServiceAccountView } from '../../webhook/engine/types.js';

/**
 * Everything `explain` reasons about, read from files or from a cluster by the command line. Neutral
 * on purpose: the lab config, a trust-policy file and a live cluster all become this.
 */
export interface ExplainInput {
  /** The pod as given (kept whole, so the engine's patch can be applied to it). */
  readonly pod: Readonly<Record<string, unknown>>;
  readonly podView: PodView;
  readonly namespace: string;
  /** True for a pod that exists (read from the cluster, or a file with metadata.uid or status). */
  readonly running: boolean;
  /** The namespace's labels; undefined when unknown (then only kubernetes.io/metadata.name, which the API server always sets). */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  /** Undefined: the ServiceAccount the pod runs as does not exist. */
  readonly serviceAccount: ServiceAccountView | undefined;
  /** Where the ServiceAccount came from, for messages. */
  readonly serviceAccountSource: string;
  /** True when the webhook is told (its identities) to give this ServiceAccount EKS Pod Identity. */
  readonly podIdentityListed: boolean;
  readonly webhookConfiguration: { readonly object: unknown; readonly source: string };
  /** The MutatingAdmissionPolicies and bindings (`manifests --mode admission-policy`), when known: from the cluster, or the --webhook-config file. */
  readonly admissionPolicies?: { readonly policies: readonly unknown[]; readonly bindings: readonly unknown[]; readonly source: string } | undefined;
  readonly options: MutationOptions;
  /** Only this container, when given; otherwise every container and init container. */
  readonly container: string | undefined;
  /** A token's claims (read strictly; the signature is not checked here: STS checks it with the provider's keys). */
  readonly token: { readonly claims: Readonly<Record<string, unknown>>; readonly source: string } | undefined;
  /** The cluster's service-account issuer, when known (`--issuer-url`, the lab config's cluster, the API server's discovery). */
  readonly issuer: string | undefined;
  /** The IAM OIDC providers of the accounts (lab config); undefined when not known. */
  readonly providers: readonly OidcProviderFacts[] | undefined;
  readonly trust: TrustSource | undefined;
  readonly podIdentity: PodIdentityFacts | undefined;
  /** The call to judge the pod's credentials for (`--action`, `--resource`); undefined: not asked. */
  readonly permission: PermissionQuery | undefined;
  readonly now: Date;
}

/** A role's permission policies; `identityPolicies` undefined: not known (the lab then allows what its sessions ask). */
export interface RolePermissions {
  readonly identityPolicies: readonly NamedPolicy[] | undefined;
  readonly boundary: NamedPolicy | undefined;
}

/** Permission policies: files for whatever role the credentials are for, or the lab config's roles by ARN. */
export type PermissionPolicies =
  | { readonly kind: 'files'; readonly source: string; readonly role: RolePermissions; readonly sessionPolicy: NamedPolicy | undefined }
  | { readonly kind: 'roles'; readonly source: string; readonly roles: ReadonlyMap<string, RolePermissions> };

export interface PermissionQuery {
  /** `service:Action`. */
  readonly action: string;
  /** The resource ARN, or `*`. */
  readonly resource: string;
  /** Undefined: no policies given (then the link says so). */
  readonly policies: PermissionPolicies | undefined;
}

export interface OidcProviderFacts {
  /** The provider's URL as registered (the token's `iss`). */
  readonly issuer: string;
  /** The ClientIDList. */
  readonly audiences: readonly string[];
  /** The accounts the provider is registered in; undefined: any (the lab has one IAM). */
  readonly accounts: readonly string[] | undefined;
}

/** Trust policies: one file for whatever role is asked about, or the lab config's roles by ARN. */
export type TrustSource =
  | { readonly kind: 'file'; readonly source: string; readonly policy: TrustPolicy }
  | { readonly kind: 'roles'; readonly source: string; readonly policies: ReadonlyMap<string, TrustPolicy> };

export interface PodIdentityAssociationFacts {
  readonly cluster: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleArn: string;
  readonly targetRoleArn: string | undefined;
  readonly disableSessionTags: boolean;
  /** The association's session policy, when it has one. */
  readonly sessionPolicy?: NamedPolicy | undefined;
}

export interface ClusterFacts {
  readonly name: string;
  readonly arn: string;
  readonly account: string;
}

/** What EKS knows for Pod Identity: the cluster and its associations (lab config), when given. */
export interface PodIdentityFacts {
  readonly cluster: ClusterFacts | undefined;
  /** The issuer EKS Auth verifies the cluster's tokens against, when known. */
  readonly clusterIssuer: string | undefined;
  /** Undefined when the associations are not known (no lab config). */
  readonly associations: readonly PodIdentityAssociationFacts[] | undefined;
}
