import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { loadMutationCase, MUTATION_CASES } from '../helpers/mutation-cases.js';

describe('render command', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-render-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const caseFile = (name: string, file: string) => join(MUTATION_CASES, name, file);

  it('prints the JSON patch by default', async () => {
    const result = await runCli(['render', '--pod', caseFile('minimal-pod', 'pod.yaml'), '--service-account', caseFile('minimal-pod', 'serviceaccount.yaml')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), loadMutationCase('minimal-pod').expectedPatch);
    assert.equal(result.stderr, '');
  });

  it('prints the mutated pod as YAML with --output pod', async () => {
    const result = await runCli([
      'render', '--output', 'pod', '--pod', caseFile('init-containers', 'pod.yaml'), '--service-account', caseFile('init-containers', 'serviceaccount.yaml'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(parse(result.stdout), loadMutationCase('init-containers').expectedPod);
  });

  it('passes engine flags through', async () => {
    const result = await runCli([
      'render', '--pod', caseFile('minimal-pod', 'pod.yaml'), '--service-account', caseFile('minimal-pod', 'serviceaccount.yaml'),
      '--aws-default-region', 'eu-central-1', '--sts-regional-endpoint', '--token-expiration', '1200', '--token-audience', 'lab',
      '--token-mount-path', '/aws/', '--sts-endpoint-url', 'http://127.0.0.1:8082/',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const patch = JSON.parse(result.stdout) as Array<{ path: string; value: unknown }>;
    assert.deepEqual(patch[0]?.value, [{ name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: 'lab', expirationSeconds: 1200, path: 'token' } }] } }]);
    assert.deepEqual(patch[1]?.value, [
      { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
      { name: 'AWS_DEFAULT_REGION', value: 'eu-central-1' },
      { name: 'AWS_REGION', value: 'eu-central-1' },
      { name: 'AWS_ENDPOINT_URL_STS', value: 'http://127.0.0.1:8082' },
      { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/app' },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/aws/token' },
    ]);
    assert.deepEqual(patch[2]?.value, [{ name: 'aws-iam-token', mountPath: '/aws', readOnly: true }]);
  });

  it('accepts --sts-regional-endpoint=false and JSON input files', async () => {
    const pod = write('pod.json', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c' }] } }));
    const sa = write('sa.json', JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'ns', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/j' } } }));
    const result = await runCli(['render', '--pod', pod, '--service-account', sa, '--sts-regional-endpoint=false']);
    assert.equal(result.code, 0, result.stderr);
    const patch = JSON.parse(result.stdout) as Array<{ value: unknown }>;
    assert.deepEqual(patch[1]?.value, [
      { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/j' },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
    ]);
  });

  it('picks the pod\'s ServiceAccount from a kind: List (kubectl get -o yaml output)', async () => {
    const sa = write('list.yaml', `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: app, namespace: team-a, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/a"}}}
- {apiVersion: v1, kind: ServiceAccount, metadata: {name: app, namespace: team-b, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/b"}}}
`);
    const result = await runCli(['render', '--pod', caseFile('namespace-selects-service-account', 'pod.yaml'), '--service-account', sa]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /role\/b"/);
    assert.doesNotMatch(result.stdout, /role\/a"/);
  });

  it('writes warnings to stderr and still exits 0', async () => {
    const result = await runCli(['render', '--pod', caseFile('expiration-abc', 'pod.yaml'), '--service-account', caseFile('expiration-abc', 'serviceaccount.yaml')]);
    assert.equal(result.code, 0);
    assert.equal(
      result.stderr,
      'warning: pod annotation eks.amazonaws.com/token-expiration="abc" is not a whole number of seconds; using 3600 from the ServiceAccount annotation\n',
    );
    assert.deepEqual(JSON.parse(result.stdout), loadMutationCase('expiration-abc').expectedPatch);
  });

  describe('exits 2 with a one-line error', () => {
    const podOk = () => caseFile('minimal-pod', 'pod.yaml');
    const saOk = () => caseFile('minimal-pod', 'serviceaccount.yaml');
    const cases: Array<[string, () => string[], RegExp]> = [
      ['for a missing pod file', () => ['--pod', join(dir, 'nope.yaml'), '--service-account', saOk()], /nope\.yaml: no such file or directory$/],
      ['for a directory given as a file', () => ['--pod', dir, '--service-account', saOk()], /is a directory, expected a file$/],
      ['for invalid YAML', () => ['--pod', write('bad.yaml', 'kind: Pod\nspec: [unclosed\n'), '--service-account', saOk()], /bad\.yaml: invalid YAML: .* at line \d+, column \d+$/m],
      ['for a document that is not a Pod', () => ['--pod', write('deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n'), '--service-account', saOk()], /expected a Pod, found kind Deployment$/],
      ['for a scalar document', () => ['--pod', write('scalar.yaml', 'just text\n'), '--service-account', saOk()], /document 1 is not a Kubernetes object/],
      ['for an empty pod file', () => ['--pod', write('empty.yaml', ''), '--service-account', saOk()], /holds no document$/],
      ['for two pods', () => ['--pod', write('two.yaml', 'kind: Pod\nspec: {containers: []}\n---\nkind: Pod\nspec: {containers: []}\n'), '--service-account', saOk()], /holds 2 Pods; render takes one$/],
      ['for a malformed pod', () => ['--pod', write('malformed.yaml', 'kind: Pod\nspec: {containers: {}}\n'), '--service-account', saOk()], /spec\.containers must be an array$/],
      ['for a document that is not a ServiceAccount', () => ['--pod', podOk(), '--service-account', write('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n')], /expected ServiceAccounts, found kind ConfigMap$/],
      ['for no matching ServiceAccount', () => ['--pod', podOk(), '--service-account', write('other-sa.yaml', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: other}\n')], /no ServiceAccount default\/app \(the pod's service account\)$/],
      ['for a non-numeric --token-expiration', () => ['--pod', podOk(), '--service-account', saOk(), '--token-expiration', 'abc'], /--token-expiration <seconds>' argument 'abc' is invalid\. expected a whole number, got "abc"/],
      ['for a --token-expiration below 600', () => ['--pod', podOk(), '--service-account', saOk(), '--token-expiration', '60'], /must be between 600 and 4294967296, got 60/],
      ['for an unknown --output', () => ['--pod', podOk(), '--service-account', saOk(), '--output', 'xml'], /Allowed choices are patch, pod/],
      ['for a relative --token-mount-path', () => ['--pod', podOk(), '--service-account', saOk(), '--token-mount-path', 'rel/path'], /must be an absolute path/],
      ['for a bad --annotation-prefix', () => ['--pod', podOk(), '--service-account', saOk(), '--annotation-prefix', 'Bad_Prefix'], /is not a DNS subdomain/],
      ['without --pod', () => ['--service-account', saOk()], /required option '--pod <file>' not specified/],
      ['for a misspelt flag, named as such rather than as a missing --pod', () => ['--pdo', podOk(), '--service-account', saOk()], /unknown option '--pdo'/],
    ];
    for (const [title, args, message] of cases) {
      it(title, async () => {
        const result = await runCli(['render', ...args()]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        const [firstLine] = result.stderr.split('\n');
        assert.match(firstLine ?? '', message);
        // One prefix for every error, commander's included.
        assert.match(firstLine ?? '', /^pod-identity-webhook: /);
      });
    }
  });
});
