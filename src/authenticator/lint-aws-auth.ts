import { isAssumedRoleArn, parseRoleArn, parseUserArn } from '../shared/aws/arn.js';
import { type AwsAuthConfig, type MappingEntry, readAwsAuth, type ReadAwsAuth } from './aws-auth.js';
import { hasUnprintable } from '../shared/text.js';
import { type Finding, makeFinding, type RuleSet } from './findings.js';
import { DEFAULT_RESERVED_PREFIXES, reservedPrefixOf } from './reserved-prefixes.js';
import { placeholders, TEMPLATE_VARIABLES, templateVariables } from './templates.js';

/** The lint's rules: the lint-aws-auth table of docs/cluster-login.md. */
export const LINT_RULES: RuleSet = {
  'invalid-yaml': { severity: 'error', summary: 'mapRoles, mapUsers or mapAccounts is not a YAML list', explanation: 'The authenticator cannot read the ConfigMap: nobody mapped in it can log in.' },
  'not-a-configmap': { severity: 'error', summary: 'the file is not a ConfigMap with data', explanation: 'The authenticator reads the data of the kube-system/aws-auth ConfigMap.' },
  'invalid-entry': {
    severity: 'error',
    summary: 'an entry without rolearn/userarn or username, with non-string groups, or an sso matcher',
    explanation: 'An entry needs rolearn (or userarn), a username and optionally a list of groups; this one is skipped.',
  },
  'invalid-account': { severity: 'error', summary: 'a mapAccounts entry that is not a 12-digit account id', explanation: 'mapAccounts lists 12-digit AWS account ids; this entry never matches.' },
  'invalid-arn': {
    severity: 'error',
    summary: 'a rolearn that is not a role ARN, a userarn that is not a user ARN',
    explanation:
      'The ARN is not an IAM role (mapRoles) or user (mapUsers) ARN, so no caller matches it as written; one that is no IAM ARN at all but matches a caller when compared case-insensitively (ARN:AWS:IAM::…:ROLE/x) makes the authenticator refuse that caller, as aws-iam-authenticator v0.7.18 refuses a malformed mapping rather than skip it.',
  },
  'assumed-role-arn': {
    severity: 'error',
    summary: 'an sts assumed-role session ARN where the role ARN belongs',
    explanation: 'Callers are matched by the role ARN their session was assumed from (arn:aws:iam::ACCOUNT:role/NAME), never by an sts assumed-role session ARN.',
  },
  'role-arn-path': {
    severity: 'error',
    summary: 'a rolearn with a path: sessions carry no path, so it never matches',
    explanation: 'Assumed-role sessions do not carry the role path, so a rolearn with a path never matches: write arn:aws:iam::ACCOUNT:role/NAME.',
  },
  'duplicate-arn': {
    severity: 'error',
    summary: 'the same ARN twice (case-insensitive): only one entry is in force',
    explanation:
      "aws-iam-authenticator keys mapRoles and mapUsers by the lowercased ARN and searches mapRoles first, so the last mapRoles entry for an ARN is in force and the others silently do nothing; eksctl utils migrate-to-access-entry keeps the first instead, so migrating would change this principal's username and groups.",
  },
  'unknown-template': {
    severity: 'error',
    summary: 'a {{Variable}} the authenticator does not expand',
    explanation: `Only ${TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join(', ')} are expanded; authentication fails for this entry.`,
  },
  'node-role-username': {
    severity: 'error',
    summary: 'a role in system:nodes whose username is not system:node:{{EC2PrivateDNSName}} (Fargate: system:node:{{SessionName}})',
    explanation:
      'The Node authorizer only authorizes kubelets named system:node:<node name>: with any other username the kubelet cannot register or update its node and nodes go NotReady. Use system:node:{{EC2PrivateDNSName}} (Fargate: system:node:{{SessionName}}).',
  },
  'node-role-masters': {
    severity: 'error',
    summary: 'a node role in system:masters',
    explanation:
      'It seems to work, but kubelets then get certificates whose names do not match their node, so kubectl logs and kubectl exec fail; nodes need only system:bootstrappers and system:nodes.',
  },
  'unsafe-name': {
    severity: 'error',
    summary: 'a username or group that begins with - or holds control characters',
    explanation:
      'A name starting with - is read as an option by command-line tools it is handed to (aws eks create-access-entry took a group --principal-arn=ARN as the principal), and control characters (line breaks, escapes, bidirectional overrides) make logs, RBAC listings and reports show something else than the name. No Kubernetes user or group needs either: rename it.',
  },
  'caller-chosen-username': {
    severity: 'error',
    summary: 'a username whose start the caller chooses: {{SessionName}}, {{SessionNameRaw}} or {{EC2PrivateDNSName}} with no ":" before it',
    explanation:
      'Whoever assumes the role picks its session name, so {{SessionName}} alone logs them in as any user whose name has no ":" (kubernetes-admin, a colleague) with that user\'s RBAC bindings. Put a fixed prefix ending in ":" before the template (team:{{SessionName}}), as EKS requires of access-entry usernames. {{EC2PrivateDNSName}} is chosen the same way by anyone who can assume the node role directly (aws-iam-authenticator looks the session name up as an instance id; its README says so since 2026-06), even in system:node:{{EC2PrivateDNSName}}: let only ec2.amazonaws.com assume node roles.',
  },
  'reserved-username': {
    severity: 'error',
    summary: 'a username beginning with a prefix the authenticator reserves for aws-auth (eks:, aws:, amazon:, iam:)',
    explanation:
      'The authenticator refuses a login whose username, its templates rendered, begins with a reserved prefix of the backend that mapped it (aws-iam-authenticator v0.7.18 reservedPrefixConfig; by default eks:, aws:, amazon: and iam: for aws-auth, --reserved-username-prefixes to change): these names belong to AWS and EKS, and nobody can log in through this mapping.',
  },
  'user-masters': {
    severity: 'warning',
    summary: 'a user in system:masters',
    explanation: 'system:masters bypasses RBAC and cannot be revoked by any RoleBinding; bind a ClusterRole to a group instead.',
  },
};

function finding(rule: string, where: string, message: string): Finding {
  return makeFinding(LINT_RULES, rule, where, message);
}

const NODE_USERNAMES = ['system:node:{{EC2PrivateDNSName}}', 'system:node:{{SessionName}}'];

function isNodeEntry(entry: MappingEntry): boolean {
  return entry.groups.includes('system:nodes') || entry.groups.includes('system:bootstrappers') || entry.username.startsWith('system:node:');
}

/** A username or group that starts with `-` or holds a character that forges text (shared/text.ts hasUnprintable). */
function unsafeNames(entry: { readonly username: string; readonly groups: readonly string[]; readonly where: string }, label: string): Finding[] {
  const named = [{ what: 'username', name: entry.username }, ...entry.groups.map((name) => ({ what: 'group', name }))];
  return named.flatMap(({ what, name }) => {
    const problems = [...(name.startsWith('-') ? ['begins with -'] : []), ...(hasUnprintable(name) ? ['holds control characters'] : [])];
    return problems.length === 0 ? [] : [finding('unsafe-name', entry.where, `${label}: ${what} ${JSON.stringify(name)} ${problems.join(' and ')}`)];
  });
}

/** Templates whose value whoever assumes the role picks (the node's for anyone who can assume a node role directly). */
const CALLER_CHOSEN = new Set(['SessionName', 'SessionNameRaw', 'EC2PrivateDNSName']);

/** A username whose start the caller chooses (no `:` before a caller-chosen template), or whose fixed start is reserved. */
function usernameFindings(entry: { readonly username: string; readonly where: string }, label: string): Finding[] {
  const { username } = entry;
  const placeholder = placeholders(username).find((candidate) => CALLER_CHOSEN.has(candidate.name));
  const findings: Finding[] = [];
  if (placeholder && !username.slice(0, placeholder.start).includes(':')) {
    const fixed = username.slice(0, placeholder.start);
    const who = placeholder.name === 'EC2PrivateDNSName' ? 'whoever can assume the role directly' : 'whoever assumes the role';
    const what = fixed !== '' ? `everything after ${JSON.stringify(fixed)}` : placeholder.end === username.length ? 'the whole username' : 'how the username begins';
    findings.push(finding('caller-chosen-username', entry.where, `${label}: username ${JSON.stringify(username)}: ${who} chooses ${what}`));
  }
  const fixedStart = username.slice(0, placeholders(username)[0]?.start ?? username.length);
  const prefix = reservedPrefixOf(fixedStart, DEFAULT_RESERVED_PREFIXES['aws-auth']);
  if (prefix !== undefined) findings.push(finding('reserved-username', entry.where, `${label}: username ${JSON.stringify(username)} begins with ${prefix}`));
  return findings;
}

function lintEntry(entry: MappingEntry): Finding[] {
  const findings: Finding[] = [];
  const label = `${entry.where} (${entry.arn})`;
  if (entry.kind === 'role') {
    if (isAssumedRoleArn(entry.arn)) {
      findings.push(finding('assumed-role-arn', entry.where, `${label} is an assumed-role session ARN, not a role ARN`));
    } else {
      const role = parseRoleArn(entry.arn);
      if (!role) findings.push(finding('invalid-arn', entry.where, `${label} is not an IAM role ARN`));
      else if (role.path !== '/') findings.push(finding('role-arn-path', entry.where, `${label} has the path ${role.path}`));
    }
  } else if (!parseUserArn(entry.arn)) {
    findings.push(finding('invalid-arn', entry.where, `${label} is not an IAM user ARN`));
  }
  for (const text of [entry.username, ...entry.groups]) {
    for (const variable of templateVariables(text)) {
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(variable)) {
        findings.push(finding('unknown-template', entry.where, `${label} uses {{${variable}}} in "${text}"`));
      }
    }
  }
  findings.push(...unsafeNames(entry, label), ...usernameFindings(entry, label));
  if (entry.kind === 'role' && isNodeEntry(entry)) {
    if (entry.groups.includes('system:nodes') && !NODE_USERNAMES.includes(entry.username)) {
      findings.push(finding('node-role-username', entry.where, `${label} is in system:nodes with username "${entry.username}"`));
    }
    if (entry.groups.includes('system:masters')) {
      findings.push(finding('node-role-masters', entry.where, `${label} maps a node role to system:masters`));
    }
  }
  if (entry.kind === 'user' && entry.groups.includes('system:masters')) {
    findings.push(finding('user-masters', entry.where, `${label} maps a user to system:masters`));
  }
  return findings;
}

/**
 * Entries the authenticator never uses because another entry maps the same ARN (see mappingFor in aws-auth.ts): one
 * finding per ignored entry, naming the one in force.
 */
function duplicateFindings(config: AwsAuthConfig): Finding[] {
  const groups = new Map<string, MappingEntry[]>();
  for (const entry of [...config.roles, ...config.users]) {
    const key = entry.arn.toLowerCase();
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  const findings: Finding[] = [];
  for (const entries of groups.values()) {
    if (entries.length < 2) continue;
    // As mappingFor decides: the last mapRoles entry, else the last mapUsers one.
    const inForce = entries.findLast((entry) => entry.kind === 'role') ?? entries.at(-1)!;
    const users = entries.filter((entry) => entry.kind === 'user');
    const caseOnly = inForce.kind === 'user' && new Set(users.map((entry) => entry.arn)).size > 1;
    for (const entry of entries) {
      if (entry === inForce) continue;
      const note = caseOnly ? ' (aws-iam-authenticator keys mapUsers by the exact ARN and picks between entries that differ only in case at random)' : '';
      findings.push(finding('duplicate-arn', entry.where, `${entry.where} (${entry.arn}) is ignored: ${inForce.where} maps the same ARN and is the one in force${note}`));
    }
  }
  return findings;
}

/** Every mistake found in an aws-auth ConfigMap: problems reading it, then each entry's, then duplicates. */
export function lintAwsAuth(text: string): Finding[] {
  return lintReadAwsAuth(readAwsAuth(text));
}

/** The same, for a ConfigMap already read. */
export function lintReadAwsAuth({ config, problems }: ReadAwsAuth): Finding[] {
  const findings = problems.map((problem) => finding(problem.rule, problem.where, problem.message));
  for (const entry of [...config.roles, ...config.users]) findings.push(...lintEntry(entry));
  for (const matcher of config.ssoMatchers) {
    const label = `${matcher.where} (sso ${matcher.permissionSetName} in ${matcher.accountId})`;
    findings.push(...unsafeNames(matcher, label), ...usernameFindings(matcher, label));
  }
  findings.push(...duplicateFindings(config));
  return findings;
}

