import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAccessEntries } from '../../src/authenticator/access-entries.js';
import { readAwsAuth } from '../../src/authenticator/aws-auth.js';
import { type ConversionOptions, type ConversionReport, convertAwsAuth, type Outcome, type ProposedEntry, type TargetMode } from '../../src/authenticator/convert-aws-auth.js';
import { readRolePaths } from '../../src/authenticator/role-paths.js';
import { conversionCommands } from '../../src/authenticator/conversion-output.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';

const A = '111122223333';
const role = (name: string, path = '/'): string => `arn:aws:iam::${A}:role${path}${name}`;

function configMap(mapRoles: string, extra = ''): string {
  const indented = mapRoles
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\ndata:\n  mapRoles: |\n${indented}\n${extra}`;
}

function rolePaths(...arns: string[]): ConversionOptions['rolePaths'] {
  const parsed = readRolePaths(JSON.stringify(arns), 'roles.json');
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
}

function convert(text: string, options: Partial<ConversionOptions> = {}): ConversionReport {
  const read = readAwsAuth(text);
  const converted = convertAwsAuth(read.config, { targetMode: 'API', rolePaths: undefined, existing: undefined, ...options });
  assert.ok(converted.ok, converted.ok ? '' : converted.error);
  return converted.value;
}

/** The outcomes of the first converted aws-auth entry. */
const first = (report: ConversionReport): readonly Outcome[] => report.conversions[0]!.outcomes;
/** The entry of the first outcome of the first aws-auth entry. */
function firstEntry(report: ConversionReport): ProposedEntry {
  const outcome = first(report)[0];
  assert.ok(outcome?.kind === 'entry', JSON.stringify(outcome));
  return outcome.entry;
}
const rules = (report: ConversionReport): string[] => report.findings.map((finding) => `${finding.severity} ${finding.rule}`);

describe('aws-auth → access entries: one case per row of the mapping table (irsa-and-access-entries.md §3.2)', () => {
  const paths = (...names: string[]) => ({ rolePaths: rolePaths(...names.map((name) => role(name))) });

  it('a self-managed Linux node role becomes EC2_LINUX, with no username, groups or policy', () => {
    const report = convert(configMap(`- {rolearn: "${role('ng-1')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:bootstrappers, system:nodes]}`), paths('ng-1'));
    assert.deepEqual(first(report), [{ kind: 'entry', entry: { principalArn: role('ng-1'), type: 'EC2_LINUX', username: undefined, kubernetesGroups: [], policies: [] } }]);
    assert.deepEqual(report.findings, []);
    assert.ok(conversionCommands(report).includes(`aws eks create-access-entry --cluster-name="$CLUSTER" --cli-input-json '{"principalArn":"${role('ng-1')}","type":"EC2_LINUX"}'`));
  });

  it('the same with eks:kube-proxy-windows becomes EC2_WINDOWS', () => {
    const report = convert(configMap(`- {rolearn: "${role('win')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:bootstrappers, system:nodes, eks:kube-proxy-windows]}`), paths('win'));
    assert.equal(firstEntry(report).type, 'EC2_WINDOWS');
    assert.deepEqual(report.findings, [], 'eks:kube-proxy-windows is what EKS itself maps Windows nodes with, not a dropped group');
  });

  it("a Fargate pod execution role (system:node-proxier) becomes FARGATE_LINUX, where eksctl's migrator skips it", () => {
    const report = convert(configMap(`- {rolearn: "${role('fargate')}", username: "system:node:{{SessionName}}", groups: [system:bootstrappers, system:nodes, system:node-proxier]}`), paths('fargate'));
    assert.equal(firstEntry(report).type, 'FARGATE_LINUX');
  });

  it('a hybrid node role (system:node:{{SessionName}}, no node-proxier) becomes HYBRID_LINUX', () => {
    const report = convert(configMap(`- {rolearn: "${role('hybrid')}", username: "system:node:{{SessionName}}", groups: [system:bootstrappers, system:nodes]}`), paths('hybrid'));
    assert.equal(firstEntry(report).type, 'HYBRID_LINUX');
  });

  it('system:masters becomes STANDARD with AmazonEKSClusterAdminPolicy on the cluster, keeping the other groups (eksctl drops them) and the username', () => {
    const report = convert(configMap(`- {rolearn: "${role('admins')}", username: "admin:{{SessionName}}", groups: [system:masters, ops, auditors]}`), { rolePaths: rolePaths(role('admins', '/team/')) });
    assert.deepEqual(first(report), [
      {
        kind: 'entry',
        entry: {
          principalArn: role('admins', '/team/'),
          type: 'STANDARD',
          username: 'admin:{{SessionName}}',
          kubernetesGroups: ['ops', 'auditors'],
          policies: [{ policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', policyName: 'AmazonEKSClusterAdminPolicy', scope: { type: 'cluster' } }],
        },
      },
    ]);
    assert.deepEqual(rules(report), ['warning ae-masters']);
    assert.ok(
      conversionCommands(report).includes(
        `aws eks associate-access-policy --cluster-name="$CLUSTER" --cli-input-json '{"principalArn":"${role('admins', '/team/')}","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}}'`,
      ),
    );
    assert.ok(conversionCommands(report).includes(`aws eks create-access-entry --cluster-name="$CLUSTER" --cli-input-json '{"principalArn":"${role('admins', '/team/')}","type":"STANDARD","username":"admin:{{SessionName}}","kubernetesGroups":["ops","auditors"]}'`));
  });

  it('custom groups only: STANDARD with the same username and groups', () => {
    const report = convert(configMap(`- {rolearn: "${role('viewers')}", username: "viewer:{{SessionNameRaw}}", groups: [viewers, devs]}`), paths('viewers'));
    assert.deepEqual(first(report), [{ kind: 'entry', entry: { principalArn: role('viewers'), type: 'STANDARD', username: 'viewer:{{SessionNameRaw}}', kubernetesGroups: ['viewers', 'devs'], policies: [] } }]);
  });

  it('other system: groups on a principal that is not a node: none, and API would lock it out', () => {
    const text = configMap(`- {rolearn: "${role('bootstrap')}", username: "bootstrap", groups: [system:bootstrappers]}\n- {rolearn: "${role('proxy')}", username: "proxy", groups: [system:node-proxier, proxies]}`);
    const api = convert(text, paths('bootstrap', 'proxy'));
    assert.deepEqual(api.conversions.map((conversion) => conversion.outcomes.map((outcome) => outcome.kind)), [['none'], ['none']]);
    assert.deepEqual(rules(api), ['error ae-system-group', 'error ae-system-group']);
    assert.deepEqual(api.lockedOut.map((item) => item.where), ['mapRoles[0]', 'mapRoles[1]']);
    assert.ok(!conversionCommands(api).some((command) => command.includes('authenticationMode=API ') || command.endsWith('authenticationMode=API')), 'no switch to API while someone would be locked out');
    const both = convert(text, { ...paths('bootstrap', 'proxy'), targetMode: 'API_AND_CONFIG_MAP' });
    assert.deepEqual(rules(both), ['warning ae-system-group', 'warning ae-system-group'], 'aws-auth keeps serving them');
    assert.deepEqual(both.lockedOut, []);
    assert.deepEqual(both.remainOnAwsAuth.map((item) => item.where), ['mapRoles[0]', 'mapRoles[1]']);
  });

  it('mapUsers: STANDARD with the user ARN (users have no path problem)', () => {
    const report = convert(configMap(`- {rolearn: "${role('x')}", username: x}`, `  mapUsers: |\n    - {userarn: "arn:aws:iam::${A}:user/ops/alice", username: alice, groups: [developers]}\n`), paths('x'));
    assert.deepEqual(report.conversions[1]!.outcomes, [{ kind: 'entry', entry: { principalArn: `arn:aws:iam::${A}:user/ops/alice`, type: 'STANDARD', username: 'alice', kubernetesGroups: ['developers'], policies: [] } }]);
  });

  it('mapAccounts: none, and it blocks API', () => {
    const report = convert(configMap(`- {rolearn: "${role('x')}", username: x}`, '  mapAccounts: |\n    - "444455556666"\n'), paths('x'));
    assert.deepEqual(report.conversions[1], { where: 'mapAccounts[0]', subject: '444455556666', outcomes: [{ kind: 'none', reason: report.lockedOut[0]!.reason }] });
    assert.deepEqual(rules(report), ['error ae-map-accounts']);
  });

  it('role paths: taken from --role-paths; a role missing from it, or an SSO role without it, is flagged, never guessed; without a map the ARN is used as written, with a warning', () => {
    const entry = (name: string) => `- {rolearn: "${role(name)}", username: "u:{{SessionName}}", groups: [g]}`;
    const mapped = convert(configMap(`${entry('deploy')}\n${entry('gone')}`), { rolePaths: rolePaths(role('deploy', '/service-role/ci/')) });
    assert.equal(mapped.conversions[0]!.outcomes[0]!.kind === 'entry' && mapped.conversions[0]!.outcomes[0]!.entry.principalArn, role('deploy', '/service-role/ci/'));
    assert.deepEqual(mapped.conversions[1]!.outcomes, [{ kind: 'none', reason: 'gone is not in --role-paths: its path (if any) is unknown' }]);
    assert.deepEqual(rules(mapped), ['error ae-role-path-missing']);
    const unmapped = convert(configMap(`${entry('deploy')}\n${entry('AWSReservedSSO_Admin_0123456789abcdef')}`));
    assert.equal(unmapped.conversions[0]!.outcomes[0]!.kind, 'entry');
    assert.deepEqual(rules(unmapped), ['warning ae-role-path-unverified', 'error ae-role-path-missing']);
    assert.match(unmapped.findings[1]!.message, /\/aws-reserved\/sso\.amazonaws\.com\/… path: give --role-paths/);
  });

  it('a rolearn that carries a path never matched in aws-auth: converted with it, and said so', () => {
    const report = convert(configMap(`- {rolearn: "${role('devs', '/team/')}", username: "d:{{SessionName}}"}`));
    assert.equal(firstEntry(report).principalArn, role('devs', '/team/'));
    assert.deepEqual(rules(report), ['warning ae-path-never-matched']);
  });

  it('an sso matcher: one entry per AWSReservedSSO_ role of its account in --role-paths; none without', () => {
    const text = configMap(`- {sso: {permissionSetName: Admin, accountID: "${A}"}, username: "sso:{{SessionName}}", groups: [admins]}`);
    const sso = (suffix: string) => role(`AWSReservedSSO_Admin_${suffix}`, '/aws-reserved/sso.amazonaws.com/eu-west-1/');
    const listed = convert(text, { rolePaths: rolePaths(sso('0123456789abcdef'), sso('fedcba9876543210'), role('AWSReservedSSO_Viewer_1111', '/aws-reserved/sso.amazonaws.com/')) });
    assert.deepEqual(
      first(listed).map((outcome) => outcome.kind === 'entry' && outcome.entry.principalArn),
      [sso('0123456789abcdef'), sso('fedcba9876543210')],
    );
    const blind = convert(text);
    assert.deepEqual(first(blind).map((outcome) => outcome.kind), ['none']);
    assert.deepEqual(rules(blind), ['error ae-sso-matcher']);
  });

  it('a service-linked role: none', () => {
    const viaMap = convert(configMap(`- {rolearn: "${role('AWSServiceRoleForAmazonEKSNodegroup')}", username: "x:{{SessionName}}"}`), { rolePaths: rolePaths(role('AWSServiceRoleForAmazonEKSNodegroup', '/aws-service-role/eks-nodegroup.amazonaws.com/')) });
    assert.deepEqual(rules(viaMap), ['error ae-service-linked-role']);
    assert.deepEqual(rules(convert(configMap(`- {rolearn: "${role('AWSServiceRoleForX')}", username: "x:{{SessionName}}"}`))), ['error ae-service-linked-role']);
  });

  it('{{AccountID}} in a username is replaced by the account', () => {
    const report = convert(configMap(`- {rolearn: "${role('ops')}", username: "ops:{{AccountID}}:{{SessionName}}", groups: [ops]}`), paths('ops'));
    assert.equal(firstEntry(report).username, `ops:${A}:{{SessionName}}`);
    assert.deepEqual(rules(report), ['warning ae-account-template']);
  });

  it('{{SessionName}} / {{SessionNameRaw}}: kept after a colon, refused before one', () => {
    const report = convert(configMap(`- {rolearn: "${role('a')}", username: "john{{SessionName}}"}\n- {rolearn: "${role('b')}", username: ":john{{SessionName}}"}\n- {rolearn: "${role('c')}", username: "{{SessionNameRaw}}"}`), paths('a', 'b', 'c'));
    assert.deepEqual(report.conversions.map((conversion) => conversion.outcomes[0]!.kind), ['none', 'entry', 'none']);
    assert.deepEqual(rules(report), ['error ae-username', 'error ae-username']);
    assert.match(report.findings[0]!.message, /username "john\{\{SessionName\}\}": InvalidParameterException: .* must come after a colon/);
  });

  it('{{AccessKeyID}}, or {{EC2PrivateDNSName}} on a role that is not a node: none', () => {
    const report = convert(configMap(`- {rolearn: "${role('a')}", username: "k:{{AccessKeyID}}"}\n- {rolearn: "${role('b')}", username: "n:{{EC2PrivateDNSName}}", groups: [builders]}`), paths('a', 'b'));
    assert.deepEqual(rules(report), ['error ae-username', 'error ae-username']);
  });

  it('a reserved username prefix (eks:, system: on a principal outside system:nodes): none', () => {
    const report = convert(configMap(`- {rolearn: "${role('a')}", username: "eks:admin"}\n- {rolearn: "${role('b')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [builders]}`), paths('a', 'b'));
    assert.deepEqual(rules(report), ['error ae-username', 'error ae-username']);
  });

  it('a templated group: none; groups an entry cannot carry are dropped, and said so', () => {
    const templated = convert(configMap(`- {rolearn: "${role('t')}", username: "t:{{SessionName}}", groups: ["team-{{AccountID}}"]}`), paths('t'));
    assert.deepEqual(rules(templated), ['error ae-group-template']);
    const dropped = convert(
      configMap(`- {rolearn: "${role('ng')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes, monitoring]}\n- {rolearn: "${role('adm')}", username: "adm", groups: [system:masters, system:bootstrappers]}`),
      paths('ng', 'adm'),
    );
    assert.deepEqual(rules(dropped), ['warning ae-dropped-groups', 'warning ae-masters', 'warning ae-dropped-groups']);
    assert.deepEqual(dropped.conversions.map((conversion) => conversion.outcomes[0]!.kind === 'entry' && conversion.outcomes[0]!.entry.kubernetesGroups), [[], []]);
  });

  it('duplicate ARNs: one entry, from the entry the authenticator uses (the last), and the divergence from eksctl (the first) reported', () => {
    const report = convert(configMap(`- {rolearn: "${role('admins')}", username: first, groups: [one]}\n- {rolearn: "${role('Admins')}", username: second, groups: [two]}`), paths('admins'));
    assert.deepEqual(report.conversions[0]!.outcomes, [{ kind: 'ignored', inForce: 'mapRoles[1]' }]);
    assert.equal(report.conversions[1]!.outcomes[0]!.kind === 'entry' && report.conversions[1]!.outcomes[0]!.entry.username, 'second');
    assert.deepEqual(rules(report), ['warning ae-duplicate']);
    assert.match(report.findings[0]!.message, /aws-iam-authenticator uses mapRoles\[1\] .*eksctl's migration would convert mapRoles\[0\] \(username "first", groups one\)/);
    const identical = convert(configMap(`- {rolearn: "${role('a')}", username: same}\n- {rolearn: "${role('a')}", username: same}`), paths('a'));
    assert.deepEqual(rules(identical), [], 'no divergence when both say the same');
    assert.equal(conversionCommands(identical).filter((command) => command.startsWith('aws eks create-access-entry')).length, 1);
  });

  it('an ARN that already has an access entry: nothing to create (the entry wins already), differences reported; its path serves the conversion', () => {
    const existing = readAccessEntries(
      JSON.stringify([{ accessEntry: { principalArn: role('admins', '/team/'), username: 'admin:{{SessionName}}', kubernetesGroups: ['ops'], type: 'STANDARD' } }, { accessEntry: { principalArn: role('nodes'), type: 'EC2_LINUX' } }]),
      { source: 'entries.json' },
    );
    assert.ok(existing.ok);
    const report = convert(
      configMap(`- {rolearn: "${role('admins')}", username: "admin:{{SessionName}}", groups: [system:masters, ops]}\n- {rolearn: "${role('nodes')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}`),
      { existing: existing.value },
    );
    assert.deepEqual(report.conversions.map((conversion) => conversion.outcomes), [[{ kind: 'existing', principalArn: role('admins', '/team/') }], [{ kind: 'existing', principalArn: role('nodes') }]]);
    assert.deepEqual(rules(report), ['warning ae-existing-entry'], 'the path came from the existing entry, not guessed; the node entry says the same as aws-auth');
    assert.match(report.findings[0]!.message, /policies none, aws-auth implies AmazonEKSClusterAdminPolicy/);
    assert.ok(!conversionCommands(report).some((command) => command.startsWith('aws eks create-access-entry')));
  });

  it('API is switched to only when nobody would be locked out; a node role that cannot be converted is locked out (nodes stop joining)', () => {
    const clean = convert(configMap(`- {rolearn: "${role('ng')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}`), paths('ng'));
    assert.equal(conversionCommands(clean).at(-1), 'aws eks update-cluster-config --name="$CLUSTER" --access-config authenticationMode=API');
    assert.equal(conversionCommands(clean)[1], 'aws eks update-cluster-config --name="$CLUSTER" --access-config authenticationMode=API_AND_CONFIG_MAP');
    const stuck = convert(configMap(`- {rolearn: "${role('ng')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}\n- {rolearn: "${role('ng-old')}", username: "node-{{SessionName}}", groups: [system:nodes]}`), paths('ng', 'ng-old'));
    assert.deepEqual(stuck.lockedOut.map((item) => item.subject), [role('ng-old')]);
    assert.deepEqual(rules(stuck), ['error ae-node-username']);
    assert.match(conversionCommands(stuck).at(-1)!, /^# Not API yet: it would lock out 1 aws-auth entry/);
    const modes: TargetMode[] = ['API', 'API_AND_CONFIG_MAP'];
    assert.deepEqual(
      modes.map((targetMode) => conversionCommands(convert(configMap(`- {rolearn: "${role('ng')}", username: x}`), { ...paths('ng'), targetMode })).some((command) => command.endsWith('authenticationMode=API'))),
      [true, false],
    );
  });

  it('authentication modes one step at a time: an update per step still to take, none for the mode in force, a step back refused with the API message', () => {
    const text = configMap(`- {rolearn: "${role('ng')}", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}`);
    const updates = (options: Partial<ConversionOptions>): string[] =>
      conversionCommands(convert(text, { ...paths('ng'), ...options })).flatMap((command) => /authenticationMode=(\w+)$/.exec(command)?.slice(1) ?? []);
    assert.deepEqual(updates({ targetMode: 'API' }), ['API_AND_CONFIG_MAP', 'API'], 'from CONFIG_MAP (the default): two steps, never the jump');
    assert.deepEqual(updates({ currentMode: 'API_AND_CONFIG_MAP', targetMode: 'API' }), ['API']);
    assert.deepEqual(updates({ currentMode: 'API_AND_CONFIG_MAP', targetMode: 'API_AND_CONFIG_MAP' }), [], 'no request for the mode in force');
    assert.deepEqual(updates({ currentMode: 'API', targetMode: 'API' }), []);
    assert.match(conversionCommands(convert(text, { ...paths('ng'), currentMode: 'API_AND_CONFIG_MAP' }))[0]!, /in API_AND_CONFIG_MAP already: no mode update/);
    const back = convertAwsAuth(readAwsAuth(text).config, { currentMode: 'API', targetMode: 'API_AND_CONFIG_MAP', rolePaths: undefined, existing: undefined });
    assert.ok(!back.ok);
    assert.match(back.error, /^InvalidParameterException: Unsupported authentication mode update from API to API_AND_CONFIG_MAP /);
    const existing = readAccessEntries(JSON.stringify([{ accessEntry: { principalArn: role('ops') } }]), { source: 'entries.json' });
    assert.ok(existing.ok);
    const noEntries = convertAwsAuth(readAwsAuth(text).config, { currentMode: 'CONFIG_MAP', targetMode: 'API', rolePaths: undefined, existing: existing.value });
    assert.ok(!noEntries.ok && /CONFIG_MAP has no access entries/.test(noEntries.error));
    assert.deepEqual(updates({ existing: existing.value }), ['API'], 'with entries the cluster is in API_AND_CONFIG_MAP at least');
  });

  it('the type of an existing entry cannot change: a differing aws-auth mapping says to delete and create it again', () => {
    const existing = readAccessEntries(JSON.stringify([{ accessEntry: { principalArn: role('ops'), type: 'EC2_LINUX' } }]), { source: 'entries.json' });
    assert.ok(existing.ok);
    const report = convert(configMap(`- {rolearn: "${role('ops')}", username: ops, groups: [ops]}`), { existing: existing.value });
    assert.deepEqual(rules(report), ['warning ae-existing-entry']);
    assert.match(report.findings[0]!.message, /type EC2_LINUX, aws-auth says STANDARD \(InvalidParameterException: the type of an access entry cannot be changed \(EC2_LINUX to STANDARD\): delete the entry and create it again\)/);
  });

  it("commands: one --cli-input-json document per call, printable ASCII without ' (the rest \\u-escaped), so names are never options, files or shell syntax", () => {
    const report = convert(configMap(`- {rolearn: "${role('q')}", username: "o'brien:{{SessionName}}", groups: ["--principal-arn=arn:aws:iam::999999999999:role/x", "a\\u0000b\\u001b[2J", "\\u00e9\\u2028\\U0001F600"]}`), paths('q'));
    const create = conversionCommands(report).find((command) => command.startsWith('aws eks create-access-entry'));
    assert.equal(
      create,
      `aws eks create-access-entry --cluster-name="$CLUSTER" --cli-input-json '{"principalArn":"${role('q')}","type":"STANDARD","username":"o\\u0027brien:{{SessionName}}","kubernetesGroups":["--principal-arn=arn:aws:iam::999999999999:role/x","a\\u0000b\\u001b[2J","\\u00e9\\u2028\\ud83d\\ude00"]}'`,
    );
    const json = /--cli-input-json '(.*)'$/.exec(create!)![1]!;
    assert.deepEqual(JSON.parse(json), { principalArn: role('q'), type: 'STANDARD', username: "o'brien:{{SessionName}}", kubernetesGroups: ['--principal-arn=arn:aws:iam::999999999999:role/x', 'a\u0000b\u001b[2J', '\u00e9\u2028\u{1F600}'] });
  });

  it('an STS session ARN or a non-IAM ARN: none', () => {
    const report = convert(configMap(`- {rolearn: "arn:aws:sts::${A}:assumed-role/admins/bob", username: x}\n- {rolearn: "arn:aws:iam::${A}:group/admins", username: y}`));
    assert.deepEqual(rules(report), ['error ae-invalid-principal', 'error ae-invalid-principal']);
  });
});

describe('lint-aws-auth --to-access-entries and --output on the command line', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-convert-'));
    writeFileSync(
      join(dir, 'aws-auth.yaml'),
      configMap(
        [
          `- rolearn: ${role('ng')}`,
          '  username: system:node:{{EC2PrivateDNSName}}',
          '  groups: [system:bootstrappers, system:nodes]',
          `- rolearn: ${role('admins')}`,
          '  username: admin:{{SessionName}}',
          '  groups: [system:masters]',
        ].join('\n'),
        '  mapAccounts: |\n    - "444455556666"\n',
      ),
    );
    writeFileSync(join(dir, 'roles.json'), JSON.stringify({ Roles: [{ Arn: role('ng'), RoleName: 'ng', Path: '/' }, { Arn: role('admins', '/team/'), RoleName: 'admins', Path: '/team/' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('text: the entries, the commands, who API locks out, then the findings; exit 1 for the locked-out account', async () => {
    const result = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml'), '--to-access-entries', '--role-paths', join(dir, 'roles.json')]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /: access entries for authentication mode API\n\nmapRoles\[0\] arn:aws:iam::111122223333:role\/ng\n {2}→ EC2_LINUX arn:aws:iam::111122223333:role\/ng\n/);
    assert.match(result.stdout, /→ STANDARD arn:aws:iam::111122223333:role\/team\/admins {2}username admin:\{\{SessionName\}\} {2}policies AmazonEKSClusterAdminPolicy \(cluster\)/);
    assert.match(result.stdout, /locked out by API \(1\):\n {2}mapAccounts\[0\] 444455556666: /);
    assert.match(result.stdout, /error \[ae-map-accounts\] mapAccounts\[0\]/);
    const both = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml'), '--to-access-entries', '--target-mode', 'API_AND_CONFIG_MAP', '--role-paths', join(dir, 'roles.json')]);
    assert.equal(both.code, 0, both.stdout);
    assert.match(both.stdout, /locked out by API_AND_CONFIG_MAP: nobody/);
  });

  it('json: the findings with their lines and the conversion', async () => {
    const result = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml'), '--to-access-entries', '--output', 'json']);
    assert.equal(result.code, 1);
    const output = JSON.parse(result.stdout) as { findings: Array<{ rule: string; line?: number; where: string }>; accessEntries: { targetMode: string; lockedOut: unknown[] } };
    assert.deepEqual(
      output.findings.map((finding) => [finding.rule, finding.where, finding.line]),
      [
        ['ae-role-path-unverified', 'mapRoles[0]', 6],
        ['ae-role-path-unverified', 'mapRoles[1]', 9],
        ['ae-masters', 'mapRoles[1]', 9],
        ['ae-map-accounts', 'mapAccounts[0]', 13],
      ],
    );
    assert.equal(output.accessEntries.targetMode, 'API');
    assert.equal(output.accessEntries.lockedOut.length, 1);
  });

  it('sarif: SARIF 2.1.0, every rule in the driver, results with rule ids, levels and file lines', async () => {
    const result = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml'), '--to-access-entries', '--output', 'sarif', '--role-paths', join(dir, 'roles.json')]);
    assert.equal(result.code, 1);
    const sarif = JSON.parse(result.stdout) as {
      version: string;
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string; shortDescription: { text: string }; defaultConfiguration: { level: string } }> } };
        results: Array<{ ruleId: string; ruleIndex: number; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }> }>;
      }>;
    };
    assert.equal(sarif.version, '2.1.0');
    const [run] = sarif.runs;
    const ids = run!.tool.driver.rules.map((rule) => rule.id);
    for (const id of ['duplicate-arn', 'node-role-username', 'ae-map-accounts', 'ae-system-group']) assert.ok(ids.includes(id), id);
    assert.deepEqual(
      run!.results.map((item) => [item.ruleId, ids[item.ruleIndex], item.level, item.locations[0]!.physicalLocation.region?.startLine]),
      [
        ['ae-masters', 'ae-masters', 'warning', 9],
        ['ae-map-accounts', 'ae-map-accounts', 'error', 13],
      ],
    );
    assert.match(run!.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri, /^file:\/\/\/.*\/aws-auth\.yaml$/);
    const clean = await runCli(['lint-aws-auth', join(dir, 'roles.json'), '--output', 'sarif']);
    assert.equal(clean.code, 1, 'not a ConfigMap is an error finding');
    assert.equal((JSON.parse(clean.stdout) as { runs: Array<{ results: Array<{ ruleId: string }> }> }).runs[0]!.results[0]!.ruleId, 'not-a-configmap');
  });

  it('refuses conversion flags without --to-access-entries, and unusable role paths or entries files, in one line with exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--target-mode', 'API'], /--target-mode needs --to-access-entries/],
      [['--role-paths', join(dir, 'roles.json')], /--role-paths needs --to-access-entries/],
      [['--to-access-entries', '--target-mode', 'CONFIG_MAP'], /Allowed choices are API, API_AND_CONFIG_MAP/],
      [['--to-access-entries', '--role-paths', join(dir, 'aws-auth.yaml')], /expected a list of role ARNs, or aws iam list-roles output/],
      [['--to-access-entries', '--access-entries', join(dir, 'roles.json')], /is neither describe-access-entry output/],
      [['--output', 'xml'], /Allowed choices are text, json, yaml, sarif/],
      [['--current-mode', 'API'], /--current-mode needs --to-access-entries/],
      [['--to-access-entries', '--current-mode', 'API', '--target-mode', 'API_AND_CONFIG_MAP'], /^pod-identity-webhook: InvalidParameterException: Unsupported authentication mode update from API to API_AND_CONFIG_MAP/],
      [['--to-access-entries', '--current-mode', 'CONFIG_MAP', '--access-entries', join(FIXTURES, 'aws-auth', 'access-entries', 'valid.json')], /CONFIG_MAP has no access entries/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml'), ...flags]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stdout}`);
      assert.match(result.stderr, /^pod-identity-webhook: /);
      assert.match(result.stderr, message);
    }
  });

  describe('the catalog rules on existing entries: one fixture per rule (test/fixtures/aws-auth/access-entries/<rule>.json)', () => {
    const directory = join(FIXTURES, 'aws-auth', 'access-entries');
    const files = readdirSync(directory).filter((file) => file.endsWith('.json')).sort();

    it('has a fixture for every catalog rule, and a valid one', () => {
      assert.deepEqual(files, ['ae-auto-node-extra-policy.json', 'ae-auto-node-policy-missing.json', 'ae-service-linked-policy.json', 'ae-unknown-policy.json', 'valid.json']);
    });

    for (const file of files) {
      const rule = file.replace(/\.json$/, '');
      it(`${file}: ${rule === 'valid' ? 'no finding about the entries' : `exactly the ${rule} warning, in SARIF with its rule`}`, async () => {
        const result = await runCli(['lint-aws-auth', join(FIXTURES, 'aws-auth', 'valid.yaml'), '--to-access-entries', '--target-mode', 'API_AND_CONFIG_MAP', '--access-entries', join(directory, file), '--output', 'sarif']);
        assert.equal(result.code, 0, result.stderr);
        const run = (JSON.parse(result.stdout) as { runs: Array<{ tool: { driver: { rules: Array<{ id: string }> } }; results: Array<{ ruleId: string; level: string; message: { text: string }; locations: Array<{ logicalLocations: Array<{ name: string }> }> }> }> }).runs[0]!;
        const aboutEntries = run.results.filter((item) => item.locations[0]!.logicalLocations[0]!.name.startsWith('access entry '));
        assert.deepEqual(aboutEntries.map((item) => [item.ruleId, item.level]), rule === 'valid' ? [] : [[rule, 'warning']]);
        if (rule !== 'valid') {
          assert.ok(run.tool.driver.rules.some((candidate) => candidate.id === rule));
          assert.match(aboutEntries[0]!.message.text, /^access entry arn:aws:iam::111122223333:role\/[\w-]+: /);
        }
      });
    }
  });
});
