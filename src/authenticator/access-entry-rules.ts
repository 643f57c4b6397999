import { type IamArn, isAssumedRoleArn, isServiceLinkedRole, parseRoleArn, parseUserArn } from '../shared/aws/arn.js';
import { accessPolicy, AUTO_NODE_POLICY } from './access-policies.js';
import { placeholders } from './templates.js';

/**
 * What EKS's access-entry API accepts, as pure checks shared by the authenticator (which refuses a
 * file EKS could not have printed) and the aws-auth conversion (which says what EKS would refuse).
 * Each problem is worded as the API answers it; only the `system:` group message is EKS's verbatim
 * text (terraform-aws-eks#2915), the others follow its form with the rule the EKS docs state.
 */

/**
 * The API's enum (shared/eks-2026.md §4.2: Kotlin SDK CreateAccessEntryRequest.type, CDK
 * AccessEntryType v2.238.0): `EC2` is an EKS Auto Mode node role, `HYPERPOD_LINUX` a SageMaker
 * HyperPod node role. The type cannot change after creation.
 */
export const ACCESS_ENTRY_TYPES = ['STANDARD', 'EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'HYBRID_LINUX', 'EC2', 'HYPERPOD_LINUX'] as const;
export type AccessEntryType = (typeof ACCESS_ENTRY_TYPES)[number];
export type NodeEntryType = Exclude<AccessEntryType, 'STANDARD'>;

/** Why EKS refuses changing an entry's type, or undefined (the type is immutable). */
export function typeChangeProblem(from: AccessEntryType, to: AccessEntryType): string | undefined {
  return from === to ? undefined : `InvalidParameterException: the type of an access entry cannot be changed (${from} to ${to}): delete the entry and create it again`;
}

/**
 * The username EKS gives each node type (it cannot be changed). EC2_*, FARGATE_LINUX and
 * HYBRID_LINUX are documented (EKS docs creating-access-entries). For EC2 (Auto Mode) and
 * HYPERPOD_LINUX EKS publishes none: the lab's choice is system:node:{{SessionName}}, since both
 * nodes' roles are assumed through the instance profile, whose session name is the instance id,
 * and Auto Mode names its nodes after the instance id (docs/cluster-login.md says so).
 */
export const NODE_USERNAMES: Readonly<Record<NodeEntryType, string>> = {
  EC2_LINUX: 'system:node:{{EC2PrivateDNSName}}',
  EC2_WINDOWS: 'system:node:{{EC2PrivateDNSName}}',
  FARGATE_LINUX: 'system:node:{{SessionName}}',
  HYBRID_LINUX: 'system:node:{{SessionName}}',
  EC2: 'system:node:{{SessionName}}',
  HYPERPOD_LINUX: 'system:node:{{SessionName}}',
};

/**
 * The groups describe-access-entry shows EKS setting on a node entry: `system:nodes` (documented for
 * EC2_LINUX; the lab gives it to every node type). Only these may appear on a node entry.
 */
export const NODE_GROUPS = ['system:nodes'] as const;
const EKS_SET_NODE_GROUPS = new Set(['system:nodes', 'system:bootstrappers', 'system:node-proxier']);

export const RESERVED_USERNAME_PREFIXES = ['system:', 'eks:', 'aws:', 'amazon:', 'iam:'] as const;
/** The only templates a custom access-entry username may use, each after a `:`. */
export const USERNAME_TEMPLATES = ['SessionName', 'SessionNameRaw'] as const;

/**
 * Groups the lab authenticator adds to a user who logged in through an access entry with access
 * policies, so `access-entries rbac` can bind the policies' ClusterRoles to that entry alone (RBAC
 * cannot bind a templated username). Refused in entries' own kubernetesGroups.
 */
export const POLICY_GROUP_PREFIX = 'eks-access-entry:';

export function policyGroup(principalArn: string): string {
  return `${POLICY_GROUP_PREFIX}${principalArn}`;
}

export interface Principal {
  readonly kind: 'role' | 'user';
  readonly arn: IamArn;
}

const invalidPrincipal = (reason: string): string => `InvalidParameterException: The specified principalArn is invalid: ${reason}`;

/** An access entry's principal: an IAM role (with its path) or user; never an STS session or a service-linked role. */
export function readPrincipal(principalArn: string): { principal: Principal } | { error: string } {
  if (isAssumedRoleArn(principalArn)) return { error: invalidPrincipal('invalid principal (an STS assumed-role session is not a permanent identity; use the role ARN)') };
  const role = parseRoleArn(principalArn);
  if (role) return isServiceLinkedRole(role) ? { error: invalidPrincipal('service-linked roles are not supported') } : { principal: { kind: 'role', arn: role } };
  const user = parseUserArn(principalArn);
  if (user) return { principal: { kind: 'user', arn: user } };
  return { error: invalidPrincipal('invalid principal (not an IAM role or user ARN)') };
}

/** The username EKS sets when none is given. */
export function defaultUsername(principal: Principal, principalArn: string, type: AccessEntryType): string {
  if (type !== 'STANDARD') return NODE_USERNAMES[type];
  if (principal.kind === 'user') return principalArn;
  return `arn:${principal.arn.partition}:sts::${principal.arn.account}:assumed-role/${principal.arn.name}/{{SessionName}}`;
}

/** Why EKS refuses `username` on a STANDARD entry, or undefined. */
export function usernameProblem(username: string): string | undefined {
  if (username === '') return 'InvalidParameterException: The username must not be empty';
  const prefix = RESERVED_USERNAME_PREFIXES.find((candidate) => username.startsWith(candidate));
  if (prefix) return `InvalidParameterException: The username ${username} is invalid, it cannot start with ${prefix}`;
  for (const placeholder of placeholders(username)) {
    if (!(USERNAME_TEMPLATES as readonly string[]).includes(placeholder.name)) {
      return `InvalidParameterException: The username ${username} is invalid, only {{SessionName}} and {{SessionNameRaw}} can be used in a username, not {{${placeholder.name}}}`;
    }
    if (!username.slice(0, placeholder.start).includes(':')) {
      return `InvalidParameterException: The username ${username} is invalid, {{${placeholder.name}}} must come after a colon (:)`;
    }
  }
  return undefined;
}

/** Why EKS refuses a kubernetesGroups name on a STANDARD entry, or undefined. */
export function groupProblem(group: string): string | undefined {
  if (group === '') return 'InvalidParameterException: The kubernetes group name must not be empty';
  if (group.startsWith('system:')) return `InvalidParameterException: The kubernetes group name ${group} is invalid, it cannot start with system:`;
  if (group.startsWith(POLICY_GROUP_PREFIX)) return `the kubernetes group name ${group} is invalid here: the lab reserves ${POLICY_GROUP_PREFIX}… for access policies`;
  return undefined;
}

export interface EntryShape {
  readonly principalArn: string;
  readonly type: AccessEntryType;
  /** As written; undefined when EKS is to choose. */
  readonly username: string | undefined;
  readonly kubernetesGroups: readonly string[];
  /** The names of its associated access policies. */
  readonly policies: readonly string[];
}

export interface CheckedEntry {
  readonly principal: Principal;
  readonly username: string;
  readonly kubernetesGroups: readonly string[];
  /** What EKS accepts but is likely a mistake, one line each (policyWarnings). */
  readonly warnings: readonly string[];
}

/**
 * Accepted but doubtful policies on an entry. `EC2` (Auto Mode): CDK says it takes no access
 * policies, yet the EKS docs require AmazonEKSAutoNodePolicy on the Auto Mode node role
 * (awsdocs automode/create-node-class.adoc); the lab takes that one as valid and warns on any
 * other [inferred, shared/eks-2026.md §4.2]. A policy the third-party cloudemu catalog reserves
 * for service-linked roles, on an entry (whose principal is never service-linked: readPrincipal),
 * is warned about with that uncertainty.
 */
export function policyWarnings(type: AccessEntryType, policies: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const name of policies) {
    if (type === 'EC2' && name !== AUTO_NODE_POLICY) {
      warnings.push(`${name} on an EC2 (Auto Mode) entry: EC2 entries take ${AUTO_NODE_POLICY} only (CDK says node entries take no access policies; the EKS docs attach ${AUTO_NODE_POLICY})`);
    } else if (accessPolicy(name)?.serviceLinkedOnly) {
      warnings.push(`${name} is reserved for service-linked roles (per the third-party cloudemu catalog; EKS does not document it), and this entry's principal is not one: EKS may refuse or ignore the association`);
    }
  }
  return warnings;
}

/** The node types that take neither groups nor policies (all but EC2, which takes AmazonEKSAutoNodePolicy). */
const NO_POLICY_TYPES: ReadonlySet<AccessEntryType> = new Set(['EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'HYBRID_LINUX', 'HYPERPOD_LINUX']);

/**
 * Every rule of one entry (its associations' scopes are checked by scopeProblem). A node entry may
 * show what EKS itself set (its username and node groups, as describe-access-entry prints them),
 * nothing else.
 */
export function checkEntry(entry: EntryShape): { ok: true; value: CheckedEntry } | { ok: false; error: string } {
  const read = readPrincipal(entry.principalArn);
  if ('error' in read) return { ok: false, error: read.error };
  const { principal } = read;
  const username = entry.username ?? defaultUsername(principal, entry.principalArn, entry.type);
  if (entry.type === 'STANDARD') {
    if (entry.username !== undefined) {
      const problem = usernameProblem(entry.username);
      if (problem) return { ok: false, error: problem };
    }
    for (const group of entry.kubernetesGroups) {
      const problem = groupProblem(group);
      if (problem) return { ok: false, error: problem };
    }
    return { ok: true, value: { principal, username, kubernetesGroups: entry.kubernetesGroups, warnings: policyWarnings(entry.type, entry.policies) } };
  }
  if (principal.kind !== 'role') return { ok: false, error: invalidPrincipal(`access entries of type ${entry.type} need an IAM role`) };
  if (entry.username !== undefined && entry.username !== NODE_USERNAMES[entry.type]) {
    return { ok: false, error: `InvalidParameterException: username can only be set on access entries of type STANDARD (${entry.type} users are ${NODE_USERNAMES[entry.type]})` };
  }
  const foreign = entry.kubernetesGroups.find((group) => !EKS_SET_NODE_GROUPS.has(group));
  if (foreign !== undefined) return { ok: false, error: `InvalidParameterException: kubernetesGroups can only be set on access entries of type STANDARD (${foreign} on ${entry.type})` };
  if (entry.policies.length > 0 && NO_POLICY_TYPES.has(entry.type)) {
    return { ok: false, error: `InvalidParameterException: access policies can only be associated with access entries of type STANDARD (or ${AUTO_NODE_POLICY} with EC2), not ${entry.type}` };
  }
  return {
    ok: true,
    value: { principal, username, kubernetesGroups: entry.kubernetesGroups.length > 0 ? entry.kubernetesGroups : NODE_GROUPS, warnings: policyWarnings(entry.type, entry.policies) },
  };
}

export type AccessScope = { readonly type: 'cluster' } | { readonly type: 'namespace'; readonly namespaces: readonly string[] };

/** A Kubernetes namespace name, optionally with `*` wildcards (EKS allows `dev-*`). */
const NAMESPACE_PATTERN = /^[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?$/;

/** Why EKS refuses an access scope, or undefined. */
export function scopeProblem(type: string, namespaces: readonly string[]): string | undefined {
  if (type === 'cluster') return namespaces.length > 0 ? 'InvalidParameterException: namespaces can only be given for access scope type namespace' : undefined;
  if (type !== 'namespace') return `InvalidParameterException: access scope type ${type} is invalid (cluster or namespace)`;
  if (namespaces.length === 0) return 'InvalidParameterException: access scope type namespace needs at least one namespace';
  const bad = namespaces.find((namespace) => !NAMESPACE_PATTERN.test(namespace));
  if (bad !== undefined) return `InvalidParameterException: ${JSON.stringify(bad)} is not a namespace name (or pattern with *)`;
  return undefined;
}
