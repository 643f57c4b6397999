import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPLAIN_CODES, LINKS } from '../../src/diagnose/explain/codes.js';
import type { ExplainReport } from '../../src/diagnose/report.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';

/**
 * Every fixture directory is a setup: `CODE` or `CODE--variant` must produce that code (the first
 * broken link, so nothing broken earlier in the chain), `ok-*` must hold. Each runs the real CLI
 * with the arguments in its `args` file, from the directory itself.
 */
const FIXTURES = join(ROOT, 'test', 'fixtures', 'explain');
const cases = readdirSync(FIXTURES).filter((name) => name !== 'common').sort();

async function explainFixture(name: string, extra: readonly string[] = []): Promise<{ code: number; report: ExplainReport; stdout: string; stderr: string }> {
  const args = readFileSync(join(FIXTURES, name, 'args'), 'utf8').split('\n').filter((line) => line !== '');
  const result = await runCli(['explain', ...args, '--output', 'json', ...extra], { cwd: join(FIXTURES, name) });
  let report: ExplainReport;
  try {
    report = JSON.parse(result.stdout) as ExplainReport;
  } catch {
    throw new Error(`${name}: exit ${result.code}, not JSON: ${result.stdout}${result.stderr}`);
  }
  return { ...result, report };
}

describe('explain: a fixture for every code, and healthy setups', () => {
  it('every documented code has a fixture, and every fixture is a code or ok-*', () => {
    const codes = Object.keys(EXPLAIN_CODES);
    const named = cases.map((name) => name.split('--')[0]!);
    assert.deepEqual(codes.filter((code) => !named.includes(code)), [], 'codes without a fixture');
    assert.deepEqual(named.filter((name) => !name.startsWith('ok-') && !codes.includes(name)), [], 'fixtures naming no code');
    assert.ok(named.filter((name) => name.startsWith('ok-')).length >= 5);
  });

  for (const name of cases) {
    const expected = name.split('--')[0]!;
    if (expected.startsWith('ok-')) {
      it(`${name}: the chain holds (exit 0)`, async () => {
        const { code, report, stderr } = await explainFixture(name);
        // Offline (files given with --service-account): said once on stderr, nothing else.
        assert.match(stderr, /^explain: offline: [^\n]*\n$/);
        assert.equal(report.verdict, 'ok', JSON.stringify(report.links.filter((link) => link.status === 'broken'), null, 1));
        assert.equal(report.code, undefined);
        assert.equal(code, 0);
        // The permission link is reported when a call is asked about (--action), and only then.
        const asked = readFileSync(join(FIXTURES, name, 'args'), 'utf8').split('\n').includes('--action');
        assert.deepEqual(report.links.map((link) => link.name), LINKS.filter((link) => asked || link !== 'permission'));
      });
      continue;
    }
    it(`${name}: ${expected}, and nothing broken before it (exit 1)`, async () => {
      const { code, report } = await explainFixture(name);
      assert.equal(report.verdict, 'broken');
      assert.equal(report.code, expected, JSON.stringify(report.links.filter((link) => link.status === 'broken'), null, 1));
      const entry = EXPLAIN_CODES[expected as keyof typeof EXPLAIN_CODES];
      assert.equal(report.fix, entry.fix);
      const first = report.links.findIndex((link) => link.status === 'broken');
      const broken = report.links[first]!;
      assert.equal(broken.code, expected);
      assert.ok((entry.links as readonly string[]).includes(broken.name), `${expected} reported by ${broken.name}`);
      assert.ok(broken.detail.length > 0);
      assert.equal(code, 1);
    });
  }

  it('the text report names every link, the code and the fix', async () => {
    const args = readFileSync(join(FIXTURES, 'TRUST_POLICY_CONDITION_FAILED', 'args'), 'utf8').split('\n').filter(Boolean);
    const result = await runCli(['explain', ...args], { cwd: join(FIXTURES, 'TRUST_POLICY_CONDITION_FAILED') });
    assert.equal(result.code, 1);
    for (const link of LINKS.filter((candidate) => candidate !== 'permission')) assert.match(result.stdout, new RegExp(`\\] ${link}`));
    assert.doesNotMatch(result.stdout, /\] permission/);
    assert.match(result.stdout, /\[BROKEN\] trust policy: TRUST_POLICY_CONDITION_FAILED/);
    assert.match(result.stdout, /system:serviceaccount:app:app names namespace "app" \(the pod's is "apps"\)/);
    assert.match(result.stdout, /\nverdict: broken at TRUST_POLICY_CONDITION_FAILED\nfix: correct the condition values/);
  });
});

describe('explain: what the broken links say', () => {
  const detailOf = async (name: string, link: string): Promise<string> => {
    const { report } = await explainFixture(name);
    return report.links.find((candidate) => candidate.name === link)!.detail.join('\n');
  };

  it('no configuration and no policy bound: says the webhook is not installed, not to remove an opt-out label', async () => {
    const { report } = await explainFixture('WEBHOOK_NOT_INSTALLED');
    const link = report.links.find((candidate) => candidate.name === 'webhook configuration')!;
    assert.match(link.detail.join('\n'), /no MutatingWebhookConfiguration/);
    assert.match(link.detail.join('\n'), /policy pod-identity-webhook-irsa: not evaluated: no binding names it/);
    assert.doesNotMatch(report.fix ?? '', /opt-out/);
    assert.match(report.fix ?? '', /^install the webhook/);
  });

  it('the JSON report carries its schemaVersion', async () => {
    const { report } = await explainFixture('ok-irsa');
    assert.equal(report.schemaVersion, 'explain.pod-identity-webhook/v1');
    assert.equal(Object.keys(report)[0], 'schemaVersion');
  });

  it('names the near-miss annotation key', async () => {
    assert.match(await detailOf('SA_NOT_ANNOTATED', 'service account'), /near misses: eks\.amazon\.com\/role-arn="arn:aws:iam::111122223333:role\/app" \(the webhook reads exactly eks\.amazonaws\.com\/role-arn\)/);
  });

  it('says why a role ARN is not one', async () => {
    assert.match(await detailOf('ROLE_ARN_INVALID', 'service account'), /eks\.amazonaws\.com\/role-arn="app": it does not start with arn:/);
  });

  it('names the selector that keeps the webhook from being called', async () => {
    assert.match(await detailOf('WEBHOOK_NOT_CALLED', 'webhook configuration'), /not called: objectSelector: pod-identity-webhook\.io\/skip NotIn \[true\], the labels have pod-identity-webhook\.io\/skip=true \(the pod\)/);
    assert.match(await detailOf('WEBHOOK_NOT_CALLED--namespace-excluded', 'webhook configuration'), /namespaceSelector: kubernetes\.io\/metadata\.name NotIn \[pod-identity-webhook\]/);
  });

  it('shows the override and the mount in the way', async () => {
    assert.match(await detailOf('ENV_OVERRIDES_IDENTITY', 'injection'), /container "app": sets AWS_ROLE_ARN="arn:aws:iam::111122223333:role\/legacy", which wins over the webhook's "arn:aws:iam::111122223333:role\/app"/);
    assert.match(await detailOf('MOUNT_PATH_CONFLICT', 'injection'), /volume "secrets" is mounted at "\/var\/run\/secrets\/eks\.amazonaws\.com\/serviceaccount\/", the token mount path/);
  });

  it('tells a stale pod from one never mutated', async () => {
    assert.match(await detailOf('POD_STALE', 'running pod'), /mutated for role arn:aws:iam::111122223333:role\/old; the ServiceAccount names arn:aws:iam::111122223333:role\/app now/);
    assert.match(await detailOf('POD_NOT_MUTATED', 'running pod'), /admitted without the webhook/);
  });

  it('names the volume the token variable points into, or says nothing is mounted there', async () => {
    assert.match(await detailOf('TOKEN_FILE_NOT_A_TOKEN', 'running pod'), /container "app": AWS_WEB_IDENTITY_TOKEN_FILE="\/var\/run\/secrets\/eks\.amazonaws\.com\/serviceaccount\/token": volume "aws-iam-token" \(emptyDir\) is not a projected serviceAccountToken for "sts\.amazonaws\.com" at "token"/);
    assert.match(await detailOf('TOKEN_FILE_NOT_A_TOKEN', 'injection'), /volume "aws-iam-token" is mounted at .*, the token mount path, and its AWS_WEB_IDENTITY_TOKEN_FILE points into it \(see running pod\)/);
    assert.match(await detailOf('TOKEN_FILE_NOT_A_TOKEN--mounted-elsewhere', 'running pod'), /AWS_WEB_IDENTITY_TOKEN_FILE="\/cache\/token": volume "aws-iam-token" \(emptyDir\)/);
    assert.match(await detailOf('TOKEN_FILE_NOT_A_TOKEN--pod-identity-nothing-mounted', 'running pod'), /AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="\/var\/run\/secrets\/pods\.eks\.amazonaws\.com\/serviceaccount\/eks-pod-identity-token": no volume is mounted there/);
  });

  it('says which credential source wins', async () => {
    assert.match(await detailOf('CREDENTIAL_SOURCE_SHADOWED', 'environment'), /AWS_ACCESS_KEY_ID \(from valueFrom\): static keys in the environment come first/);
    assert.match(await detailOf('CREDENTIAL_SOURCE_SHADOWED--pod-identity-web-identity', 'environment'), /the SDKs use web identity \(IRSA\) before container credentials/);
  });

  it('explains the token: audience, expiry, subject, an unregistered issuer', async () => {
    assert.match(await detailOf('TOKEN_AUDIENCE_MISMATCH', 'token'), /aud sts\.amazon\.com does not include sts\.amazonaws\.com/);
    assert.match(await detailOf('TOKEN_AUDIENCE_MISMATCH--provider', 'token'), /accepts sts\.amazonaws\.com, not vault: STS answers Incorrect token audience/);
    assert.match(await detailOf('TOKEN_EXPIRED', 'token'), /expired at 2026-06-01T11:00:00\.000Z \(now 2026-06-01T12:00:00\.000Z\)/);
    assert.match(await detailOf('TOKEN_SUBJECT_MISMATCH', 'token'), /sub "system:serviceaccount:apps:other" is not the pod's ServiceAccount \(system:serviceaccount:apps:app\)/);
    assert.match(await detailOf('ISSUER_NOT_TRUSTED--lab-provider', 'token'), /No OpenIDConnect provider found in your account for https:\/\/oidc\.eks\.us-west-2\.amazonaws\.com\/id\/NEWCLUSTER/);
  });

  it("shows a 1.32+ token's node and jti (JSON and text) to find in the audit log; a token without them is not an error", async () => {
    const detail = await detailOf('ok-node-token', 'token');
    assert.match(detail, /\nbound to pod app \(uid 5b0c7f4e-0000-4000-8000-000000000001\)\non node ip-10-0-1-7\.us-west-2\.compute\.internal \(uid 5b0c7f4e-0000-4000-8000-000000000003\)\n/);
    assert.match(detail, /\njti 0f6b1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4: JTI=0f6b1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4 in the audit log \(issued-credential-id of its TokenRequest, credential-id of its requests\)\n/);
    const args = readFileSync(join(FIXTURES, 'ok-node-token', 'args'), 'utf8').split('\n').filter(Boolean);
    const text = await runCli(['explain', ...args], { cwd: join(FIXTURES, 'ok-node-token') });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\n {9}on node ip-10-0-1-7\.us-west-2\.compute\.internal \(uid 5b0c7f4e-0000-4000-8000-000000000003\)\n {9}jti 0f6b1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4: JTI=/);
    const older = await detailOf('ok-token', 'token');
    assert.match(older, /\nno node claim \(kubernetes\.io\.node\): issued before Kubernetes 1\.32, by another issuer, or not bound to a pod\nno jti: issued before Kubernetes 1\.32 or by another issuer\n/);
  });

  it('image pulls: the ECR role and who may mint its token, the node credentials without it, and that role-arn does not pull', async () => {
    assert.match(await detailOf('ECR_ROLE_ARN_INVALID', 'image pull'), /eks\.amazonaws\.com\/ecr-role-arn="ecr-pull": it does not start with arn:/);
    const own = await detailOf('ok-image-pull', 'image pull');
    assert.match(own, /ECR images: "111122223333\.dkr\.ecr\.us-west-2\.amazonaws\.com\/app:1"$/m);
    assert.doesNotMatch(own, /migrate/, 'an image outside ECR is not listed');
    assert.match(own, /assumes this role with a pod token for sts\.amazonaws\.com .*system:serviceaccount:apps:app/);
    assert.match(own, /the pod mounts a token for sts\.amazonaws\.com, so its node may request one without RBAC/);
    assert.match(own, /role-arn="arn:aws:iam::111122223333:role\/app" is a different role: it does not pull images/);
    assert.match(await detailOf('ok-image-pull-pod-identity', 'image pull'), /mounts no token for sts\.amazonaws\.com: its node needs RBAC verb request-serviceaccounts-token-audience/);
    const node = await detailOf('ok-image-pull-node-credentials', 'image pull');
    assert.match(node, /no eks\.amazonaws\.com\/ecr-role-arn: .*the node's own credentials/);
    assert.match(node, /role-arn does not drive image pulls: .*cloud-provider-aws#1264/);
    assert.match(await detailOf('ok-irsa', 'image pull'), /^no image is in ECR \("registry\.example\/app:1"\)[^\n]*$/);
  });

  it('image pulls: the ECR role\'s OIDC provider audience and trust policy, for the pod\'s ServiceAccount and sts.amazonaws.com', async () => {
    assert.match(await detailOf('ok-image-pull-pod-identity', 'image pull'), /role arn:aws:iam::111122223333:role\/ecr-pull from lab-config\.yaml: sts:AssumeRoleWithWebIdentity with sub system:serviceaccount:apps:pod-app, aud sts\.amazonaws\.com\n[^]*allowed by statement EcrPull$/);
    assert.match(await detailOf('ECR_ROLE_NOT_TRUSTED', 'image pull'), /system:serviceaccount:apps:other names ServiceAccount "other" \(the pod's is "pod-app"\)/);
    assert.match(await detailOf('ECR_AUDIENCE_NOT_ALLOWED', 'image pull'), /accepts vault, not sts\.amazonaws\.com: STS answers Incorrect token audience/);
    assert.match(await detailOf('ok-image-pull', 'image pull'), /the ECR role's trust policy is not known here/);
    const notFromEcr = await explainFixture('ok-image-pull-not-from-ecr');
    const link = notFromEcr.report.links.find((candidate) => candidate.name === 'image pull')!;
    assert.equal(link.status, 'warning');
    assert.match(link.detail.join('\n'), /ECR_ROLE_ARN_INVALID for the ServiceAccount's other pods: this one pulls nothing from ECR$/);
  });

  it('hints at the usual trust-policy mistakes', async () => {
    assert.match(await detailOf('TRUST_POLICY_CONDITION_FAILED--wildcard-in-string-equals', 'trust policy'), /StringEquals compares \* and \? literally: use StringLike/);
    assert.match(await detailOf('TRUST_POLICY_CONDITION_FAILED--https-in-key', 'trust policy'), /\(no https:\/\/ in condition keys\)/);
    assert.match(await detailOf('ISSUER_NOT_TRUSTED', 'trust policy'), /the role trusts arn:aws:iam::111122223333:oidc-provider\/oidc\.eks\.us-west-2\.amazonaws\.com\/id\/OLDCLUSTER0+/);
    assert.match(await detailOf('TRUST_POLICY_DENY', 'trust policy'), /explicitly denied by statement NoBatch/);
    assert.match(await detailOf('TRUST_POLICY_CONDITION_FAILED--pod-identity-namespace', 'trust policy'), /aws:RequestTag\/kubernetes-namespace \[apps\] with batch: not met/);
  });
});

describe('explain --action: what the pod\'s credentials may do', () => {
  const permissionOf = async (name: string) => {
    const { report } = await explainFixture(name);
    const link = report.links.find((candidate) => candidate.name === 'permission')!;
    return { link, detail: link.detail.join('\n'), answer: link.permission! };
  };

  it('names the Deny that decides, with its policy, Sid and line, in text and JSON', async () => {
    const { detail, answer } = await permissionOf('PERMISSION_EXPLICIT_DENY');
    assert.deepEqual(answer, {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::app-bucket/secrets/db',
      roleArn: 'arn:aws:iam::111122223333:role/app',
      decision: 'explicitDeny',
      matchedStatements: [{ policyId: '../common/permission/deny-secrets.json', policyType: 'identity', index: 0, sid: 'NoSecrets', effect: 'Deny' }],
      missingContextValues: [],
    });
    assert.match(detail, /identity policy \.\.\/common\/permission\/deny-secrets\.json statement NoSecrets \(line 4\) \(Deny\): action and resource match, no conditions: applies/);
    assert.match(detail, /an IRSA session of arn:aws:iam::111122223333:role\/app .*passes no session policy/);
  });

  it('an allowed call lists the Allow of every kind of policy; the text report prints the link', async () => {
    const { link, answer } = await permissionOf('ok-permission-lab-session-policy');
    assert.equal(link.status, 'ok');
    assert.equal(answer.decision, 'allowed');
    assert.deepEqual(answer.matchedStatements.map((statement) => [statement.policyType, statement.sid]), [['identity', 'AllOfS3'], ['boundary', 'ReadWrite'], ['session', 'ReportsReadOnly']]);
    const args = readFileSync(join(FIXTURES, 'PERMISSION_SESSION_POLICY_LIMITS--lab', 'args'), 'utf8').split('\n').filter(Boolean);
    const text = await runCli(['explain', ...args], { cwd: join(FIXTURES, 'PERMISSION_SESSION_POLICY_LIMITS--lab') });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /\[BROKEN\] permission: PERMISSION_SESSION_POLICY_LIMITS\n/);
    assert.match(text.stdout, /session policy association a-\w+ policy statement ReportsReadOnly \(Allow\): the action is not in s3:GetObject: does not apply/);
  });

  it('with a target role, the target role\'s policies count (not the associated role\'s), and the session policy limits it', async () => {
    const granted = await permissionOf('PERMISSION_NOT_GRANTED--lab-target-role');
    assert.equal(granted.answer.roleArn, 'arn:aws:iam::444455556666:role/pod-target');
    // The associated role allows sqs:SendMessage, and so does the session policy: the target role does not.
    assert.match(granted.detail, /a session of the target role arn:aws:iam::444455556666:role\/pod-target, chained from arn:aws:iam::111122223333:role\/pod-chained .*limits the target role only/);
    assert.match(granted.detail, /identity policy reports statement Reports \(Allow\): the action is not in s3:GetObject, s3:PutObject/);
    const limited = await permissionOf('PERMISSION_SESSION_POLICY_LIMITS--lab-target-role');
    assert.equal(limited.answer.decision, 'implicitDeny');
  });

  it('condition keys explain does not know are named, and an Allow that depends on them is a warning', async () => {
    const { link, answer, detail } = await permissionOf('ok-permission-missing-context');
    assert.equal(link.status, 'warning');
    assert.equal(answer.decision, 'allowed');
    assert.deepEqual(answer.missingContextValues, ['aws:SourceIp']);
    assert.match(detail, /context keys the statements test that explain does not know: aws:SourceIp/);
  });

  it('IRSA sessions carry no session policy: --session-policy is named as not applied', async () => {
    const { report } = await explainFixture('PERMISSION_BOUNDARY_LIMITS', ['--session-policy', '../common/permission/session-read-only.json']);
    const link = report.links.find((candidate) => candidate.name === 'permission')!;
    assert.match(link.detail.join('\n'), /the session policy \.\.\/common\/permission\/session-read-only\.json is not applied: IRSA sessions carry none/);
    assert.equal(link.code, 'PERMISSION_BOUNDARY_LIMITS');
    assert.deepEqual(link.permission?.matchedStatements, []);
  });

  it('without --action there is no permission link', async () => {
    const { report } = await explainFixture('ok-irsa');
    assert.equal(report.links.some((link) => link.name === 'permission'), false);
  });
});

describe('explain: bad input exits 2 with one clear line', () => {
  const fixture = join(FIXTURES, 'ok-irsa');
  const cases: Array<[string, string[], RegExp]> = [
    ['a pod file without --service-account', ['--pod', '../common/pod.yaml'], /--service-account FILE is needed with --pod FILE/],
    ['both --trust-policy and --lab-config', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--trust-policy', '../common/trust-policy.json', '--lab-config', '../common/lab-config.yaml'], /--trust-policy and --lab-config exclude each other/],
    ['a container the pod does not have', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--container', 'nope'], /the pod has no container nope \(it has app\)/],
    ['a token that is not a JWT', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--token', '../common/pod.yaml'], /not a JWT: a JWT has 3 segments/],
    ['a trust policy that is not one', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--trust-policy', '../common/identities.json'], /identities\.json: /],
    ['a missing file', ['--pod', 'missing.yaml', '--service-account', '../common/serviceaccount.yaml'], /missing\.yaml/],
    ['a bad --now', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--now', 'yesterday'], /is not an ISO 8601 time/],
    ['a policy file without --action', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--identity-policy', '../common/permission/identity-s3.json'], /judge a call: give --action too/],
    ['an action that is not one', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--action', 's3:Get*'], /--action "s3:Get\*" is not an action/],
    ['a resource that is not an ARN', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--action', 's3:GetObject', '--resource', 'my-bucket'], /--resource "my-bucket" is not a resource ARN/],
    ['policy files with --lab-config', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--lab-config', '../common/lab-config.yaml', '--action', 's3:GetObject', '--session-policy', '../common/permission/session-read-only.json'], /are for explaining without --lab-config/],
    ['an identity policy that is not one', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--action', 's3:GetObject', '--identity-policy', '../common/trust-policy.json'], /trust-policy\.json: Statement\[0\]/],
    ['cluster-only flags offline', ['--pod', '../common/pod.yaml', '--service-account', '../common/serviceaccount.yaml', '--watch-config-map', 'a/b'], /need a cluster \(--kubeconfig, --context, \$KUBECONFIG or ~\/\.kube\/config\), not --service-account/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const result = await runCli(['explain', ...args], { cwd: fixture });
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
      assert.match(result.stderr, /^pod-identity-webhook: /);
    });
  }
});

describe('explain: docs/explain.md lists exactly the codes, with their meaning and fix', () => {
  it('the codes table is the code list', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'explain.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/gm)].map((match) => [match[1], match[2]!.trim(), match[3]!.trim(), match[4]!.trim()]);
    const expected = Object.entries(EXPLAIN_CODES).map(([code, entry]) => [code, entry.links.join(', '), entry.meaning, entry.fix]);
    assert.deepEqual(rows, expected);
  });
});

describe('explain: which of the two modes would mutate the pod (webhook, admission policies, both, neither)', () => {
  const webhookDetail = async (name: string): Promise<string> => {
    const { report } = await explainFixture(name);
    return report.links.find((candidate) => candidate.name === 'webhook configuration')!.detail.join('\n');
  };

  it('only the policies (manifests --mode admission-policy in --webhook-config): the IRSA policy, not the webhook', async () => {
    const detail = await webhookDetail('ok-admission-policies');
    assert.match(detail, /\nmutated by: the admission policy pod-identity-webhook-irsa$/);
    assert.match(detail, /policy pod-identity-webhook-pod-identity: evaluated for this pod, but its match conditions do not hold for ServiceAccount apps\/app/);
    assert.match(detail, /the webhook is not installed/);
  });

  it('the webhook configuration and the policies: both, once', async () => {
    assert.match(await webhookDetail('ok-both-modes'), /mutated by: both, the webhook and the admission policy pod-identity-webhook-irsa: the first to run injects/);
  });

  it('the skip label: neither the webhook nor a policy is evaluated', async () => {
    const detail = await webhookDetail('WEBHOOK_NOT_CALLED--admission-policy-skip-label');
    assert.match(detail, /policy pod-identity-webhook-irsa: not evaluated for this pod: objectSelector: pod-identity-webhook\.io\/skip NotIn \[true\]/);
    assert.doesNotMatch(detail, /mutated by/);
  });
});
