/**
 * The differential corpus of test/e2e/authenticator-reference.e2e.ts: who logs in (principals as
 * GetCallerIdentity reports them), with which tokens, against which aws-auth and access entries
 * (scenarios, one per authentication mode, plus one the reference cannot start with).
 */

export const CLUSTER_ID = 'reference-cluster';
export const ACCOUNT = '111122223333';
/** Mapped only through `mapAccounts`. */
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'us-east-1';
/** The prefixes both servers reserve for each backend: ours by default, the reference configured so (server.reservedPrefixConfig). */
export const RESERVED_PREFIXES = ['eks:', 'aws:', 'amazon:', 'iam:'] as const;
/**
 * Every character class STS allows in a role session name (`[\w+=,.@-]`, 2 to 64 characters,
 * AssumeRole's API reference): `@` is the one `{{SessionName}}` rewrites.
 */
export const EVERY_SESSION_CHARACTER = 'Az09_+=,.@-x';

export interface Principal {
  /** Names the principal in case ids. */
  readonly name: string;
  /** What GetCallerIdentity answers. */
  readonly arn: string;
  readonly userId: string;
  readonly account: string;
}

function user(name: string, path: string, account = ACCOUNT, partition = 'aws'): Principal {
  return { name, arn: `arn:${partition}:iam::${account}:user/${path}${name}`, userId: `AIDA${name.toUpperCase().replace(/[^A-Z0-9]/g, 'X').padEnd(17, 'U').slice(0, 17)}`, account };
}

/** A role session: STS's ARN carries no path, the user id is ROLEID:SESSION. */
function session(name: string, role: string, sessionName: string, account = ACCOUNT, partition = 'aws'): Principal {
  const roleId = `AROA${role.toUpperCase().replace(/[^A-Z0-9]/g, 'X').padEnd(17, 'R').slice(0, 17)}`;
  return { name, arn: `arn:${partition}:sts::${account}:assumed-role/${role}/${sessionName}`, userId: `${roleId}:${sessionName}`, account };
}

export const PRINCIPALS = {
  alice: user('alice', ''),
  bob: user('bob', 'dev/'),
  carol: user('carol', ''),
  foreignUser: user('dave', '', OTHER_ACCOUNT),
  admin: session('admin', 'admin', 'alice@example.com'),
  everyChar: session('templates', 'templates', EVERY_SESSION_CHARACTER),
  caseRole: session('case', 'CaseRole', 's1'),
  pathRole: session('path-role', 'deployer', 'deploy-1'),
  reserved: session('reserved', 'reserved', 'r1'),
  ec2Node: session('node', 'nodes', 'ip-10-0-1-7.ec2.internal'),
  instanceNode: session('node-instance-id', 'nodes', 'i-0123456789abcdef0'),
  roleAlice: session('role-alice', 'alice', 'a1'),
  duplicate: session('duplicate', 'dup', 'd1'),
  unmapped: session('unmapped', 'nobody', 'n1'),
  entryRole: session('entry-role', 'entry-role', 'e@1'),
  entryPathRole: session('entry-path-role', 'entry-path-role', 'p1'),
  entryNode: session('entry-node', 'entry-nodes', 'ip-10-0-9-9.ec2.internal'),
  shouting: session('shouting', 'shouting', 's1'),
  cnRole: session('cn-role', 'cn-role', 'c1', ACCOUNT, 'aws-cn'),
} satisfies Record<string, Principal>;

export type PrincipalName = keyof typeof PRINCIPALS;

/** aws-auth as the ConfigMap holds it: each list is YAML text. */
export interface AwsAuthData {
  readonly mapRoles: string;
  readonly mapUsers: string;
  readonly mapAccounts: string;
}

const role = (name: string, path = ''): string => `arn:aws:iam::${ACCOUNT}:role/${path}${name}`;

const AWS_AUTH: AwsAuthData = {
  mapRoles: [
    `- rolearn: ${role('admin')}`,
    '  username: admin:{{SessionName}}',
    '  groups: [system:masters]',
    `- rolearn: ${role('templates')}`,
    '  username: "t:{{AccountID}}:{{SessionName}}:{{SessionNameRaw}}:{{AccessKeyID}}"',
    '  groups: ["g-{{AccountID}}", "g-{{SessionName}}", "g-{{SessionNameRaw}}", "g-{{AccessKeyID}}"]',
    `- rolearn: ${role('CASEROLE')}`,
    '  username: case-insensitive',
    '  groups: [case]',
    `- rolearn: ${role('deployer', 'team/')}`,
    '  username: never-matched',
    '  groups: [path]',
    `- rolearn: ${role('reserved')}`,
    '  username: "eks:{{SessionName}}"',
    '  groups: [reserved]',
    `- rolearn: ${role('nodes')}`,
    '  username: system:node:{{EC2PrivateDNSName}}',
    '  groups: [system:bootstrappers, system:nodes]',
    `- rolearn: ${role('alice')}`,
    '  username: role-alice',
    '  groups: [roles]',
    `- rolearn: ${role('dup')}`,
    '  username: first',
    '  groups: [first]',
    `- rolearn: ${role('DUP')}`,
    '  username: last',
    '  groups: [last]',
    `- rolearn: arn:aws-cn:iam::${ACCOUNT}:role/cn-role`,
    '  username: cn:{{SessionName}}',
    '  groups: [cn]',
    '',
  ].join('\n'),
  mapUsers: [
    `- userarn: arn:aws:iam::${ACCOUNT}:user/alice`,
    '  username: user-alice',
    '  groups: [users]',
    `- userarn: arn:aws:iam::${ACCOUNT}:user/dev/bob`,
    '  username: bob',
    '  groups: []',
    '',
  ].join('\n'),
  mapAccounts: `- "${OTHER_ACCOUNT}"\n`,
};

/** One access entry as describe-access-entry prints it (`accessEntry`), the fields the test sets. */
export interface AccessEntry {
  readonly principalArn: string;
  readonly type: 'STANDARD' | 'EC2_LINUX';
  readonly username?: string;
  readonly kubernetesGroups: readonly string[];
}

const ACCESS_ENTRIES: readonly AccessEntry[] = [
  { principalArn: role('entry-role'), type: 'STANDARD', kubernetesGroups: ['entry-readers'] },
  { principalArn: role('admin'), type: 'STANDARD', username: 'entry-admin:{{SessionName}}', kubernetesGroups: ['entry-admins'] },
  { principalArn: `arn:aws:iam::${ACCOUNT}:user/carol`, type: 'STANDARD', kubernetesGroups: ['entry-users'] },
  { principalArn: role('entry-path-role', 'ops/'), type: 'STANDARD', username: 'path:{{SessionName}}', kubernetesGroups: [] },
  { principalArn: role('entry-nodes'), type: 'EC2_LINUX', kubernetesGroups: [] },
];

export type AuthenticationMode = 'CONFIG_MAP' | 'API_AND_CONFIG_MAP' | 'API';

export interface Scenario {
  readonly name: string;
  readonly mode: AuthenticationMode;
  readonly awsAuth: AwsAuthData;
  readonly accessEntries: readonly AccessEntry[];
  /** A principal this scenario authenticates: the servers are ready once it logs in through both. */
  readonly probe: PrincipalName;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'config-map', mode: 'CONFIG_MAP', awsAuth: AWS_AUTH, accessEntries: [], probe: 'alice' },
  { name: 'api-and-config-map', mode: 'API_AND_CONFIG_MAP', awsAuth: AWS_AUTH, accessEntries: ACCESS_ENTRIES, probe: 'entryRole' },
  { name: 'api', mode: 'API', awsAuth: AWS_AUTH, accessEntries: ACCESS_ENTRIES, probe: 'entryRole' },
  {
    // An entry whose ARN is no ARN to the reference (it parses ARNs case-sensitively), though it
    // matches the caller when compared ignoring case: aws-auth as a hand edit can leave it.
    name: 'malformed-arn',
    mode: 'CONFIG_MAP',
    awsAuth: { mapRoles: `- rolearn: ARN:AWS:IAM::${ACCOUNT}:ROLE/shouting\n  username: shouting\n  groups: [loud]\n- rolearn: ${role('admin')}\n  username: admin\n  groups: []\n`, mapUsers: AWS_AUTH.mapUsers, mapAccounts: '' },
    accessEntries: [],
    probe: 'alice',
  },
];

/** Who made the token: the three clients of the protocol, or the test itself (tokens no client makes). */
export type TokenSource = 'token-exec' | 'aws-cli' | 'aws-iam-authenticator' | 'crafted';

/** A token the test makes itself with the project's presigner, for what no client produces. */
export type CraftedKind = 'expired' | 'tampered' | 'wrong-host' | 'other-cluster' | 'global-endpoint' | 'cn-partition';

export interface TokenCase {
  /** `PRINCIPAL/SOURCE` or `PRINCIPAL/crafted-KIND`. */
  readonly id: string;
  readonly principal: PrincipalName;
  readonly source: TokenSource;
  readonly crafted?: CraftedKind;
}

/** Every principal through every client, then the crafted tokens. */
export function tokenCases(clients: readonly Exclude<TokenSource, 'crafted'>[]): TokenCase[] {
  const cases: TokenCase[] = [];
  for (const principal of Object.keys(PRINCIPALS) as PrincipalName[]) {
    if (principal === 'cnRole') continue;
    for (const source of clients) cases.push({ id: `${PRINCIPALS[principal].name}/${source}`, principal, source });
  }
  const crafted: Array<[PrincipalName, CraftedKind]> = [
    ['alice', 'expired'],
    ['alice', 'tampered'],
    ['alice', 'wrong-host'],
    ['alice', 'other-cluster'],
    ['alice', 'global-endpoint'],
    ['cnRole', 'cn-partition'],
  ];
  for (const [principal, kind] of crafted) cases.push({ id: `${PRINCIPALS[principal].name}/crafted-${kind}`, principal, source: 'crafted', crafted: kind });
  return cases;
}

/** The fields of a TokenReview answer compared, as each server gave them. */
export interface ReviewAnswer {
  readonly authenticated: boolean;
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** What a server said, or that it was not there to say it (the reference refusing a configuration at start). */
export type ReviewOutcome = ReviewAnswer | { readonly unavailable: string };

export interface ReviewResult {
  /** `SCENARIO/PRINCIPAL/SOURCE` */
  readonly id: string;
  readonly ours: ReviewOutcome;
  readonly reference: ReviewOutcome;
}

/** What kube-apiserver made of one token with a server as its token webhook (a SelfSubjectReview). */
export type ApiServerOutcome = { readonly status: number; readonly user?: { readonly username?: string; readonly uid?: string; readonly groups?: readonly string[]; readonly extra?: Readonly<Record<string, readonly string[]>> } };

export interface ApiServerResult {
  /** `SCENARIO/PRINCIPAL/SOURCE`, as in the direct reviews. */
  readonly id: string;
  readonly ours: ApiServerOutcome;
  readonly reference: ApiServerOutcome;
}

export interface CorpusRun {
  readonly referenceVersion: string;
  /** Each server as kube-apiserver's token webhook in turn, on some tokens of the config-map scenario. */
  readonly apiServer: { readonly version: string; readonly referenceWebhookVersion: string; readonly results: readonly ApiServerResult[] };
  /** Token sources that could not run, with the reason (the AWS CLI absent). */
  readonly skippedSources: Readonly<Record<string, string>>;
  readonly results: readonly ReviewResult[];
}
