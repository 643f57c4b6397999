import assert from 'node:assert/strict';
import { canonicalize } from '../../src/shared/aws/arn.js';
import { type AccessEntries, policyNotes, readAccessEntries } from '../../src/authenticator/access-entries.js';
import type { AuthenticationMode } from '../../src/authenticator/authentication-modes.js';
import { readAwsAuth } from '../../src/authenticator/aws-auth.js';
import { resolveIdentity } from '../../src/authenticator/identity-mapping.js';
import type { CallerIdentity } from '../../src/authenticator/templates.js';

const ACCOUNT = '111122223333';
const role = (name: string, path = '/'): string => `arn:aws:iam::${ACCOUNT}:role${path}${name}`;
const entryArn = (name: string, cluster = 'lab-cluster'): string => `arn:aws:eks:us-east-1:${ACCOUNT}:access-entry/${cluster}/role/${ACCOUNT}/${name}/0ec7d1b2-4a5f-6b7c-8d9e-0f1a2b3c4d5e`;

/** describe-access-entry output, as the AWS CLI prints it. */
function described(principalArn: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    accessEntry: {
      clusterName: 'lab-cluster',
      principalArn,
      kubernetesGroups: [],
      accessEntryArn: entryArn(principalArn.split('/').pop()!),
      createdAt: '2026-11-20T10:00:00.000000+00:00',
      modifiedAt: '2026-11-20T10:00:00.000000+00:00',
      tags: {},
      type: 'STANDARD',
      ...fields,
    },
  };
}

/** list-associated-access-policies output. */
function associated(principalArn: string, policies: Array<[string, Record<string, unknown>]>): Record<string, unknown> {
  return {
    clusterName: 'lab-cluster',
    principalArn,
    associatedAccessPolicies: policies.map(([name, accessScope]) => ({
      policyArn: `arn:aws:eks::aws:cluster-access-policy/${name}`,
      accessScope,
      associatedAt: '2026-11-20T10:00:00.000000+00:00',
      modifiedAt: '2026-11-20T10:00:00.000000+00:00',
    })),
  };
}

function read(items: unknown[], clusterName = 'lab-cluster'): ReturnType<typeof readAccessEntries> {
  return readAccessEntries(JSON.stringify(items), { source: 'entries.json', clusterName });
}

function entries(items: unknown[]): AccessEntries {
  const parsed = read(items);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
}

const caller = (arn: string): CallerIdentity => ({ ...canonicalize(arn)!, userId: 'AROAEXAMPLE', accessKeyId: 'ASIAKEY' });
const session = (name: string, sessionName: string): CallerIdentity => caller(`arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${sessionName}`);

describe('access entries: read as the AWS CLI prints them, refused where EKS would refuse them', () => {
  it('reads describe-access-entry and list-associated-access-policies outputs, as a list or as YAML documents', () => {
    const list = entries([
      described(role('devs', '/team/'), { username: 'devs:{{SessionName}}', kubernetesGroups: ['devs'] }),
      associated(role('devs', '/team/'), [['AmazonEKSViewPolicy', { type: 'namespace', namespaces: ['dev-a', 'dev-*'] }]]),
      described(role('nodes'), { type: 'EC2_LINUX', kubernetesGroups: ['system:nodes'], username: 'system:node:{{EC2PrivateDNSName}}' }),
    ]);
    assert.equal(list.clusterName, 'lab-cluster');
    assert.deepEqual(
      list.entries.map((entry) => [entry.principalArn, entry.type, entry.username, entry.kubernetesGroups, entry.policies]),
      [
        [role('devs', '/team/'), 'STANDARD', 'devs:{{SessionName}}', ['devs'], [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', policyName: 'AmazonEKSViewPolicy', scope: { type: 'namespace', namespaces: ['dev-a', 'dev-*'] } }]],
        [role('nodes'), 'EC2_LINUX', 'system:node:{{EC2PrivateDNSName}}', ['system:nodes'], []],
      ],
    );
    const yaml = readAccessEntries(`accessEntry:\n  principalArn: ${role('ops')}\n---\n- accessEntry: {principalArn: "arn:aws:iam::${ACCOUNT}:user/alice"}\n`, { source: 'entries.yaml' });
    assert.ok(yaml.ok);
    assert.deepEqual(
      yaml.value.entries.map((entry) => [entry.type, entry.username]),
      [
        ['STANDARD', `arn:aws:sts::${ACCOUNT}:assumed-role/ops/{{SessionName}}`],
        ['STANDARD', `arn:aws:iam::${ACCOUNT}:user/alice`],
      ],
      "EKS's default usernames: the role's session ARN (path removed), the user's ARN",
    );
  });

  it('gives node entries the username and groups EKS sets for their type, the 2026 types EC2 (Auto Mode) and HYPERPOD_LINUX included', () => {
    const list = entries(['EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'HYBRID_LINUX', 'EC2', 'HYPERPOD_LINUX'].map((type) => described(role(type.toLowerCase()), { type })));
    assert.deepEqual(
      list.entries.map((entry) => [entry.type, entry.username, entry.kubernetesGroups]),
      [
        ['EC2_LINUX', 'system:node:{{EC2PrivateDNSName}}', ['system:nodes']],
        ['EC2_WINDOWS', 'system:node:{{EC2PrivateDNSName}}', ['system:nodes']],
        ['FARGATE_LINUX', 'system:node:{{SessionName}}', ['system:nodes']],
        ['HYBRID_LINUX', 'system:node:{{SessionName}}', ['system:nodes']],
        ['EC2', 'system:node:{{SessionName}}', ['system:nodes']],
        ['HYPERPOD_LINUX', 'system:node:{{SessionName}}', ['system:nodes']],
      ],
    );
  });

  it('EC2 (Auto Mode) takes AmazonEKSAutoNodePolicy; another policy on EC2 is accepted with a warning (CDK and the EKS docs disagree)', () => {
    const auto = entries([described(role('auto-node'), { type: 'EC2' }), associated(role('auto-node'), [['AmazonEKSAutoNodePolicy', { type: 'cluster' }]])]);
    assert.deepEqual(auto.entries[0]!.policies.map((policy) => policy.policyName), ['AmazonEKSAutoNodePolicy']);
    assert.deepEqual(auto.entries[0]!.warnings, []);
    const extra = entries([described(role('auto-node'), { type: 'EC2' }), associated(role('auto-node'), [['AmazonEKSAutoNodePolicy', { type: 'cluster' }], ['AmazonEKSViewPolicy', { type: 'cluster' }]])]);
    assert.deepEqual(extra.entries[0]!.warnings, [
      'AmazonEKSViewPolicy on an EC2 (Auto Mode) entry: EC2 entries take AmazonEKSAutoNodePolicy only (CDK says node entries take no access policies; the EKS docs attach AmazonEKSAutoNodePolicy)',
    ]);
    assert.deepEqual(policyNotes(extra), [
      `${role('auto-node')}: AmazonEKSViewPolicy on an EC2 (Auto Mode) entry: EC2 entries take AmazonEKSAutoNodePolicy only (CDK says node entries take no access policies; the EKS docs attach AmazonEKSAutoNodePolicy)`,
      `${role('auto-node')}: AmazonEKSAutoNodePolicy is a policy for an AWS service or EKS-managed component: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it`,
    ]);
  });

  it('a policy reserved for service-linked roles on a STANDARD entry: accepted, with a warning that names its third-party source; an unknown policy name: accepted, said unknown', () => {
    const list = entries([described(role('ops')), associated(role('ops'), [['AmazonEKSBlockStoragePolicy', { type: 'cluster' }], ['AmazonEKSViewPolicy', { type: 'cluster' }], ['AmazonEKSFuturePolicy', { type: 'cluster' }]])]);
    assert.deepEqual(list.entries[0]!.warnings, [
      "AmazonEKSBlockStoragePolicy is reserved for service-linked roles (per the third-party cloudemu catalog; EKS does not document it), and this entry's principal is not one: EKS may refuse or ignore the association",
    ]);
    assert.deepEqual(policyNotes(list).slice(1), [
      `${role('ops')}: AmazonEKSBlockStoragePolicy is a policy for an AWS service or EKS-managed component: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it`,
      `${role('ops')}: AmazonEKSFuturePolicy is not in the 2026 access-policy catalog this tool knows (a newer policy, or a typo): the lab grants nothing for it`,
    ]);
  });

  // One case per rule of irsa-and-access-entries.md §3.3 (rule 8 and 9 concern the target mode of a conversion: test/auth/convert.test.ts).
  const refused: Array<[string, unknown[], RegExp]> = [
    ['1: a group starting with system: on STANDARD', [described(role('admins'), { kubernetesGroups: ['admins', 'system:masters'] })], /\[0\]\.accessEntry \(arn:aws:iam::111122223333:role\/admins\): InvalidParameterException: The kubernetes group name system:masters is invalid, it cannot start with system:$/],
    ['1: an empty group', [described(role('admins'), { kubernetesGroups: [''] })], /The kubernetes group name must not be empty/],
    ['1 (lab): the group prefix the lab reserves for access policies', [described(role('admins'), { kubernetesGroups: ['eks-access-entry:arn:aws:iam::111122223333:role/other'] })], /the lab reserves eks-access-entry:/],
    ...['system:', 'eks:', 'aws:', 'amazon:', 'iam:'].map((prefix): [string, unknown[], RegExp] => [
      `2: a username starting with ${prefix}`,
      [described(role('admins'), { username: `${prefix}admin` })],
      new RegExp(`The username ${prefix}admin is invalid, it cannot start with ${prefix}$`),
    ]),
    ['3: {{SessionName}} without a colon before it', [described(role('devs'), { username: 'john{{SessionName}}' })], /The username john\{\{SessionName\}\} is invalid, \{\{SessionName\}\} must come after a colon/],
    ['3: {{SessionNameRaw}} without a colon before it', [described(role('devs'), { username: '{{SessionNameRaw}}:x' })], /\{\{SessionNameRaw\}\} must come after a colon/],
    ['3: a template access entries do not document', [described(role('devs'), { username: 'dev:{{AccessKeyID}}' })], /only \{\{SessionName\}\} and \{\{SessionNameRaw\}\} can be used in a username, not \{\{AccessKeyID\}\}/],
    ['4: kubernetesGroups on a node entry', [described(role('nodes'), { type: 'EC2_LINUX', kubernetesGroups: ['system:nodes', 'admins'] })], /kubernetesGroups can only be set on access entries of type STANDARD \(admins on EC2_LINUX\)/],
    ['4: a custom username on a node entry', [described(role('nodes'), { type: 'FARGATE_LINUX', username: 'fargate:{{SessionName}}' })], /username can only be set on access entries of type STANDARD \(FARGATE_LINUX users are system:node:\{\{SessionName\}\}\)/],
    [
      '4: an access policy on a node entry',
      [described(role('nodes'), { type: 'EC2_LINUX' }), associated(role('nodes'), [['AmazonEKSViewPolicy', { type: 'cluster', namespaces: [] }]])],
      /access policies can only be associated with access entries of type STANDARD \(or AmazonEKSAutoNodePolicy with EC2\), not EC2_LINUX$/,
    ],
    ...(['EC2_WINDOWS', 'FARGATE_LINUX', 'HYBRID_LINUX', 'HYPERPOD_LINUX'] as const).map((type): [string, unknown[], RegExp] => [
      `4: AmazonEKSAutoNodePolicy on ${type} (only EC2 takes it)`,
      [described(role('nodes'), { type }), associated(role('nodes'), [['AmazonEKSAutoNodePolicy', { type: 'cluster' }]])],
      new RegExp(`access policies can only be associated with access entries of type STANDARD \\(or AmazonEKSAutoNodePolicy with EC2\\), not ${type}$`),
    ]),
    ['4: kubernetesGroups on an EC2 (Auto Mode) entry', [described(role('nodes'), { type: 'EC2', kubernetesGroups: ['ops'] })], /kubernetesGroups can only be set on access entries of type STANDARD \(ops on EC2\)/],
    ['4: kubernetesGroups on a HYPERPOD_LINUX entry', [described(role('nodes'), { type: 'HYPERPOD_LINUX', kubernetesGroups: ['ops'] })], /kubernetesGroups can only be set on access entries of type STANDARD \(ops on HYPERPOD_LINUX\)/],
    ['4: a custom username on an EC2 (Auto Mode) entry', [described(role('nodes'), { type: 'EC2', username: 'auto:{{SessionName}}' })], /username can only be set on access entries of type STANDARD \(EC2 users are system:node:\{\{SessionName\}\}\)/],
    ['5: a HYPERPOD_LINUX entry for a user', [described(`arn:aws:iam::${ACCOUNT}:user/bob`, { type: 'HYPERPOD_LINUX', accessEntryArn: undefined })], /access entries of type HYPERPOD_LINUX need an IAM role/],
    ['5: a node entry for a user', [described(`arn:aws:iam::${ACCOUNT}:user/bob`, { type: 'HYBRID_LINUX', accessEntryArn: undefined })], /The specified principalArn is invalid: access entries of type HYBRID_LINUX need an IAM role/],
    [
      "5: a node entry for a role outside the cluster's account",
      [described(role('admins')), described('arn:aws:iam::444455556666:role/nodes', { type: 'EC2_LINUX', accessEntryArn: undefined })],
      /access entries of type EC2_LINUX need a role in the cluster's account 111122223333/,
    ],
    ['6: an STS session ARN', [described(`arn:aws:sts::${ACCOUNT}:assumed-role/admins/bob`, { accessEntryArn: undefined })], /The specified principalArn is invalid: invalid principal \(an STS assumed-role session/],
    ['6: a service-linked role', [described(role('AWSServiceRoleForAmazonEKS', '/aws-service-role/eks.amazonaws.com/'))], /service-linked roles are not supported/],
    ['6: not an IAM principal', [described(`arn:aws:iam::${ACCOUNT}:group/admins`, { accessEntryArn: undefined })], /invalid principal \(not an IAM role or user ARN\)/],
    ['7: the same principal twice', [described(role('admins')), described(role('admins'))], /\[1\]\.accessEntry \(arn:aws:iam::111122223333:role\/admins\): ResourceInUseException: The specified access entry resource is already in use on this cluster\.$/],
    ['7: one role under two paths', [described(role('admins', '/a/')), described(role('admins', '/b/'))], /arn:aws:iam::111122223333:role\/a\/admins names the same role \(IAM names are unique in an account/],
    [
      '7: a policy associated twice',
      [described(role('admins')), associated(role('admins'), [['AmazonEKSViewPolicy', { type: 'cluster' }], ['AmazonEKSViewPolicy', { type: 'namespace', namespaces: ['a'] }]])],
      /AmazonEKSViewPolicy is associated twice/,
    ],
    ['10: a namespace scope without namespaces', [described(role('admins')), associated(role('admins'), [['AmazonEKSEditPolicy', { type: 'namespace', namespaces: [] }]])], /access scope type namespace needs at least one namespace/],
    ['10: a cluster scope with namespaces', [described(role('admins')), associated(role('admins'), [['AmazonEKSEditPolicy', { type: 'cluster', namespaces: ['a'] }]])], /namespaces can only be given for access scope type namespace/],
    ['10: a namespace that is not a name', [described(role('admins')), associated(role('admins'), [['AmazonEKSEditPolicy', { type: 'namespace', namespaces: ['Dev_A'] }]])], /"Dev_A" is not a namespace name/],
    ['an unknown scope type', [described(role('admins')), associated(role('admins'), [['AmazonEKSEditPolicy', { type: 'tenant' }]])], /access scope type tenant is invalid/],
    ['policies for a principal without an entry', [associated(role('ghost'), [['AmazonEKSViewPolicy', { type: 'cluster' }]])], /ResourceNotFoundException: no access entry for arn:aws:iam::111122223333:role\/ghost/],
    ['a policy ARN that is not an access policy', [described(role('admins')), { principalArn: role('admins'), associatedAccessPolicies: [{ policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess', accessScope: { type: 'cluster' } }] }], /is not an access policy ARN/],
    ['a type the API does not have', [described(role('auto'), { type: 'EC2_MAC' })], /type "EC2_MAC" is not an access entry type \(STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX, EC2, HYPERPOD_LINUX\)/],
    ['a field EKS does not print (a typo)', [described(role('admins'), { kubernetesGroup: ['admins'] })], /\[0\]\.accessEntry\.kubernetesGroup is not a field EKS prints/],
    ['another cluster', [described(role('admins'), { clusterName: 'prod', accessEntryArn: entryArn('admins', 'prod') })], /belongs to cluster prod, not lab-cluster/],
    ['an access entry ARN naming another cluster than clusterName', [described(role('admins'), { accessEntryArn: entryArn('admins', 'prod') })], /accessEntryArn names cluster prod, clusterName says lab-cluster/],
    ['one page of a paginated listing', [{ ...associated(role('admins'), []), nextToken: 'abc' }], /nextToken/],
    ['something else', [{ kind: 'ConfigMap' }], /\[0\] is neither describe-access-entry output/],
  ];
  for (const [rule, items, message] of refused) {
    it(`refuses ${rule}`, () => {
      const parsed = read(items);
      assert.ok(!parsed.ok, 'accepted');
      assert.match(parsed.error, /^entries\.json: /);
      assert.match(parsed.error, message);
    });
  }

  it('refuses what is not YAML with the line', () => {
    const parsed = readAccessEntries('[{"accessEntry": {"principalArn": 1, "principalArn": 2}}]', { source: 'entries.json' });
    assert.ok(!parsed.ok && /entries\.json/.test(parsed.error) && /principalArn/.test(parsed.error), JSON.stringify(parsed));
  });
});

describe('authentication modes: which of aws-auth and access entries a login goes through', () => {
  const awsAuth = readAwsAuth(`apiVersion: v1
kind: ConfigMap
data:
  mapRoles: |
    - rolearn: ${role('both')}
      username: from-aws-auth:{{SessionName}}
      groups: [aws-auth-group]
    - rolearn: ${role('legacy')}
      username: legacy
      groups: [legacy]
  mapAccounts: |
    - "444455556666"
`).config;
  const accessEntries = entries([
    described(role('both', '/team/'), { username: 'from-entry:{{SessionName}}', kubernetesGroups: ['entry-group'] }),
    described(role('viewer')),
    associated(role('viewer'), [['AmazonEKSViewPolicy', { type: 'cluster', namespaces: [] }]]),
    described(role('nodes'), { type: 'EC2_LINUX' }),
    described(role('fargate'), { type: 'FARGATE_LINUX' }),
    described(role('auto-node'), { type: 'EC2' }),
    associated(role('auto-node'), [['AmazonEKSAutoNodePolicy', { type: 'cluster' }]]),
    described(role('hyperpod-node'), { type: 'HYPERPOD_LINUX' }),
    described(`arn:aws:iam::${ACCOUNT}:user/ops/alice`, { accessEntryArn: undefined }),
  ]);
  const resolve = (mode: AuthenticationMode, identity: CallerIdentity) => resolveIdentity(identity, { mode, awsAuth: mode === 'API' ? undefined : awsAuth, accessEntries: mode === 'CONFIG_MAP' ? undefined : accessEntries });

  it('CONFIG_MAP: aws-auth only, mapAccounts included', () => {
    assert.deepEqual(resolve('CONFIG_MAP', session('both', 'bob')), { ok: true, username: 'from-aws-auth:bob', groups: ['aws-auth-group'], entry: 'mapRoles[0]', source: 'aws-auth' });
    assert.deepEqual(resolve('CONFIG_MAP', caller('arn:aws:sts::444455556666:assumed-role/any/s')), { ok: true, username: 'arn:aws:iam::444455556666:role/any', groups: [], entry: 'mapAccounts', source: 'aws-auth' });
    const viewer = resolve('CONFIG_MAP', session('viewer', 's'));
    assert.ok(!viewer.ok && /is not mapped in aws-auth/.test(viewer.reason));
  });

  it('API_AND_CONFIG_MAP: an access entry overrides the aws-auth mapping of the same principal (the entry has the path, the session has not); aws-auth serves the rest', () => {
    assert.deepEqual(resolve('API_AND_CONFIG_MAP', session('both', 'bob@example.com')), {
      ok: true,
      username: 'from-entry:bob-example.com',
      groups: ['entry-group'],
      entry: 'access entry arn:aws:iam::111122223333:role/team/both',
      source: 'access-entry',
    });
    assert.deepEqual(resolve('API_AND_CONFIG_MAP', session('legacy', 's')), { ok: true, username: 'legacy', groups: ['legacy'], entry: 'mapRoles[1]', source: 'aws-auth' });
    assert.equal(resolve('API_AND_CONFIG_MAP', caller('arn:aws:sts::444455556666:assumed-role/any/s')).ok, true, 'mapAccounts still counts');
    const nobody = resolve('API_AND_CONFIG_MAP', session('nobody', 's'));
    assert.ok(!nobody.ok && /is not mapped in aws-auth .*, and has no access entry$/.test(nobody.reason), JSON.stringify(nobody));
  });

  it('API: access entries only; aws-auth and mapAccounts no longer log anyone in', () => {
    assert.equal(resolve('API', session('both', 'bob')).ok && resolve('API', session('both', 'bob')).source, 'access-entry');
    for (const identity of [session('legacy', 's'), caller('arn:aws:sts::444455556666:assumed-role/any/s')]) {
      const refused = resolve('API', identity);
      assert.ok(!refused.ok && /has no access entry \(authentication mode API: aws-auth is not read\)/.test(refused.reason), JSON.stringify(refused));
    }
  });

  it("default usernames per type, the templates expanded, and the lab's policy group for an entry with policies", () => {
    assert.deepEqual(resolve('API', session('viewer', 'carol@example.com')), {
      ok: true,
      username: 'arn:aws:sts::111122223333:assumed-role/viewer/carol-example.com',
      groups: ['eks-access-entry:arn:aws:iam::111122223333:role/viewer'],
      entry: 'access entry arn:aws:iam::111122223333:role/viewer',
      source: 'access-entry',
    });
    const node = resolve('API', session('nodes', 'ip-10-0-1-7.ec2.internal'));
    assert.ok(node.ok && node.username === 'system:node:ip-10-0-1-7.ec2.internal' && node.groups.join() === 'system:nodes');
    const fargate = resolve('API', session('fargate', 'fargate-ip-10-0-2-9.ec2.internal'));
    assert.ok(fargate.ok && fargate.username === 'system:node:fargate-ip-10-0-2-9.ec2.internal');
    // EC2 (Auto Mode) and HYPERPOD_LINUX: the lab's choice, system:node:{{SessionName}} (an instance profile's session name is the instance id).
    assert.deepEqual(resolve('API', session('auto-node', 'i-0123456789abcdef0')), {
      ok: true,
      username: 'system:node:i-0123456789abcdef0',
      groups: ['system:nodes', `eks-access-entry:${role('auto-node')}`],
      entry: `access entry ${role('auto-node')}`,
      source: 'access-entry',
    });
    const hyperpod = resolve('API', session('hyperpod-node', 'i-0fedcba9876543210'));
    assert.ok(hyperpod.ok && hyperpod.username === 'system:node:i-0fedcba9876543210' && hyperpod.groups.join() === 'system:nodes', JSON.stringify(hyperpod));
    const user = resolve('API', caller('arn:aws:iam::111122223333:user/ops/alice'));
    assert.ok(user.ok && user.username === 'arn:aws:iam::111122223333:user/ops/alice' && user.groups.length === 0);
    assert.equal(resolve('API', caller('arn:aws:iam::111122223333:user/alice')).ok, false, "a user's ARN keeps its path: another path is another user");
  });
});
