/**
 * EKS's access-policy catalog as of 2026 (`arn:aws:eks::aws:cluster-access-policy/NAME`), pure data.
 *
 * Sources (shared/eks-2026.md §4.1): the EKS User Guide "Review access policy permissions"
 * (access-policy-permissions.html, 2026), a 2026 `aws eks list-access-policies` output [3rd-party],
 * the 2024 baseline of awsdocs access-policy-reference.adoc. EKS adds policies without notice: a name
 * missing here is reported as unknown to this catalog, never refused.
 */

/** `user`: granted to people and their tools; `service`: meant for an AWS service's or a capability's role. */
export type PolicyAudience = 'user' | 'service';

/** The built-in Kubernetes ClusterRoles the lab binds in place of a policy (src/lab/access-entries-rbac.ts). */
export type RbacStandIn = 'cluster-admin' | 'admin' | 'edit' | 'view';

export interface AccessPolicy {
  readonly name: string;
  readonly audience: PolicyAudience;
  /**
   * Reserved for service-linked roles. Only the third-party catalog of stackshy/cloudemu
   * (providers/aws/eks/access_policies.go, field serviceLinkedOnly) says so; EKS's pages do not state
   * it, so a finding built on it is a warning that says where it comes from.
   */
  readonly serviceLinkedOnly: boolean;
  /** The ClusterRole the lab's RBAC stand-in binds; undefined: known, not modelled in the lab. */
  readonly labClusterRole: RbacStandIn | undefined;
}

const user = (name: string, labClusterRole?: RbacStandIn): AccessPolicy => ({ name, audience: 'user', serviceLinkedOnly: false, labClusterRole });
const service = (name: string, serviceLinkedOnly = false): AccessPolicy => ({ name, audience: 'service', serviceLinkedOnly, labClusterRole: undefined });

export const ACCESS_POLICIES: readonly AccessPolicy[] = [
  // User-facing (2024 baseline); AdminView (view with Secrets, 2024-04) has no built-in ClusterRole counterpart.
  user('AmazonEKSClusterAdminPolicy', 'cluster-admin'),
  user('AmazonEKSAdminPolicy', 'admin'),
  user('AmazonEKSAdminViewPolicy'),
  user('AmazonEKSEditPolicy', 'edit'),
  user('AmazonEKSViewPolicy', 'view'),
  // Auto Mode and other EKS-managed components (2024).
  service('AmazonEKSAutoNodePolicy'),
  service('AmazonEKSBlockStoragePolicy', true),
  service('AmazonEKSBlockStorageClusterPolicy', true),
  service('AmazonEKSComputePolicy', true),
  service('AmazonEKSComputeClusterPolicy', true),
  service('AmazonEKSLoadBalancingPolicy'),
  service('AmazonEKSLoadBalancingClusterPolicy'),
  service('AmazonEKSNetworkingPolicy'),
  service('AmazonEKSNetworkingClusterPolicy'),
  service('AmazonEKSHybridPolicy', true),
  // New in 2025-26.
  user('AmazonEKSSecretReaderPolicy'),
  user('AmazonEKSSecretAdminPolicy'),
  user('AmazonEKSEventPolicy'),
  service('AmazonEKSPodIdentityPolicy', true),
  service('AmazonEKSClusterInsightsPolicy', true),
  // EKS Capabilities (their roles trust capabilities.eks.amazonaws.com); ACK controllers reading Secrets also need AmazonEKSSecretReaderPolicy.
  service('AmazonEKSArgoCDPolicy'),
  service('AmazonEKSArgoCDClusterPolicy'),
  service('AmazonEKSACKPolicy'),
  service('AmazonEKSKROPolicy'),
  service('AmazonEMRJobPolicy'),
  service('AmazonSagemakerHyperpodClusterPolicy'),
  service('AmazonSagemakerHyperpodControllerPolicy'),
  service('AmazonSagemakerHyperpodSpacePolicy'),
  service('AmazonSagemakerHyperpodSpaceTemplatePolicy'),
  service('AmazonSagemakerHyperpodSystemNamespacePolicy'),
  service('AmazonSagemakerHyperpodUserClusterPolicy'),
  service('AmazonAIOpsAssistantPolicy'),
  service('AIDevOpsAgentAccessPolicy'),
  service('AmazonARCRegionSwitchScalingPolicy'),
  service('AWSBackupFullAccessPolicyForBackup'),
  service('AWSBackupFullAccessPolicyForRestore'),
];

const BY_NAME: ReadonlyMap<string, AccessPolicy> = new Map(ACCESS_POLICIES.map((policy) => [policy.name, policy]));

/** The catalog's entry for a policy name (exact spelling, as EKS prints it), or undefined. */
export function accessPolicy(name: string): AccessPolicy | undefined {
  return BY_NAME.get(name);
}

/** The policy an Auto Mode node role's `EC2` entry needs (awsdocs automode/create-node-class.adoc). */
export const AUTO_NODE_POLICY = 'AmazonEKSAutoNodePolicy';

/** Why the lab grants nothing for a policy, or undefined when its RBAC stand-in models it. */
export function notModelledReason(name: string): string | undefined {
  const policy = accessPolicy(name);
  if (!policy) return `${name} is not in the 2026 access-policy catalog this tool knows (a newer policy, or a typo): the lab grants nothing for it`;
  if (policy.labClusterRole !== undefined) return undefined;
  const what = policy.audience === 'user' ? 'a user-facing policy with no built-in ClusterRole counterpart' : 'a policy for an AWS service or EKS-managed component';
  return `${name} is ${what}: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it`;
}
