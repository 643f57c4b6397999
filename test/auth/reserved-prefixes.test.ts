import assert from 'node:assert/strict';
import { readAccessEntries } from '../../src/authenticator/access-entries.js';
import { mapIdentity, readAwsAuth } from '../../src/authenticator/aws-auth.js';
import { resolveIdentity } from '../../src/authenticator/identity-mapping.js';
import { DEFAULT_RESERVED_PREFIXES, parseReservedPrefixes } from '../../src/authenticator/reserved-prefixes.js';
import type { CallerIdentity } from '../../src/authenticator/templates.js';
import { canonicalize } from '../../src/shared/aws/arn.js';
import { runCli } from '../helpers/cli.js';

/**
 * The rules aws-iam-authenticator v0.7.18 (2026-06) applies to every login: a reserved-username
 * prefix list per backend, checked on the username after its templates are rendered (for aws-auth
 * too, since 2026-05), and a mapping whose ARN is malformed refused, not skipped.
 */

const A = '111122223333';
const role = (name: string, path = '/'): string => `arn:aws:iam::${A}:role${path}${name}`;
const caller = (arn: string): CallerIdentity => ({ ...canonicalize(arn)!, userId: 'AROAEXAMPLE', accessKeyId: 'ASIAKEY' });
const session = (name: string, sessionName: string): CallerIdentity => caller(`arn:aws:sts::${A}:assumed-role/${name}/${sessionName}`);

const awsAuth = readAwsAuth(`apiVersion: v1
kind: ConfigMap
data:
  mapRoles: |
    - {rolearn: "${role('picks')}", username: "{{SessionName}}:admin", groups: [admins]}
    - {rolearn: "${role('literal')}", username: "aws:ops", groups: [ops]}
    - {rolearn: "${role('nodes')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}
    - {rolearn: "${role('both')}", username: "legacy:{{SessionName}}", groups: [legacy]}
    - {rolearn: "${role('corp')}", username: "corp-{{SessionName}}"}
  mapAccounts: |
    - "444455556666"
`).config;

const entries = readAccessEntries(
  JSON.stringify([
    { accessEntry: { principalArn: role('both', '/team/'), username: 'team:{{SessionName}}', kubernetesGroups: ['team'] } },
    { accessEntry: { principalArn: role('ec2'), type: 'EC2_LINUX' } },
  ]),
  { source: 'entries.json' },
);
assert.ok(entries.ok);

describe('reserved username prefixes, per backend, checked after the templates are rendered (aws-iam-authenticator v0.7.18)', () => {
  const resolve = (identity: CallerIdentity, reservedPrefixes = DEFAULT_RESERVED_PREFIXES) =>
    resolveIdentity(identity, { mode: 'API_AND_CONFIG_MAP', awsAuth, accessEntries: entries.value, reservedPrefixes });

  it('aws-auth: a session name that renders a reserved prefix ({{SessionName}}:admin as eks) is refused; the same mapping with another session is not', () => {
    const refused = resolve(session('picks', 'eks'));
    assert.deepEqual(refused, {
      ok: false,
      reason: 'mapRoles[0]: the username "eks:admin" begins with eks:, a prefix reserved for users the aws-auth backend maps (--reserved-username-prefixes)',
    });
    assert.deepEqual(resolve(session('picks', 'alice')), { ok: true, username: 'alice:admin', groups: ['admins'], entry: 'mapRoles[0]', source: 'aws-auth' });
  });

  it('aws-auth: a literal reserved username is refused; node usernames (system:node:…) are not reserved by default', () => {
    const literal = resolve(session('literal', 's'));
    assert.ok(!literal.ok && /^mapRoles\[1\]: the username "aws:ops" begins with aws:/.test(literal.reason), JSON.stringify(literal));
    const node = resolve(session('nodes', 'ip-10-0-1-7.ec2.internal'));
    assert.ok(node.ok && node.username === 'system:node:ip-10-0-1-7.ec2.internal');
    const ec2 = resolve(session('ec2', 'ip-10-0-1-8.ec2.internal'));
    assert.ok(ec2.ok && ec2.source === 'access-entry' && ec2.username === 'system:node:ip-10-0-1-8.ec2.internal', 'an EC2_LINUX entry too');
  });

  it('the lists are per backend and configurable: each applies only to the usernames its backend yields, mapAccounts included; an empty list reserves nothing', () => {
    const custom = { 'aws-auth': ['corp-', 'arn:'], 'access-entries': ['team:'] };
    const corp = resolve(session('corp', 'x'), custom);
    assert.ok(!corp.ok && /^mapRoles\[4\]: the username "corp-x" begins with corp-/.test(corp.reason), JSON.stringify(corp));
    const account = resolve(caller('arn:aws:sts::444455556666:assumed-role/any/s'), custom);
    assert.ok(!account.ok && /^mapAccounts: the username "arn:aws:iam::444455556666:role\/any" begins with arn:/.test(account.reason), JSON.stringify(account));
    const entry = resolve(session('both', 'bob'), custom);
    assert.ok(
      !entry.ok && entry.reason === 'access entry arn:aws:iam::111122223333:role/team/both: the username "team:bob" begins with team:, a prefix reserved for users the access-entries backend maps (--reserved-username-prefixes)',
      `refused, not handed on to aws-auth (which maps the same role as legacy:bob): ${JSON.stringify(entry)}`,
    );
    assert.equal(resolve(session('literal', 's'), { 'aws-auth': [], 'access-entries': [] }).ok, true);
  });

  it('--reserved-username-prefixes BACKEND=PREFIX,…: parsed and refused as one line', async () => {
    assert.deepEqual(parseReservedPrefixes('aws-auth=eks:,corp-'), { ok: true, value: { backend: 'aws-auth', prefixes: ['eks:', 'corp-'] } });
    assert.deepEqual(parseReservedPrefixes('access-entries='), { ok: true, value: { backend: 'access-entries', prefixes: [] } });
    for (const bad of ['eks:', 'configmap=eks:', 'aws-auth=eks:,,aws:', 'aws-auth=a b', 'aws-auth=a\u0007', `aws-auth=${'x'.repeat(257)}`, `aws-auth=${Array.from({ length: 65 }, (_, i) => `p${i}:`).join(',')}`]) {
      assert.equal(parseReservedPrefixes(bad).ok, false, bad);
    }
    const cases: Array<[string[], RegExp]> = [
      [['--reserved-username-prefixes', 'configmap=eks:'], /"configmap=eks:" is not BACKEND=PREFIX,… with BACKEND one of aws-auth, access-entries/],
      [['--reserved-username-prefixes', 'aws-auth=eks:', '--reserved-username-prefixes', 'aws-auth=aws:'], /aws-auth is given twice/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['authenticator', '--cluster-id', 'lab-cluster', '--aws-auth', '/nonexistent', '--port', '0', ...flags]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^pod-identity-webhook: /);
      assert.match(result.stderr, message);
    }
  });
});

describe('a mapping whose ARN is malformed is refused, not skipped (aws-iam-authenticator v0.7.18)', () => {
  const { config } = readAwsAuth(`apiVersion: v1
kind: ConfigMap
data:
  mapRoles: |
    - {rolearn: "${role('admins')}", username: "admin:{{SessionName}}", groups: [cluster-admins]}
    - {rolearn: "ARN:AWS:IAM::${A}:ROLE/admins", username: "shouty", groups: [system:masters]}
    - {rolearn: "arn:aws:iam::${A}:Role/viewers", username: "viewer", groups: [viewers]}
    - {rolearn: "${role('devs')}", username: "dev:{{SessionName}}", groups: [devs]}
  mapAccounts: |
    - "${A}"
`);

  it('the entry in force with a malformed ARN refuses the login: no earlier entry for the same role, no mapAccounts', () => {
    assert.deepEqual(mapIdentity(session('admins', 'bob'), config), {
      ok: false,
      reason: `mapRoles[1]: "ARN:AWS:IAM::${A}:ROLE/admins" is not an IAM role or user ARN: the mapping is refused`,
    });
    const viewers = mapIdentity(session('viewers', 'bob'), config);
    assert.ok(!viewers.ok && viewers.reason.startsWith('mapRoles[2]: '), JSON.stringify(viewers));
  });

  it('well-formed mappings beside it keep working', () => {
    assert.deepEqual(mapIdentity(session('devs', 'bob'), config), { ok: true, username: 'dev:bob', groups: ['devs'], entry: 'mapRoles[3]' });
    assert.deepEqual(mapIdentity(session('others', 'bob'), config), { ok: true, username: `arn:aws:iam::${A}:role/others`, groups: [], entry: 'mapAccounts' });
  });
});
