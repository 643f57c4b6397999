import type { Rule, RuleSet } from './findings.js';

/**
 * The conversion's findings (the "Moving aws-auth to access entries" table of docs/cluster-login.md). `blocking`:
 * an error when the target is API (someone is locked out), a warning when aws-auth stays.
 */
export type RuleInfo = Rule & { readonly blocking?: boolean };

export const CONVERSION_RULE_INFO: Readonly<Record<string, RuleInfo>> = {
  'ae-system-group': {
    severity: 'error',
    blocking: true,
    summary: 'a system: group other than system:masters on a principal that is not a node: no access entry has it',
    explanation:
      'Access entries refuse kubernetesGroups starting with system: (InvalidParameterException: The kubernetes group name … cannot start with system:). Bind a group of your own to the same ClusterRoles, or keep the principal on aws-auth (API_AND_CONFIG_MAP).',
  },
  'ae-map-accounts': {
    severity: 'error',
    blocking: true,
    summary: 'mapAccounts: access entries have no account-wide equivalent',
    explanation: 'Every principal of the account needs its own access entry; in API mode nobody from this account who is not listed can log in.',
  },
  'ae-sso-matcher': {
    severity: 'error',
    blocking: true,
    summary: 'an sso matcher: access entries name one role each',
    explanation: 'Access entries have no wildcard principals: create one entry per AWSReservedSSO_<permission set>_<suffix> role, with its path (give --role-paths to have them listed).',
  },
  'ae-service-linked-role': {
    severity: 'error',
    blocking: true,
    summary: 'a service-linked role: access entries do not accept one',
    explanation: 'EKS does not support access entries for service-linked roles (/aws-service-role/); such a role keeps working only through aws-auth.',
  },
  'ae-invalid-principal': {
    severity: 'error',
    blocking: true,
    summary: 'an ARN that is no IAM role or user (an STS session ARN, a typo): no access entry can name it',
    explanation: 'Access entries name IAM roles and users; an assumed-role session ARN is a temporary principal and is refused (InvalidParameterException: The specified principalArn is invalid).',
  },
  'ae-username': {
    severity: 'error',
    blocking: true,
    summary: 'a username the access-entry API refuses (reserved prefix, template without a colon before it, undocumented template)',
    explanation:
      'Access-entry usernames may not start with system:, eks:, aws:, amazon: or iam:, and may use only {{SessionName}} and {{SessionNameRaw}}, each after a colon. Changing the username breaks RBAC bindings to kind: User, so this is not changed for you.',
  },
  'ae-group-template': {
    severity: 'error',
    blocking: true,
    summary: 'a group with a {{template}}: access entries do not expand templates in kubernetesGroups',
    explanation: 'Access entries document templates only in usernames; a templated group name would be taken literally.',
  },
  'ae-node-username': {
    severity: 'error',
    blocking: true,
    summary: 'a role in system:nodes whose username matches no node entry type',
    explanation:
      'Node entries (EC2_LINUX, EC2_WINDOWS: system:node:{{EC2PrivateDNSName}}; FARGATE_LINUX, HYBRID_LINUX: system:node:{{SessionName}}) set the username themselves; any other username cannot be expressed.',
  },
  'ae-role-path-missing': {
    severity: 'error',
    blocking: true,
    summary: "a role whose path is needed and unknown: not in --role-paths, or an SSO role's /aws-reserved/ path",
    explanation:
      'aws-auth names roles without their path, access entries with it (a path-less ARN of a role that has one is refused). The path is not guessed: add the role to the --role-paths file (aws iam list-roles --query "Roles[].Arn").',
  },
  'ae-role-path-unverified': {
    severity: 'warning',
    summary: 'a role ARN used without its path because no --role-paths was given',
    explanation: 'If the role has a path (service-role/, a team path), create-access-entry needs it: give --role-paths to check.',
  },
  'ae-duplicate': {
    severity: 'warning',
    summary: 'duplicate aws-auth entries: the authenticator (last) and eksctl (first) would convert different ones',
    explanation:
      'aws-iam-authenticator uses the last mapRoles entry for an ARN, eksctl utils migrate-to-access-entry the first; this conversion follows the authenticator (what logins get today). Delete the entry that is not in force.',
  },
  'ae-masters': {
    severity: 'warning',
    summary: 'system:masters becomes AmazonEKSClusterAdminPolicy: close, not identical',
    explanation:
      'system:masters bypasses every authorizer inside the API server; the access policy is applied by EKS\'s authorizer, is dropped under impersonation (--as), is invisible to kubectl auth can-i --list, and admission policies that exempt the group system:masters no longer match.',
  },
  'ae-dropped-groups': {
    severity: 'warning',
    summary: 'groups an access entry cannot carry are dropped (on node entries, or system: groups beside system:masters)',
    explanation: 'Node entries take no kubernetesGroups and STANDARD entries no system: groups; whatever those groups granted through RBAC is gone after the switch.',
  },
  'ae-account-template': {
    severity: 'warning',
    summary: '{{AccountID}} in a username is replaced by the account of the principal',
    explanation: 'Access entries do not document {{AccountID}}; the principal\'s account is the value it would take at every login.',
  },
  'ae-path-never-matched': {
    severity: 'warning',
    summary: 'an aws-auth rolearn with a path never matched: the access entry grants access aws-auth never gave',
    explanation: 'Sessions carry no path, so aws-auth never matched this entry; the access entry (which needs the path) will let the role in.',
  },
  'ae-existing-entry': {
    severity: 'warning',
    summary: 'the principal already has an access entry that differs from its aws-auth mapping',
    explanation: 'In API_AND_CONFIG_MAP the entry already overrides aws-auth for this principal; the aws-auth mapping is dead and only the entry counts.',
  },
  'ae-service-linked-policy': {
    severity: 'warning',
    summary: 'an existing entry holds an access policy reserved for service-linked roles, and its principal is not one',
    explanation:
      'AmazonEKSBlockStorage*, AmazonEKSCompute*, AmazonEKSClusterInsightsPolicy, AmazonEKSHybridPolicy and AmazonEKSPodIdentityPolicy are for the roles EKS itself uses. Only a third-party catalog (stackshy/cloudemu) marks them service-linked-only; EKS does not document it, so EKS may accept the association: check why this principal holds it.',
  },
  'ae-auto-node-extra-policy': {
    severity: 'warning',
    summary: 'an EC2 (Auto Mode) entry holds an access policy other than AmazonEKSAutoNodePolicy',
    explanation:
      'The Auto Mode node role needs AmazonEKSAutoNodePolicy (EKS docs); CDK states that EC2 entries take no access policies at all, so the sources conflict and another policy on a node role is at best unneeded: remove it.',
  },
  'ae-auto-node-policy-missing': {
    severity: 'warning',
    summary: 'an EC2 (Auto Mode) entry without AmazonEKSAutoNodePolicy',
    explanation: 'The EKS docs say the Auto Mode node IAM role requires the AmazonEKSAutoNodePolicy access policy; without it Auto Mode nodes lack their Kubernetes permissions.',
  },
  'ae-unknown-policy': {
    severity: 'warning',
    summary: "an existing entry holds an access policy that is not in this tool's 2026 catalog",
    explanation: 'A policy EKS added since, or a misspelling EKS would refuse (names are case-sensitive). The lab grants nothing for a policy it does not know.',
  },
};

export const CONVERSION_RULES: RuleSet = CONVERSION_RULE_INFO;
