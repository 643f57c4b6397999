import { isJsonObject } from '../shared/json.js';
import { errorMessage } from '../shared/log.js';
import { parseYaml } from '../shared/yaml.js';
import { isAccountId, parseRoleArn, parseUserArn } from '../shared/aws/arn.js';
import { type CallerIdentity, expandTemplate } from './templates.js';

/** One `mapRoles` or `mapUsers` entry as written. */
export interface MappingEntry {
  readonly kind: 'role' | 'user';
  /** `rolearn` or `userarn`. */
  readonly arn: string;
  readonly username: string;
  readonly groups: readonly string[];
  /** `mapRoles[2]`, for messages. */
  readonly where: string;
}

/** aws-iam-authenticator's `sso:` matcher (every AWSReservedSSO_<set>_<suffix> role of an account); this authenticator does not apply it. */
export interface SsoMatcher {
  readonly permissionSetName: string;
  readonly accountId: string;
  readonly username: string;
  readonly groups: readonly string[];
  readonly where: string;
}

export interface AwsAuthConfig {
  readonly roles: readonly MappingEntry[];
  readonly users: readonly MappingEntry[];
  readonly accounts: readonly string[];
  /** Read so the access-entry conversion can report them; never used to log in. */
  readonly ssoMatchers: readonly SsoMatcher[];
}

/** A problem found while reading the ConfigMap: `where` names the entry, `rule` the kind of problem. */
export interface AwsAuthProblem {
  readonly rule: 'invalid-yaml' | 'not-a-configmap' | 'invalid-entry' | 'invalid-account';
  readonly where: string;
  readonly message: string;
}

export interface ReadAwsAuth {
  readonly config: AwsAuthConfig;
  readonly problems: AwsAuthProblem[];
}

function readList(data: Record<string, unknown>, key: string, problems: AwsAuthProblem[]): unknown[] {
  const raw = data[key];
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw !== 'string') {
    problems.push({ rule: 'invalid-entry', where: key, message: `data.${key} must be a string holding a YAML list` });
    return [];
  }
  const parsed = parseYaml(raw, `data.${key}`);
  if (!parsed.ok) {
    problems.push({ rule: 'invalid-yaml', where: key, message: parsed.error });
    return [];
  }
  const value = parsed.value;
  if (value === null) return [];
  if (!Array.isArray(value)) {
    problems.push({ rule: 'invalid-yaml', where: key, message: `data.${key} must be a YAML list` });
    return [];
  }
  return value;
}

function readSso(item: Record<string, unknown>, where: string, problems: AwsAuthProblem[]): SsoMatcher | undefined {
  const sso = item.sso;
  const groups = item.groups ?? [];
  const message = `${where} uses an sso matcher, which this authenticator does not apply: map each AWSReservedSSO_ role by its rolearn`;
  problems.push({ rule: 'invalid-entry', where, message });
  if (!isJsonObject(sso) || typeof sso.permissionSetName !== 'string' || typeof sso.accountID !== 'string' || !isAccountId(sso.accountID)) return undefined;
  if (typeof item.username !== 'string' || !Array.isArray(groups) || !groups.every((group) => typeof group === 'string')) return undefined;
  return { permissionSetName: sso.permissionSetName, accountId: sso.accountID, username: item.username, groups, where };
}

function readEntries(data: Record<string, unknown>, key: 'mapRoles' | 'mapUsers', problems: AwsAuthProblem[], ssoMatchers: SsoMatcher[]): MappingEntry[] {
  const arnKey = key === 'mapRoles' ? 'rolearn' : 'userarn';
  const entries: MappingEntry[] = [];
  for (const [index, item] of readList(data, key, problems).entries()) {
    const where = `${key}[${index}]`;
    if (!isJsonObject(item)) {
      problems.push({ rule: 'invalid-entry', where, message: `${where} must be a mapping with ${arnKey}, username and groups` });
      continue;
    }
    if (key === 'mapRoles' && item.rolearn === undefined && item.sso !== undefined) {
      const matcher = readSso(item, where, problems);
      if (matcher) ssoMatchers.push(matcher);
      continue;
    }
    const arn = item[arnKey];
    const username = item.username;
    const groups = item.groups ?? [];
    if (typeof arn !== 'string' || arn === '') {
      problems.push({ rule: 'invalid-entry', where, message: `${where} has no ${arnKey}` });
      continue;
    }
    if (typeof username !== 'string' || username === '') {
      problems.push({ rule: 'invalid-entry', where, message: `${where} (${arn}) has no username` });
      continue;
    }
    if (!Array.isArray(groups) || !groups.every((group) => typeof group === 'string')) {
      problems.push({ rule: 'invalid-entry', where, message: `${where} (${arn}): groups must be a list of strings` });
      continue;
    }
    entries.push({ kind: key === 'mapRoles' ? 'role' : 'user', arn, username, groups, where });
  }
  return entries;
}

/**
 * Reads an `aws-auth` ConfigMap (YAML text). Entries that cannot be read are reported and left
 * out; the rest is usable.
 */
export function readAwsAuth(text: string): ReadAwsAuth {
  const problems: AwsAuthProblem[] = [];
  const empty: AwsAuthConfig = { roles: [], users: [], accounts: [], ssoMatchers: [] };
  const parsed = parseYaml(text);
  if (!parsed.ok) {
    problems.push({ rule: 'invalid-yaml', where: 'file', message: parsed.error });
    return { config: empty, problems };
  }
  const value = parsed.value;
  if (!isJsonObject(value) || value.kind !== 'ConfigMap' || !isJsonObject(value.data)) {
    problems.push({ rule: 'not-a-configmap', where: 'file', message: 'expected a ConfigMap with data (kube-system/aws-auth)' });
    return { config: empty, problems };
  }
  const ssoMatchers: SsoMatcher[] = [];
  const roles = readEntries(value.data, 'mapRoles', problems, ssoMatchers);
  const users = readEntries(value.data, 'mapUsers', problems, ssoMatchers);
  const accounts: string[] = [];
  for (const [index, account] of readList(value.data, 'mapAccounts', problems).entries()) {
    const id = typeof account === 'number' ? String(account) : account;
    if (typeof id !== 'string' || !isAccountId(id)) {
      problems.push({ rule: 'invalid-account', where: `mapAccounts[${index}]`, message: `mapAccounts[${index}] ${JSON.stringify(account)} is not a 12-digit account id` });
      continue;
    }
    accounts.push(id);
  }
  return { config: { roles, users, accounts, ssoMatchers }, problems };
}

export type MappedUser =
  | { readonly ok: true; readonly username: string; readonly groups: string[]; readonly entry: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The entry that maps a canonical ARN, as aws-iam-authenticator finds it: `mapRoles` first, then
 * `mapUsers`, each keyed by the lowercased ARN, so of two entries for one ARN the **last** is in
 * force (its `configmap.go` stores each list in a map, a later entry replacing an earlier one).
 */
export function mappingFor(canonicalArn: string, config: AwsAuthConfig): MappingEntry | undefined {
  const wanted = canonicalArn.toLowerCase();
  const matches = (candidate: MappingEntry): boolean => candidate.arn.toLowerCase() === wanted;
  return config.roles.findLast(matches) ?? config.users.findLast(matches);
}

/**
 * Why an entry's ARN makes it unusable, or undefined: as aws-iam-authenticator v0.7.18 does, a
 * mapping whose ARN is not a well-formed IAM role or user ARN is refused, not skipped, when it is
 * the one a caller matches (its case-insensitive comparison lets `ARN:AWS:IAM::…:ROLE/x` match
 * `arn:aws:iam::…:role/x`): the login fails, rather than go on to another entry or mapAccounts.
 */
export function malformedArn(entry: MappingEntry): string | undefined {
  if (parseRoleArn(entry.arn) ?? parseUserArn(entry.arn)) return undefined;
  return `${entry.where}: ${JSON.stringify(entry.arn)} is not an IAM role or user ARN: the mapping is refused`;
}

/** Expands an entry's username and groups for one caller. */
export function expandMapping(entry: { readonly username: string; readonly groups: readonly string[] }, identity: CallerIdentity): { username: string; groups: string[] } {
  return { username: expandTemplate(entry.username, identity), groups: entry.groups.map((group) => expandTemplate(group, identity)) };
}

/**
 * Maps a caller to a Kubernetes user through aws-auth: `mapRoles` by canonical role ARN, `mapUsers`
 * by user ARN (case-insensitive, the last of duplicate entries wins; one with a malformed ARN
 * refuses the login), then `mapAccounts` (username = the canonical ARN, no groups).
 */
export function mapIdentity(identity: CallerIdentity, config: AwsAuthConfig): MappedUser {
  const entry = mappingFor(identity.canonicalArn, config);
  if (entry) {
    const malformed = malformedArn(entry);
    if (malformed) return { ok: false, reason: malformed };
    try {
      return { ok: true, ...expandMapping(entry, identity), entry: entry.where };
    } catch (error) {
      return { ok: false, reason: `${entry.where}: ${errorMessage(error)}` };
    }
  }
  if (config.accounts.includes(identity.account)) return { ok: true, username: identity.canonicalArn, groups: [], entry: 'mapAccounts' };
  return { ok: false, reason: `${identity.canonicalArn} is not mapped in aws-auth (mapRoles, mapUsers, mapAccounts)` };
}
