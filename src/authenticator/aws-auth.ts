import { isJsonObject } from '../shared/json.js';
import { errorMessage } from '../shared/log.js';
import { parseYaml } from '../shared/yaml.js';
import { type CanonicalIdentity, isAccountId } from '../shared/aws/arn.js';

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

export interface AwsAuthConfig {
  readonly roles: readonly MappingEntry[];
  readonly users: readonly MappingEntry[];
  readonly accounts: readonly string[];
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

function readEntries(data: Record<string, unknown>, key: 'mapRoles' | 'mapUsers', problems: AwsAuthProblem[]): MappingEntry[] {
  const arnKey = key === 'mapRoles' ? 'rolearn' : 'userarn';
  const entries: MappingEntry[] = [];
  for (const [index, item] of readList(data, key, problems).entries()) {
    const where = `${key}[${index}]`;
    if (!isJsonObject(item)) {
      problems.push({ rule: 'invalid-entry', where, message: `${where} must be a mapping with ${arnKey}, username and groups` });
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
  const empty: AwsAuthConfig = { roles: [], users: [], accounts: [] };
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
  const roles = readEntries(value.data, 'mapRoles', problems);
  const users = readEntries(value.data, 'mapUsers', problems);
  const accounts: string[] = [];
  for (const [index, account] of readList(value.data, 'mapAccounts', problems).entries()) {
    const id = typeof account === 'number' ? String(account) : account;
    if (typeof id !== 'string' || !isAccountId(id)) {
      problems.push({ rule: 'invalid-account', where: `mapAccounts[${index}]`, message: `mapAccounts[${index}] ${JSON.stringify(account)} is not a 12-digit account id` });
      continue;
    }
    accounts.push(id);
  }
  return { config: { roles, users, accounts }, problems };
}

/** Everything the templates of an entry can draw on. */
export interface CallerIdentity extends CanonicalIdentity {
  readonly userId: string;
  readonly accessKeyId: string;
}

export const TEMPLATE_VARIABLES = ['AccountID', 'SessionName', 'SessionNameRaw', 'EC2PrivateDNSName', 'AccessKeyID'] as const;

interface Placeholder {
  readonly start: number;
  readonly end: number;
  /** The text between the braces, without surrounding white space. */
  readonly name: string;
}

/**
 * The `{{Name}}` placeholders of a string, left to right. A placeholder holds no `}`; one scan with
 * indexOf, so no input makes it slower than linear (a backtracking regex took seconds per login on
 * an unclosed `{{` followed by thousands of spaces).
 */
function placeholders(text: string): Placeholder[] {
  const found: Placeholder[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('{{', from);
    if (open < 0) break;
    const brace = text.indexOf('}', open + 2);
    if (brace < 0) break;
    if (text.charCodeAt(brace + 1) === 0x7d) {
      found.push({ start: open, end: brace + 2, name: text.slice(open + 2, brace).trim() });
      from = brace + 2;
    } else {
      // No placeholder can start before this lone `}` and end after it.
      from = brace + 1;
    }
  }
  return found;
}

/** The `{{Name}}` variables a string uses. */
export function templateVariables(text: string): string[] {
  return placeholders(text).map((placeholder) => placeholder.name);
}

function value(name: string, identity: CallerIdentity): string {
  switch (name) {
    case 'AccountID':
      return identity.account;
    case 'AccessKeyID':
      return identity.accessKeyId;
    case 'SessionNameRaw':
    case 'SessionName':
    case 'EC2PrivateDNSName': {
      if (identity.sessionName === undefined) throw new Error(`{{${name}}} needs a role session, and ${identity.arn} is not one`);
      // In the lab there is no EC2 API to ask: a node role's session name stands for its private DNS name.
      return name === 'SessionName' ? identity.sessionName.replaceAll('@', '-') : identity.sessionName;
    }
    default:
      throw new Error(`unknown template variable {{${name}}}`);
  }
}

function expand(text: string, identity: CallerIdentity): string {
  let out = '';
  let from = 0;
  for (const placeholder of placeholders(text)) {
    out += text.slice(from, placeholder.start) + value(placeholder.name, identity);
    from = placeholder.end;
  }
  return out + text.slice(from);
}

export type MappedUser =
  | { readonly ok: true; readonly username: string; readonly groups: string[]; readonly entry: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Maps a caller to a Kubernetes user: `mapRoles` by canonical role ARN, `mapUsers` by user ARN
 * (both case-insensitive, first match wins), then `mapAccounts` (username = the canonical ARN).
 */
export function mapIdentity(identity: CallerIdentity, config: AwsAuthConfig): MappedUser {
  const wanted = identity.canonicalArn.toLowerCase();
  const entry = [...config.roles, ...config.users].find((candidate) => candidate.arn.toLowerCase() === wanted);
  if (entry) {
    try {
      return { ok: true, username: expand(entry.username, identity), groups: entry.groups.map((group) => expand(group, identity)), entry: entry.where };
    } catch (error) {
      return { ok: false, reason: `${entry.where}: ${errorMessage(error)}` };
    }
  }
  if (config.accounts.includes(identity.account)) return { ok: true, username: identity.canonicalArn, groups: [], entry: 'mapAccounts' };
  return { ok: false, reason: `${identity.canonicalArn} is not mapped in aws-auth (mapRoles, mapUsers, mapAccounts)` };
}
