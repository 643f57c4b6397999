import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONVERSION_RULES } from '../../src/authenticator/conversion-rules.js';
import { LINT_RULES, lintAwsAuth } from '../../src/authenticator/lint-aws-auth.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';

const DIRECTORY = join(FIXTURES, 'aws-auth');
const WARNINGS = new Set(['user-masters']);

describe('lint-aws-auth: one fixture per rule (test/fixtures/aws-auth/<rule>.yaml)', () => {
  const files = readdirSync(DIRECTORY).filter((file) => file.endsWith('.yaml')).sort();

  it('has a fixture for every rule', () => {
    assert.deepEqual(
      files.map((file) => file.replace(/\.yaml$/, '')),
      ['assumed-role-arn', 'caller-chosen-username', 'duplicate-arn', 'invalid-account', 'invalid-arn', 'invalid-entry', 'invalid-yaml', 'node-role-masters', 'node-role-username', 'not-a-configmap', 'reserved-username', 'role-arn-path', 'unknown-template', 'unsafe-name', 'user-masters', 'valid'],
    );
  });

  for (const file of files) {
    const rule = file.replace(/\.yaml$/, '');
    it(`${file}: ${rule === 'valid' ? 'no findings' : `exactly the ${rule} finding, with an explanation`}`, () => {
      const findings = lintAwsAuth(readFileSync(join(DIRECTORY, file), 'utf8'));
      assert.deepEqual(findings.map((finding) => finding.rule), rule === 'valid' ? [] : [rule]);
      for (const finding of findings) {
        assert.equal(finding.severity, WARNINGS.has(rule) ? 'warning' : 'error');
        assert.ok(finding.explanation.length > 40);
      }
    });
  }

  it('duplicate-arn names the entry in force: the last mapRoles one, else the last mapUsers one', () => {
    const messages = (text: string): string[] => lintAwsAuth(text).filter((finding) => finding.rule === 'duplicate-arn').map((finding) => finding.message);
    assert.deepEqual(messages(readFileSync(join(DIRECTORY, 'duplicate-arn.yaml'), 'utf8')), [
      'mapRoles[0] (arn:aws:iam::111122223333:role/admins) is ignored: mapRoles[1] maps the same ARN and is the one in force',
    ]);
    const crossList = `apiVersion: v1
kind: ConfigMap
data:
  mapUsers: |
    - {userarn: "arn:aws:iam::111122223333:user/Dave", username: d1}
    - {userarn: "arn:aws:iam::111122223333:user/dave", username: d2}
    - {userarn: "arn:aws:iam::111122223333:user/erin", username: e1}
  mapRoles: |
    - {rolearn: "arn:aws:iam::111122223333:user/erin", username: e2}
`;
    assert.deepEqual(messages(crossList), [
      'mapUsers[2] (arn:aws:iam::111122223333:user/erin) is ignored: mapRoles[0] maps the same ARN and is the one in force',
      'mapUsers[0] (arn:aws:iam::111122223333:user/Dave) is ignored: mapUsers[1] maps the same ARN and is the one in force (aws-iam-authenticator keys mapUsers by the exact ARN and picks between entries that differ only in case at random)',
    ]);
  });

  it('unsafe-name: a username or group beginning with -, or holding control characters, in mapRoles, mapUsers and sso matchers; shown escaped', async () => {
    const text = `apiVersion: v1
kind: ConfigMap
data:
  mapRoles: |
    - {rolearn: "arn:aws:iam::111122223333:role/a", username: "-a", groups: ["ok", "x\\ny", "\\u202eevil"]}
    - {sso: {permissionSetName: Admin, accountID: "111122223333"}, username: "s:{{SessionName}}", groups: ["-s"]}
  mapUsers: |
    - {userarn: "arn:aws:iam::111122223333:user/b", username: "b\\u0007", groups: ["-"]}
`;
    const unsafe = lintAwsAuth(text).filter((finding) => finding.rule === 'unsafe-name');
    assert.deepEqual(
      unsafe.map((finding) => [finding.severity, finding.message]),
      [
        ['error', 'mapRoles[0] (arn:aws:iam::111122223333:role/a): username "-a" begins with -'],
        ['error', 'mapRoles[0] (arn:aws:iam::111122223333:role/a): group "x\\ny" holds control characters'],
        ['error', 'mapRoles[0] (arn:aws:iam::111122223333:role/a): group "\u202eevil" holds control characters'],
        ['error', 'mapUsers[0] (arn:aws:iam::111122223333:user/b): username "b\\u0007" holds control characters'],
        ['error', 'mapUsers[0] (arn:aws:iam::111122223333:user/b): group "-" begins with -'],
        ['error', 'mapRoles[1] (sso Admin in 111122223333): group "-s" begins with -'],
      ],
    );
    const dir = mkdtempSync(join(tmpdir(), 'piw-lint-'));
    try {
      writeFileSync(join(dir, 'aws-auth.yaml'), text);
      const result = await runCli(['lint-aws-auth', join(dir, 'aws-auth.yaml')]);
      assert.equal(result.code, 1);
      assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.test(result.stdout), 'the text output carries no control character but its line ends');
      assert.match(result.stdout, /group "\\u202eevil" holds control characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('caller-chosen-username: a session template ({{SessionName}}, {{SessionNameRaw}}, {{EC2PrivateDNSName}}) with no ":" before it; with --to-access-entries too', async () => {
    const usernames = ['{{SessionName}}', '{{ SessionNameRaw }}', 'john{{SessionName}}', '{{SessionName}}:admin', '{{EC2PrivateDNSName}}', 'admin:{{SessionName}}', 'system:node:{{EC2PrivateDNSName}}', '{{AccountID}}-ops', 'k:{{AccessKeyID}}'];
    const text = `apiVersion: v1\nkind: ConfigMap\ndata:\n  mapRoles: |\n${usernames.map((username, index) => `    - {rolearn: "arn:aws:iam::111122223333:role/r${index}", username: "${username}", groups: [g]}`).join('\n')}\n`;
    const flagged = lintAwsAuth(text).filter((finding) => finding.rule === 'caller-chosen-username');
    assert.deepEqual(flagged.map((finding) => finding.where), ['mapRoles[0]', 'mapRoles[1]', 'mapRoles[2]', 'mapRoles[3]', 'mapRoles[4]']);
    assert.equal(flagged[0]!.message, 'mapRoles[0] (arn:aws:iam::111122223333:role/r0): username "{{SessionName}}": whoever assumes the role chooses the whole username');
    assert.equal(flagged[2]!.message, 'mapRoles[2] (arn:aws:iam::111122223333:role/r2): username "john{{SessionName}}": whoever assumes the role chooses everything after "john"');
    assert.match(flagged[3]!.message, /username "\{\{SessionName\}\}:admin": whoever assumes the role chooses how the username begins$/);
    assert.match(flagged[4]!.message, /whoever can assume the role directly chooses the whole username$/);
    assert.match(LINT_RULES['caller-chosen-username']!.explanation, /\{\{EC2PrivateDNSName\}\}.*assume the node role directly/);
    for (const flags of [[], ['--to-access-entries']]) {
      const result = await runCli(['lint-aws-auth', join(DIRECTORY, 'caller-chosen-username.yaml'), ...flags]);
      assert.equal(result.code, 1, flags.join(' '));
      assert.match(result.stdout, /error \[caller-chosen-username\] mapRoles\[0\]/, flags.join(' '));
    }
  });

  it('reserved-username: a username whose fixed start is a prefix the authenticator reserves for aws-auth (eks:, aws:, amazon:, iam:); system:node: is not', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\ndata:\n  mapRoles: |\n    - {rolearn: "arn:aws:iam::111122223333:role/a", username: "aws:ops"}\n    - {rolearn: "arn:aws:iam::111122223333:role/b", username: "iam:{{SessionName}}"}\n    - {rolearn: "arn:aws:iam::111122223333:role/c", username: "system:node:{{EC2PrivateDNSName}}", groups: [system:nodes]}\n  mapUsers: |\n    - {userarn: "arn:aws:iam::111122223333:user/d", username: "amazon:d"}\n`;
    assert.deepEqual(
      lintAwsAuth(text).map((finding) => `${finding.rule} ${finding.message}`),
      [
        'reserved-username mapRoles[0] (arn:aws:iam::111122223333:role/a): username "aws:ops" begins with aws:',
        'reserved-username mapRoles[1] (arn:aws:iam::111122223333:role/b): username "iam:{{SessionName}}" begins with iam:',
        'reserved-username mapUsers[0] (arn:aws:iam::111122223333:user/d): username "amazon:d" begins with amazon:',
      ],
    );
  });

  it('invalid-arn says that the authenticator refuses a login the malformed entry matches', () => {
    assert.match(LINT_RULES['invalid-arn']!.explanation, /refuse/);
  });

  it('every rule is in a rules table of docs/cluster-login.md with its severity, and has a fixture (lint, or ae- on existing entries) or a conversion test (ae-)', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cluster-login.md'), 'utf8');
    for (const [id, rule] of Object.entries({ ...LINT_RULES, ...CONVERSION_RULES })) {
      const row = new RegExp(`^\\| \`${id}\` \\| ([^|]+) \\|`, 'm').exec(doc);
      assert.ok(row, `docs/cluster-login.md has no row for ${id}`);
      assert.ok(row[1]!.startsWith(rule.severity), `${id}: docs/cluster-login.md says ${row[1]}, the rule ${rule.severity}`);
    }
    assert.deepEqual(Object.keys(LINT_RULES).sort(), readdirSync(DIRECTORY).filter((file) => file.endsWith('.yaml') && file !== 'valid.yaml').map((file) => file.replace(/\.yaml$/, '')).sort());
    const conversionTests = readFileSync(join(ROOT, 'test', 'auth', 'convert.test.ts'), 'utf8');
    // The rules about entries the cluster has run on a fixture of their own (test/fixtures/aws-auth/access-entries/<rule>.json, tested there).
    const entryFixtures = readdirSync(join(DIRECTORY, 'access-entries'));
    for (const id of Object.keys(CONVERSION_RULES)) assert.ok(conversionTests.includes(`${id}'`) || entryFixtures.includes(`${id}.json`), `no conversion test expects ${id}`);
  });

  it('the lab aws-auth ConfigMap is clean', () => {
    assert.deepEqual(lintAwsAuth(readFileSync(join(ROOT, 'manifests', 'lab', 'aws-auth.yaml'), 'utf8')), []);
  });

  it('exits 1 on errors, 0 on warnings only or nothing, 2 for an unreadable file', async () => {
    const error = await runCli(['lint-aws-auth', join(DIRECTORY, 'node-role-username.yaml')]);
    assert.equal(error.code, 1);
    assert.match(error.stdout, /error \[node-role-username\] mapRoles\[0\] \(arn:aws:iam::111122223333:role\/eks-nodes\) is in system:nodes with username "eks-node"\n {4}The Node authorizer/);
    assert.match(error.stdout, /1 error\(s\), 0 warning\(s\)\n$/);
    assert.equal((await runCli(['lint-aws-auth', join(DIRECTORY, 'user-masters.yaml')])).code, 0);
    const clean = await runCli(['lint-aws-auth', join(DIRECTORY, 'valid.yaml')]);
    assert.equal(clean.code, 0);
    assert.match(clean.stdout, /no problems found/);
    const missing = await runCli(['lint-aws-auth', join(DIRECTORY, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^pod-identity-webhook: cannot read /);
  });
});
