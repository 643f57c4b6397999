import { accessPolicyArn, formatIamArn, iamArnWithoutPath, type IamArn, isAssumedRoleArn, isServiceLinkedRole, parseRoleArn, parseUserArn } from '../shared/aws/arn.js';
import type { Parsed } from '../shared/result.js';
import { type AccessEntries, accessEntryFor } from './access-entries.js';
import { type AccessEntryType, type AccessScope, typeChangeProblem, usernameProblem } from './access-entry-rules.js';
import { accessPolicy, AUTO_NODE_POLICY } from './access-policies.js';
import { type AuthenticationMode, modeSteps } from './authentication-modes.js';
import type { AwsAuthConfig, MappingEntry, SsoMatcher } from './aws-auth.js';
import { CONVERSION_RULE_INFO, CONVERSION_RULES } from './conversion-rules.js';
import { type Finding, makeFinding } from './findings.js';
import { type RolePaths, roleWithPath } from './role-paths.js';
import { placeholders } from './templates.js';

/**
 * aws-auth → EKS access entries, offline: for each aws-auth entry, the access entry that gives
 * the same principal the same access, or why there is none, and who would be locked out in the
 * target mode. The AWS CLI commands and the text are conversion-output.ts's, which reads this
 * report (never the other way). Follows irsa-and-access-entries.md §3.2, closing eksctl's gaps
 * (Fargate and hybrid node roles, the groups beside system:masters, usernames checked as the API
 * checks them, duplicates reported, role paths from a supplied map rather than GetRole).
 */

export type TargetMode = 'API' | 'API_AND_CONFIG_MAP';
export const TARGET_MODES: readonly TargetMode[] = ['API', 'API_AND_CONFIG_MAP'];

export interface ProposedPolicy {
  readonly policyArn: string;
  readonly policyName: string;
  readonly scope: AccessScope;
}

export interface ProposedEntry {
  readonly principalArn: string;
  readonly type: AccessEntryType;
  /** Only for STANDARD: node types get EKS's. */
  readonly username: string | undefined;
  readonly kubernetesGroups: readonly string[];
  readonly policies: readonly ProposedPolicy[];
}

export type Outcome =
  /** Create this entry. */
  | { readonly kind: 'entry'; readonly entry: ProposedEntry }
  /** The principal already has an entry, which already overrides aws-auth. */
  | { readonly kind: 'existing'; readonly principalArn: string }
  /** No access entry can say this. */
  | { readonly kind: 'none'; readonly reason: string }
  /** Another aws-auth entry for the same ARN is the one in force. */
  | { readonly kind: 'ignored'; readonly inForce: string };

export interface Conversion {
  readonly where: string;
  /** The aws-auth ARN, account id or sso matcher as written. */
  readonly subject: string;
  readonly outcomes: readonly Outcome[];
}

export interface ConversionReport {
  readonly currentMode: AuthenticationMode;
  readonly targetMode: TargetMode;
  /** The mode updates to request, in order, one step each (authentication-modes.ts modeSteps). */
  readonly modeSteps: readonly AuthenticationMode[];
  readonly conversions: readonly Conversion[];
  readonly findings: readonly Finding[];
  /** Who can log in today and could not once the target mode is in force (always empty for API_AND_CONFIG_MAP). */
  readonly lockedOut: readonly { readonly where: string; readonly subject: string; readonly reason: string }[];
  /** Who keeps logging in through aws-auth (API_AND_CONFIG_MAP only). */
  readonly remainOnAwsAuth: readonly { readonly where: string; readonly subject: string; readonly reason: string }[];
}

export interface ConversionOptions {
  /** The cluster's mode now; default CONFIG_MAP, or API_AND_CONFIG_MAP when access entries exist. */
  readonly currentMode?: AuthenticationMode;
  readonly targetMode: TargetMode;
  readonly rolePaths: RolePaths | undefined;
  readonly existing: AccessEntries | undefined;
}

const NODE_GROUPS = new Set(['system:nodes', 'system:bootstrappers', 'system:node-proxier', 'eks:kube-proxy-windows']);
const CLUSTER_ADMIN = 'AmazonEKSClusterAdminPolicy';

/** Collects findings and outcomes for one aws-auth entry. */
class EntryConversion {
  readonly outcomes: Outcome[] = [];
  constructor(
    readonly where: string,
    readonly subject: string,
    private readonly report: Finding[],
    private readonly targetMode: TargetMode,
  ) {}

  /** The same entry worked out again without reporting anything (to compare with an existing access entry). */
  quiet(): EntryConversion {
    return new EntryConversion(this.where, this.subject, [], this.targetMode);
  }

  note(rule: string, message: string): void {
    const info = CONVERSION_RULE_INFO[rule]!;
    const severity = info.blocking && this.targetMode === 'API_AND_CONFIG_MAP' ? 'warning' : undefined;
    this.report.push(makeFinding(CONVERSION_RULES, rule, this.where, message, severity));
  }

  none(rule: string, reason: string): void {
    this.note(rule, `${this.where} (${this.subject}): ${reason}`);
    this.outcomes.push({ kind: 'none', reason });
  }

  entry(entry: ProposedEntry): void {
    this.outcomes.push({ kind: 'entry', entry });
  }
}

/** The principal an access entry needs: a role with its real path, a user as written. */
function resolvePrincipal(entry: MappingEntry, options: ConversionOptions, at: EntryConversion): { arn: string; role: IamArn | undefined } | undefined {
  if (isAssumedRoleArn(entry.arn)) {
    at.none('ae-invalid-principal', 'an assumed-role session ARN: name the role (arn:aws:iam::ACCOUNT:role/NAME)');
    return undefined;
  }
  if (entry.kind === 'user') {
    if (parseUserArn(entry.arn)) return { arn: entry.arn, role: undefined };
    at.none('ae-invalid-principal', 'not an IAM user ARN');
    return undefined;
  }
  const written = parseRoleArn(entry.arn);
  if (!written) {
    at.none('ae-invalid-principal', 'not an IAM role ARN');
    return undefined;
  }
  let role = written;
  const existing = options.existing && written.path === '/' ? accessEntryFor(entry.arn, options.existing) : undefined;
  if (existing?.principal.kind === 'role') {
    role = existing.principal.arn;
  } else if (written.path !== '/') {
    at.note('ae-path-never-matched', `${at.where} (${entry.arn}) has a path, so aws-auth never matched it; the access entry will let ${written.name} in`);
  } else if (options.rolePaths) {
    const known = roleWithPath(written, options.rolePaths);
    if (!known) {
      at.none('ae-role-path-missing', `${written.name} is not in --role-paths: its path (if any) is unknown`);
      return undefined;
    }
    role = known;
  } else if (written.name.startsWith('AWSReservedSSO_')) {
    at.none('ae-role-path-missing', `${written.name} is an IAM Identity Center role, whose ARN has an /aws-reserved/sso.amazonaws.com/… path: give --role-paths`);
    return undefined;
  } else if (!written.name.startsWith('AWSServiceRoleFor')) {
    at.note('ae-role-path-unverified', `${at.where} (${entry.arn}): used without a path; give --role-paths if the role has one`);
  }
  if (isServiceLinkedRole(role) || (role.path === '/' && role.name.startsWith('AWSServiceRoleFor'))) {
    at.none('ae-service-linked-role', 'a service-linked role');
    return undefined;
  }
  return { arn: formatIamArn('role', role), role };
}

function nodeType(entry: MappingEntry): AccessEntryType | undefined {
  if (entry.username === 'system:node:{{EC2PrivateDNSName}}') return entry.groups.includes('eks:kube-proxy-windows') ? 'EC2_WINDOWS' : 'EC2_LINUX';
  // Fargate's pod execution role has system:node-proxier, a hybrid node role has not (the only difference aws-auth shows).
  if (entry.username === 'system:node:{{SessionName}}') return entry.groups.includes('system:node-proxier') ? 'FARGATE_LINUX' : 'HYBRID_LINUX';
  return undefined;
}

/** The username as an access entry would take it, or undefined (with a finding) when it cannot. */
function standardUsername(entry: MappingEntry, account: string, at: EntryConversion): string | undefined {
  let username = entry.username;
  if (placeholders(username).some((placeholder) => placeholder.name === 'AccountID')) {
    const replaced = replaceAccountId(username, account);
    at.note('ae-account-template', `${at.where} (${entry.arn}): username "${username}" becomes "${replaced}"`);
    username = replaced;
  }
  const problem = usernameProblem(username);
  if (problem) {
    at.none('ae-username', `username "${entry.username}": ${problem}`);
    return undefined;
  }
  return username;
}

function replaceAccountId(text: string, account: string): string {
  let out = '';
  let from = 0;
  for (const placeholder of placeholders(text)) {
    if (placeholder.name !== 'AccountID') continue;
    out += text.slice(from, placeholder.start) + account;
    from = placeholder.end;
  }
  return out + text.slice(from);
}

function convertMapping(entry: MappingEntry, options: ConversionOptions, at: EntryConversion): void {
  const principal = resolvePrincipal(entry, options, at);
  if (!principal) return;
  const existing = options.existing ? accessEntryFor(principal.role ? iamArnWithoutPath('role', principal.role) : principal.arn, options.existing) : undefined;
  const { partition, account } = principal.role ?? parseUserArn(principal.arn)!;
  if (existing) {
    // The entry is in force whatever aws-auth says; only what differs is worth knowing.
    const proposed = propose(entry, principal.arn, partition, account, principal.role !== undefined, at.quiet());
    const differences = proposed ? compare(proposed, existing) : ['aws-auth maps it in a way no access entry can'];
    if (differences.length > 0) at.note('ae-existing-entry', `${at.where} (${entry.arn}): the access entry ${existing.principalArn} differs: ${differences.join('; ')}`);
    at.outcomes.push({ kind: 'existing', principalArn: existing.principalArn });
    return;
  }
  const proposed = propose(entry, principal.arn, partition, account, principal.role !== undefined, at);
  if (proposed) at.entry(proposed);
}

function propose(entry: MappingEntry, principalArn: string, partition: string, account: string, isRole: boolean, at: EntryConversion): ProposedEntry | undefined {
  const label = `${at.where} (${entry.arn})`;
  const system = entry.groups.filter((group) => group.startsWith('system:'));
  if (isRole && entry.groups.includes('system:nodes')) {
    const type = nodeType(entry);
    if (!type) {
      at.none('ae-node-username', `in system:nodes with username "${entry.username}", which no node entry type has`);
      return undefined;
    }
    if (entry.groups.includes('system:masters')) at.note('ae-masters', `${label}: a node role in system:masters; the ${type} entry gets no cluster-admin policy (node entries take none)`);
    const dropped = entry.groups.filter((group) => !NODE_GROUPS.has(group) && group !== 'system:masters');
    if (dropped.length > 0) at.note('ae-dropped-groups', `${label}: ${dropped.join(', ')} dropped: a ${type} entry takes no kubernetesGroups`);
    return { principalArn, type, username: undefined, kubernetesGroups: [], policies: [] };
  }
  const templated = entry.groups.find((group) => placeholders(group).length > 0);
  if (templated !== undefined) {
    at.none('ae-group-template', `group "${templated}" has a template`);
    return undefined;
  }
  const masters = entry.groups.includes('system:masters');
  const otherSystem = system.filter((group) => group !== 'system:masters');
  if (!masters && otherSystem.length > 0) {
    at.none('ae-system-group', `groups ${otherSystem.join(', ')} start with system:`);
    return undefined;
  }
  const username = standardUsername(entry, account, at);
  if (username === undefined) return undefined;
  const kubernetesGroups = entry.groups.filter((group) => !group.startsWith('system:'));
  const policies: ProposedPolicy[] = [];
  if (masters) {
    at.note('ae-masters', `${label}: system:masters becomes ${CLUSTER_ADMIN} (scope cluster)${kubernetesGroups.length > 0 ? `; ${kubernetesGroups.join(', ')} kept as kubernetesGroups (eksctl drops them)` : ''}`);
    if (otherSystem.length > 0) at.note('ae-dropped-groups', `${label}: ${otherSystem.join(', ')} dropped: STANDARD entries take no system: groups`);
    policies.push({ policyArn: accessPolicyArn(partition, CLUSTER_ADMIN), policyName: CLUSTER_ADMIN, scope: { type: 'cluster' } });
  }
  return { principalArn, type: 'STANDARD', username, kubernetesGroups, policies };
}

function compare(proposed: ProposedEntry, existing: { type: AccessEntryType; username: string; kubernetesGroups: readonly string[]; policies: readonly { policyName: string }[] }): string[] {
  const differences: string[] = [];
  const typeProblem = typeChangeProblem(existing.type, proposed.type);
  if (typeProblem) differences.push(`type ${existing.type}, aws-auth says ${proposed.type} (${typeProblem})`);
  if (proposed.username !== undefined && existing.username !== proposed.username) differences.push(`username "${existing.username}", aws-auth says "${proposed.username}"`);
  const groups = (list: readonly string[]): string => [...list].sort().join(', ') || 'none';
  if (proposed.type === 'STANDARD' && groups(existing.kubernetesGroups) !== groups(proposed.kubernetesGroups)) {
    differences.push(`groups ${groups(existing.kubernetesGroups)}, aws-auth says ${groups(proposed.kubernetesGroups)}`);
  }
  const policies = (list: readonly { policyName: string }[]): string => list.map((policy) => policy.policyName).sort().join(', ') || 'none';
  if (policies(existing.policies) !== policies(proposed.policies)) differences.push(`policies ${policies(existing.policies)}, aws-auth implies ${policies(proposed.policies)}`);
  return differences;
}

function convertSso(matcher: SsoMatcher, options: ConversionOptions, report: Finding[], targetMode: TargetMode): Conversion {
  const subject = `sso ${matcher.permissionSetName} in ${matcher.accountId}`;
  const at = new EntryConversion(matcher.where, subject, report, targetMode);
  const prefix = `awsreservedsso_${matcher.permissionSetName.toLowerCase()}_`;
  const roles = options.rolePaths ? [...options.rolePaths.roles.values()].filter((role) => role.account === matcher.accountId && role.name.toLowerCase().startsWith(prefix)) : [];
  if (roles.length === 0) {
    at.none('ae-sso-matcher', options.rolePaths ? `no AWSReservedSSO_${matcher.permissionSetName}_ role of ${matcher.accountId} in --role-paths` : 'give --role-paths to list the roles it matches');
    return { where: matcher.where, subject, outcomes: at.outcomes };
  }
  for (const role of roles) {
    const arn = iamArnWithoutPath('role', role);
    const proposed = propose({ kind: 'role', arn, username: matcher.username, groups: matcher.groups, where: matcher.where }, formatIamArn('role', role), role.partition, role.account, true, at);
    if (proposed) at.entry(proposed);
  }
  return { where: matcher.where, subject, outcomes: at.outcomes };
}

/**
 * What the catalog says of the policies of the entries the cluster has (shared/eks-2026.md §4.1,
 * §4.2): accepted by EKS, but likely mistakes. The entries' `where` is the principal, as they have
 * no line in the aws-auth file.
 */
function existingEntryFindings(existing: AccessEntries): Finding[] {
  const findings: Finding[] = [];
  const note = (rule: string, where: string, message: string): void => void findings.push(makeFinding(CONVERSION_RULES, rule, where, `${where}: ${message}`));
  for (const entry of existing.entries) {
    const where = `access entry ${entry.principalArn}`;
    const names = entry.policies.map((policy) => policy.policyName);
    if (entry.type === 'EC2' && !names.includes(AUTO_NODE_POLICY)) note('ae-auto-node-policy-missing', where, `an EC2 (Auto Mode) entry without ${AUTO_NODE_POLICY}`);
    for (const name of names) {
      const policy = accessPolicy(name);
      if (!policy) note('ae-unknown-policy', where, `${name} is not in the 2026 access-policy catalog`);
      else if (entry.type === 'EC2' && name !== AUTO_NODE_POLICY) note('ae-auto-node-extra-policy', where, `${name} on an EC2 (Auto Mode) entry, which takes ${AUTO_NODE_POLICY} only`);
      else if (policy.serviceLinkedOnly) note('ae-service-linked-policy', where, `${name} on a ${entry.type} entry of ${entry.principal.arn.name}, which is not a service-linked role`);
    }
  }
  return findings;
}

/** Converts a read aws-auth ConfigMap; refuses a mode change EKS would refuse, with its message. */
export function convertAwsAuth(config: AwsAuthConfig, options: ConversionOptions): Parsed<ConversionReport> {
  const currentMode = options.currentMode ?? (options.existing ? 'API_AND_CONFIG_MAP' : 'CONFIG_MAP');
  if (currentMode === 'CONFIG_MAP' && options.existing) return { ok: false, error: 'a cluster in authentication mode CONFIG_MAP has no access entries: the mode is API_AND_CONFIG_MAP or API' };
  const steps = modeSteps(currentMode, options.targetMode);
  if (!steps.ok) return steps;
  const findings: Finding[] = options.existing ? existingEntryFindings(options.existing) : [];
  const conversions: Conversion[] = [];
  const all = [...config.roles, ...config.users];
  // Per lowercased ARN: the entry eksctl takes (the first) and the one the authenticator uses (mappingFor: the last mapRoles one, else the last mapUsers one).
  const chosen = new Map<string, { eksctl: MappingEntry; inForce: MappingEntry }>();
  for (const entry of all) {
    const key = entry.arn.toLowerCase();
    const known = chosen.get(key);
    if (!known) chosen.set(key, { eksctl: entry, inForce: entry });
    else if (entry.kind === 'role' || known.inForce.kind === 'user') chosen.set(key, { eksctl: known.eksctl, inForce: entry });
  }
  for (const entry of all) {
    const at = new EntryConversion(entry.where, entry.arn, findings, options.targetMode);
    const { inForce, eksctl } = chosen.get(entry.arn.toLowerCase())!;
    if (inForce !== entry) {
      at.outcomes.push({ kind: 'ignored', inForce: inForce.where });
    } else {
      if (eksctl !== entry && (eksctl.username !== entry.username || eksctl.groups.join('\n') !== entry.groups.join('\n'))) {
        at.note(
          'ae-duplicate',
          `${entry.where} and ${eksctl.where} map ${entry.arn}: aws-iam-authenticator uses ${entry.where} (username "${entry.username}", groups ${entry.groups.join(', ') || 'none'}), eksctl's migration would convert ${eksctl.where} (username "${eksctl.username}", groups ${eksctl.groups.join(', ') || 'none'}); converted here: ${entry.where}`,
        );
      }
      convertMapping(entry, options, at);
    }
    conversions.push({ where: entry.where, subject: entry.arn, outcomes: at.outcomes });
  }
  for (const matcher of config.ssoMatchers) conversions.push(convertSso(matcher, options, findings, options.targetMode));
  config.accounts.forEach((account, index) => {
    const at = new EntryConversion(`mapAccounts[${index}]`, account, findings, options.targetMode);
    at.none('ae-map-accounts', 'every principal of the account is mapped (username = its ARN, no groups); access entries name principals one by one');
    conversions.push({ where: at.where, subject: account, outcomes: at.outcomes });
  });
  const unconverted = conversions.flatMap((conversion) =>
    conversion.outcomes.flatMap((outcome) => (outcome.kind === 'none' ? [{ where: conversion.where, subject: conversion.subject, reason: outcome.reason }] : [])),
  );
  const lockedOut = options.targetMode === 'API' ? unconverted : [];
  return {
    ok: true,
    value: {
      currentMode,
      targetMode: options.targetMode,
      modeSteps: steps.value,
      conversions,
      findings,
      lockedOut,
      remainOnAwsAuth: options.targetMode === 'API' ? [] : unconverted,
    },
  };
}
