import { iamArnWithoutPath, parseAccessEntryArn, parseAccessPolicyArn } from '../shared/aws/arn.js';
import { isJsonObject } from '../shared/json.js';
import type { Parsed } from '../shared/result.js';
import { parseYamlDocuments } from '../shared/yaml.js';
import { notModelledReason } from './access-policies.js';
import { ACCESS_ENTRY_TYPES, type AccessEntryType, type AccessScope, checkEntry, type Principal, scopeProblem } from './access-entry-rules.js';

/**
 * Access entries as `aws eks describe-access-entry` and `aws eks list-associated-access-policies`
 * print them: a file of such outputs (YAML documents, or JSON/YAML lists of them, as `jq -s`
 * gathers them). Anything EKS could not have printed is refused with the reason its API gives.
 */

export interface PolicyAssociation {
  readonly policyArn: string;
  /** `AmazonEKSViewPolicy`. */
  readonly policyName: string;
  readonly scope: AccessScope;
}

export interface AccessEntry {
  /** As EKS stores it: a role ARN with its path. */
  readonly principalArn: string;
  readonly principal: Principal;
  readonly type: AccessEntryType;
  /** The username template in force (EKS's default when none was set). */
  readonly username: string;
  readonly kubernetesGroups: readonly string[];
  readonly policies: readonly PolicyAssociation[];
  /** What EKS accepts but is likely a mistake (access-entry-rules.ts policyWarnings), one line each. */
  readonly warnings: readonly string[];
}

export interface AccessEntries {
  readonly entries: readonly AccessEntry[];
  /** The cluster the outputs name, when they name one. */
  readonly clusterName: string | undefined;
  readonly byKey: ReadonlyMap<string, AccessEntry>;
}

/**
 * How a caller finds its entry: a role by account and name (sessions carry no path, and IAM role
 * names are unique in an account whatever their path), a user by its ARN; case-insensitive as
 * aws-iam-authenticator's access-entry mapper compares them. EKS binds the entry to the role's
 * unique id; describe-access-entry does not print it, so the lab cannot.
 */
export function principalKey(principal: Principal, principalArn: string): string {
  return (principal.kind === 'role' ? iamArnWithoutPath('role', principal.arn) : principalArn).toLowerCase();
}

/**
 * What a reader of the entries should know about their policies, one line each: each entry's
 * warnings, and each policy the lab's RBAC stand-in does not model (its logins get the lab's policy
 * group, which nothing binds for that policy).
 */
export function policyNotes(entries: AccessEntries): string[] {
  return entries.entries.flatMap((entry) => [
    ...entry.warnings.map((warning) => `${entry.principalArn}: ${warning}`),
    ...entry.policies.flatMap((policy) => {
      const reason = notModelledReason(policy.policyName);
      return reason === undefined ? [] : [`${entry.principalArn}: ${reason}`];
    }),
  ]);
}

/** The entry for a canonical caller ARN (`arn:aws:iam::ACCOUNT:role/NAME`, or a user's ARN). */
export function accessEntryFor(canonicalArn: string, entries: AccessEntries): AccessEntry | undefined {
  return entries.byKey.get(canonicalArn.toLowerCase());
}

type Fail = { ok: false; error: string };
const fail = (error: string): Fail => ({ ok: false, error });

function unknownKey(value: Record<string, unknown>, allowed: readonly string[], path: string): string | undefined {
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  return extra === undefined ? undefined : `${path}.${extra} is not a field EKS prints (${allowed.join(', ')})`;
}

function stringList(value: unknown, path: string): string[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) return `${path} must be a list of strings`;
  return value;
}

interface RawEntry {
  readonly path: string;
  readonly clusterName: string | undefined;
  readonly clusterAccount: string | undefined;
  readonly principalArn: string;
  readonly type: AccessEntryType;
  readonly username: string | undefined;
  readonly kubernetesGroups: readonly string[];
}

interface RawAssociations {
  readonly path: string;
  readonly clusterName: string | undefined;
  readonly principalArn: string;
  readonly policies: readonly PolicyAssociation[];
}

const ENTRY_FIELDS = ['clusterName', 'principalArn', 'kubernetesGroups', 'accessEntryArn', 'createdAt', 'modifiedAt', 'tags', 'username', 'type'];

function readEntry(value: Record<string, unknown>, path: string): RawEntry | Fail {
  const unknown = unknownKey(value, ENTRY_FIELDS, path);
  if (unknown) return fail(unknown);
  const { principalArn, clusterName, username, type = 'STANDARD', accessEntryArn } = value;
  if (typeof principalArn !== 'string' || principalArn === '') return fail(`${path}.principalArn must be a non-empty string`);
  if (clusterName !== undefined && typeof clusterName !== 'string') return fail(`${path}.clusterName must be a string`);
  if (username !== undefined && typeof username !== 'string') return fail(`${path}.username must be a string`);
  if (typeof type !== 'string' || !(ACCESS_ENTRY_TYPES as readonly string[]).includes(type)) {
    return fail(`${path} (${principalArn}): InvalidParameterException: type ${JSON.stringify(type)} is not an access entry type (${ACCESS_ENTRY_TYPES.join(', ')})`);
  }
  const groups = stringList(value.kubernetesGroups, `${path}.kubernetesGroups`);
  if (typeof groups === 'string') return fail(groups);
  let clusterAccount: string | undefined;
  if (accessEntryArn !== undefined) {
    const parsed = typeof accessEntryArn === 'string' ? parseAccessEntryArn(accessEntryArn) : undefined;
    if (!parsed) return fail(`${path}.accessEntryArn is not an access entry ARN (arn:aws:eks:REGION:ACCOUNT:access-entry/CLUSTER/…)`);
    if (clusterName !== undefined && parsed.clusterName !== clusterName) return fail(`${path}.accessEntryArn names cluster ${parsed.clusterName}, clusterName says ${clusterName}`);
    clusterAccount = parsed.account;
  }
  return { path, clusterName: clusterName ?? undefined, clusterAccount, principalArn, type: type as AccessEntryType, username, kubernetesGroups: groups };
}

const ASSOCIATION_FIELDS = ['policyArn', 'accessScope', 'associatedAt', 'modifiedAt'];

function readAssociations(value: Record<string, unknown>, path: string): RawAssociations | Fail {
  const unknown = unknownKey(value, ['clusterName', 'principalArn', 'associatedAccessPolicies', 'nextToken'], path);
  if (unknown) return fail(unknown);
  const { principalArn, clusterName, nextToken, associatedAccessPolicies } = value;
  if (typeof principalArn !== 'string' || principalArn === '') return fail(`${path}.principalArn must be a non-empty string`);
  if (clusterName !== undefined && typeof clusterName !== 'string') return fail(`${path}.clusterName must be a string`);
  if (nextToken !== undefined && nextToken !== null) return fail(`${path} is one page of a longer listing (nextToken): let the AWS CLI paginate`);
  if (!Array.isArray(associatedAccessPolicies)) return fail(`${path}.associatedAccessPolicies must be a list`);
  const policies: PolicyAssociation[] = [];
  for (const [index, item] of associatedAccessPolicies.entries()) {
    const at = `${path}.associatedAccessPolicies[${index}]`;
    if (!isJsonObject(item)) return fail(`${at} must be a mapping`);
    const extra = unknownKey(item, ASSOCIATION_FIELDS, at);
    if (extra) return fail(extra);
    const policy = typeof item.policyArn === 'string' ? parseAccessPolicyArn(item.policyArn) : undefined;
    if (!policy) return fail(`${at} (${principalArn}): InvalidParameterException: policyArn ${JSON.stringify(item.policyArn)} is not an access policy ARN (arn:aws:eks::aws:cluster-access-policy/NAME)`);
    const scope = item.accessScope;
    if (!isJsonObject(scope)) return fail(`${at}.accessScope must be a mapping with type (and namespaces)`);
    const scopeExtra = unknownKey(scope, ['type', 'namespaces'], `${at}.accessScope`);
    if (scopeExtra) return fail(scopeExtra);
    const namespaces = stringList(scope.namespaces, `${at}.accessScope.namespaces`);
    if (typeof namespaces === 'string') return fail(namespaces);
    const problem = scopeProblem(String(scope.type), namespaces);
    if (problem) return fail(`${at} (${principalArn}): ${problem}`);
    if (policies.some((existing) => existing.policyArn === item.policyArn)) {
      return fail(`${at} (${principalArn}): ${policy.name} is associated twice; EKS keeps one association per policy and entry (associating again changes its scope)`);
    }
    policies.push({ policyArn: item.policyArn as string, policyName: policy.name, scope: scope.type === 'cluster' ? { type: 'cluster' } : { type: 'namespace', namespaces } });
  }
  return { path, clusterName: clusterName ?? undefined, principalArn, policies };
}

function items(documents: unknown[]): { value: unknown; path: string }[] {
  const found: { value: unknown; path: string }[] = [];
  for (const [index, document] of documents.entries()) {
    const prefix = documents.length > 1 ? `document ${index + 1} ` : '';
    if (Array.isArray(document)) document.forEach((value, position) => found.push({ value, path: `${prefix}[${position}]` }));
    else if (document !== null) found.push({ value: document, path: prefix === '' ? 'the file' : prefix.trim() });
  }
  return found;
}

export interface ReadAccessEntriesOptions {
  /** Names the file in messages. */
  readonly source: string;
  /** The cluster the entries must belong to (the authenticator's --cluster-id). */
  readonly clusterName?: string;
}

/** Reads the file; the first problem refuses all of it, as one line naming where. */
export function readAccessEntries(text: string, options: ReadAccessEntriesOptions): Parsed<AccessEntries> {
  const documents = parseYamlDocuments(text, options.source);
  if (!documents.ok) return documents;
  const problem = (error: string): Fail => fail(`${options.source}: ${error}`);
  const rawEntries: RawEntry[] = [];
  const rawAssociations: RawAssociations[] = [];
  for (const { value, path } of items(documents.value)) {
    if (isJsonObject(value) && 'accessEntry' in value) {
      const extra = unknownKey(value, ['accessEntry'], path);
      if (extra) return problem(extra);
      if (!isJsonObject(value.accessEntry)) return problem(`${path}.accessEntry must be a mapping`);
      const entry = readEntry(value.accessEntry, `${path}.accessEntry`);
      if ('ok' in entry) return problem(entry.error);
      rawEntries.push(entry);
    } else if (isJsonObject(value) && 'associatedAccessPolicies' in value) {
      const associations = readAssociations(value, path);
      if ('ok' in associations) return problem(associations.error);
      rawAssociations.push(associations);
    } else {
      return problem(`${path} is neither describe-access-entry output ({accessEntry: …}) nor list-associated-access-policies output ({principalArn, associatedAccessPolicies})`);
    }
  }
  const named = [...rawEntries, ...rawAssociations].find((item) => item.clusterName !== undefined)?.clusterName ?? options.clusterName;
  for (const item of [...rawEntries, ...rawAssociations]) {
    const cluster = item.clusterName ?? named;
    if (cluster !== named || (options.clusterName !== undefined && cluster !== options.clusterName)) {
      return problem(`${item.path} (${item.principalArn}) belongs to cluster ${cluster}, not ${options.clusterName ?? named}`);
    }
  }
  const accounts = new Set(rawEntries.flatMap((entry) => (entry.clusterAccount ? [entry.clusterAccount] : [])));
  if (accounts.size > 1) return problem(`the access entry ARNs name more than one cluster account (${[...accounts].join(', ')})`);
  const clusterAccount = [...accounts][0];

  const policiesOf = new Map<string, RawAssociations>();
  for (const associations of rawAssociations) {
    if (policiesOf.has(associations.principalArn)) return problem(`${associations.path}: the associated policies of ${associations.principalArn} are listed twice`);
    policiesOf.set(associations.principalArn, associations);
  }
  const entries: AccessEntry[] = [];
  const byKey = new Map<string, AccessEntry>();
  for (const raw of rawEntries) {
    const policies = policiesOf.get(raw.principalArn)?.policies ?? [];
    const checked = checkEntry({ principalArn: raw.principalArn, type: raw.type, username: raw.username, kubernetesGroups: raw.kubernetesGroups, policies: policies.map((policy) => policy.policyName) });
    if (!checked.ok) return problem(`${raw.path} (${raw.principalArn}): ${checked.error}`);
    const { principal, username, kubernetesGroups, warnings } = checked.value;
    if (raw.type !== 'STANDARD' && clusterAccount !== undefined && principal.arn.account !== clusterAccount) {
      return problem(`${raw.path} (${raw.principalArn}): InvalidParameterException: access entries of type ${raw.type} need a role in the cluster's account ${clusterAccount}`);
    }
    const key = principalKey(principal, raw.principalArn);
    const existing = byKey.get(key);
    if (existing) {
      return problem(
        existing.principalArn === raw.principalArn
          ? `${raw.path} (${raw.principalArn}): ResourceInUseException: The specified access entry resource is already in use on this cluster.`
          : `${raw.path} (${raw.principalArn}): ${existing.principalArn} names the same ${principal.kind} (IAM names are unique in an account, whatever the path)`,
      );
    }
    const entry: AccessEntry = { principalArn: raw.principalArn, principal, type: raw.type, username, kubernetesGroups, policies, warnings };
    entries.push(entry);
    byKey.set(key, entry);
  }
  const listed = new Set(entries.map((entry) => entry.principalArn));
  for (const associations of rawAssociations) {
    if (!listed.has(associations.principalArn)) {
      return problem(`${associations.path}: ResourceNotFoundException: no access entry for ${associations.principalArn} (policies are associated with an entry)`);
    }
  }
  return { ok: true, value: { entries, clusterName: named, byKey } };
}
