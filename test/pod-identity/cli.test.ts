import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { httpsRequest } from '../helpers/https-client.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { admissionReview, decodePatch, pod } from '../helpers/reviews.js';
import { waitFor } from '../helpers/wait.js';

const LAB_CONFIG = join(ROOT, 'manifests', 'lab', 'lab.yaml');
const claims = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('Pod Identity commands (separate processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let processes: CliProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-pi-cli-'));
  });
  afterEach(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    processes = [];
    rmSync(dir, { recursive: true, force: true });
  });
  const launch = (args: string[]): CliProcess => {
    const child = CliProcess.start(args, { cwd: dir });
    processes.push(child);
    return child;
  };

  it('pod-identity-config prints the identities of a cluster of the lab config, or writes them; an unknown cluster exits 2', async () => {
    const printed = await runCli(['pod-identity-config', '--config', LAB_CONFIG, '--cluster-name', 'lab']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.deepEqual(JSON.parse(printed.stdout), { identities: [{ namespace: 'default', serviceAccount: 'pod-identity-app' }] });
    const out = join(dir, 'identities.json');
    const written = await runCli(['pod-identity-config', '--config', LAB_CONFIG, '--cluster-name', 'lab', '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(readFileSync(out, 'utf8'), printed.stdout);
    const unknown = await runCli(['pod-identity-config', '--config', LAB_CONFIG, '--cluster-name', 'nope']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, `pod-identity-webhook: ${LAB_CONFIG}: no cluster nope in clusters (it has lab)\n`);
  });

  it('a lab config with two clusters sharing an issuer is refused at load, naming both (a token of one would get the other\'s roles)', async () => {
    const issuer = 'http://127.0.0.1:8081';
    const cluster = (name: string, account: string) => ({ name, region: 'us-east-1', account, issuer: `${issuer}/`, jwksUrl: `${issuer}/keys`, nodeRoleArn: `arn:aws:iam::${account}:role/nodes` });
    const config = join(dir, 'lab.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: [{ issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer}/keys` }],
        roles: [{ arn: 'arn:aws:iam::111122223333:role/r', trustPolicy: { Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' }] } }],
        clusters: [cluster('blue', '111122223333'), { ...cluster('green', '444455556666'), issuer }],
      }),
    );
    for (const name of ['blue', 'green']) {
      const refused = await runCli(['pod-identity-config', '--config', config, '--cluster-name', name]);
      assert.equal(refused.code, 2, refused.stdout);
      assert.equal(refused.stdout, '');
      assert.equal(refused.stderr, `pod-identity-webhook: ${config}: clusters[1] "green" has the issuer ${issuer} of clusters[0] "blue": a token of one cluster would be accepted for the other\n`);
    }
  });

  it('token --pod-identity: audience pods.eks.amazonaws.com, bound to the pod, no trailing newline (stdout or --out, mode 0600)', async () => {
    const args = ['token', '--pod-identity', '--namespace', 'default', '--service-account', 'app', '--pod', 'app-1'];
    const printed = await runCli(args, { cwd: dir });
    assert.equal(printed.code, 0, printed.stderr);
    assert.doesNotMatch(printed.stdout, /\s$/);
    const printedClaims = claims(printed.stdout);
    assert.deepEqual(printedClaims.aud, ['pods.eks.amazonaws.com']);
    assert.equal((printedClaims['kubernetes.io'] as { pod: { name: string } }).pod.name, 'app-1');
    const out = join(dir, 'token');
    assert.equal((await runCli([...args, '--out', out], { cwd: dir })).code, 0);
    const text = readFileSync(out, 'utf8');
    assert.equal(text.split('.').length, 3);
    assert.doesNotMatch(text, /\n/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const withoutPod = await runCli(['token', '--pod-identity', '--namespace', 'default', '--service-account', 'app'], { cwd: dir });
    assert.equal(withoutPod.code, 2);
    assert.match(withoutPod.stderr, /--pod-identity needs --pod/);
    const withAudience = await runCli([...args, '--audience', 'x'], { cwd: dir });
    assert.equal(withAudience.code, 2);
  });

  it('token: a 1.32+ token always has a random jti; --node-name adds kubernetes.io.node (a made-up uid unless --node-uid); --node-uid alone exits 2', async () => {
    const base = ['token', '--pod-identity', '--namespace', 'default', '--service-account', 'app', '--pod', 'app-1'];
    const bound = await runCli([...base, '--node-name', 'ip-10-0-1-7.ec2.internal', '--node-uid', 'node-uid-1'], { cwd: dir });
    assert.equal(bound.code, 0, bound.stderr);
    const boundClaims = claims(bound.stdout);
    assert.deepEqual(boundClaims['kubernetes.io'], {
      namespace: 'default',
      node: { name: 'ip-10-0-1-7.ec2.internal', uid: 'node-uid-1' },
      pod: { name: 'app-1', uid: (boundClaims['kubernetes.io'] as { pod: { uid: string } }).pod.uid },
      serviceaccount: { name: 'app', uid: (boundClaims['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid },
    });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    assert.match(String(boundClaims.jti), uuid);
    const nameOnly = claims((await runCli([...base, '--node-name', 'node-b'], { cwd: dir })).stdout);
    assert.equal((nameOnly['kubernetes.io'] as { node: { name: string } }).node.name, 'node-b');
    assert.match((nameOnly['kubernetes.io'] as { node: { uid: string } }).node.uid, uuid);
    assert.notEqual(nameOnly.jti, boundClaims.jti);
    const unbound = claims((await runCli(base, { cwd: dir })).stdout);
    assert.equal((unbound['kubernetes.io'] as { node?: unknown }).node, undefined);
    assert.match(String(unbound.jti), uuid);
    const uidOnly = await runCli([...base, '--node-uid', 'u'], { cwd: dir });
    assert.equal(uidOnly.code, 2);
    assert.equal(uidOnly.stderr, 'pod-identity-webhook: --node-uid needs --node-name: the API server puts both of the Node in the token\n');
    const badName = await runCli([...base, '--node-name', 'Node_A'], { cwd: dir });
    assert.equal(badName.code, 2);
  });

  it("pod-identity-agent refuses a node name, instance id or zone EKS Auth would refuse, at start, with the flag's error", async () => {
    for (const [flag, value] of [['--node-name', 'Node_A'], ['--instance-id', 'i-123'], ['--zone', 'us-east-1a']] as const) {
      const refused = await runCli(['pod-identity-agent', '--config', LAB_CONFIG, '--cluster-name', 'lab', flag, value, '--port', '0', '--metrics-port', '0'], { cwd: dir });
      assert.equal(refused.code, 2, `${flag}: ${refused.stderr}`);
      assert.match(refused.stderr, new RegExp(`^pod-identity-webhook: option '${flag} <[a-z-]+>' argument '${value}' is invalid\\. "${value}" is not [^\\n]*\\n\\(add --help for usage\\)\\n$`));
    }
  });

  it('issuer, sts (with EKS Auth) and pod-identity-agent as processes: the SDK gets the associated role from a token minted by token --pod-identity', async () => {
    const issuer = launch(['issuer', '--port', '0']);
    const issuerUrl = String((await issuer.line('issuer-listening')).issuer);
    // The repository's lab config, with the issuer where this test's one listens.
    writeFileSync(join(dir, 'lab.yaml'), readFileSync(LAB_CONFIG, 'utf8').replaceAll('http://127.0.0.1:8081', issuerUrl).replaceAll('127.0.0.1:8081', issuerUrl.replace('http://', '')));
    const sts = launch(['sts', '--config', join(dir, 'lab.yaml'), '--port', '0', '--secret-file', join(dir, 'sts.key')]);
    const stsLine = await sts.line('sts-listening');
    assert.deepEqual(stsLine.clusters, ['lab']);
    const stsUrl = String(stsLine.address);
    // The node name as a DaemonSet gives it (NODE_NAME from the downward API), the instance and zone as flags.
    const agent = CliProcess.start(
      ['pod-identity-agent', '--config', join(dir, 'lab.yaml'), '--cluster-name', 'lab', '--eks-auth-url', stsUrl, '--secret-file', join(dir, 'sts.key'), '--port', '0', '--metrics-port', '0', '--instance-id', 'i-0123456789abcdef0', '--zone', 'use1-az1'],
      { cwd: dir, env: { ...process.env, NODE_NAME: 'node-a' } },
    );
    processes.push(agent);
    const agentLine = await agent.line('pod-identity-agent-listening');
    assert.equal(agentLine.nodeRole, 'arn:aws:iam::111122223333:role/lab-nodes');
    assert.deepEqual([agentLine.eksNodeName, agentLine.instanceId, agentLine.zone], ['node-a', 'i-0123456789abcdef0', 'use1-az1']);
    const tokenFile = join(dir, 'token');
    const minted = await runCli(['token', '--pod-identity', '--namespace', 'default', '--service-account', 'pod-identity-app', '--pod', 'app-1', '--node-name', 'node-a', '--issuer-url', issuerUrl, '--out', tokenFile], { cwd: dir });
    assert.equal(minted.code, 0, minted.stderr);
    const credentials = await fromHttp({ awsContainerCredentialsFullUri: String(agentLine.credentials), awsContainerAuthorizationTokenFile: tokenFile, maxRetries: 0, timeout: 5000 })();
    const identity = await new STSClient({ region: 'us-east-1', endpoint: stsUrl, credentials }).send(new GetCallerIdentityCommand({}));
    assert.match(identity.Arn ?? '', /^arn:aws:sts::111122223333:assumed-role\/pod-identity-app\/eks-lab-app-1-/);
    const granted = await sts.lineWhere('the grant', (line) => line.event === 'eks-auth' && line.outcome === 'ok');
    assert.deepEqual([granted.node, granted.eksNodeName, granted.instanceId, granted.zone], ['node-a', 'node-a', 'i-0123456789abcdef0', 'use1-az1']);
    // A token of a pod on another node is refused.
    const elsewhere = await runCli(['token', '--pod-identity', '--namespace', 'default', '--service-account', 'pod-identity-app', '--pod', 'app-2', '--node-name', 'node-b', '--issuer-url', issuerUrl, '--out', tokenFile], { cwd: dir });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    const refused = await fromHttp({ awsContainerCredentialsFullUri: String(agentLine.credentials), awsContainerAuthorizationTokenFile: tokenFile, maxRetries: 0, timeout: 5000 })().then(
      () => undefined,
      (error: Error) => error.message,
    );
    assert.match(refused ?? 'credentials were issued', /status: 400/);
    const readiness = await fetch(`${String(agentLine.metrics)}/readyz`);
    assert.equal(readiness.status, 200);
    assert.equal(await agent.stop(), 0);
  });

  it('serve --watch-container-credentials-config: a listed ServiceAccount gets Pod Identity, and an update of the file applies to the next pod', async () => {
    const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(dir, certificates);
    writeFileSync(join(dir, 'sa.yaml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: default, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/app"}}\n');
    const identities = join(dir, 'identities.json');
    writeFileSync(identities, JSON.stringify({ identities: [{ namespace: 'default', serviceAccount: 'app' }] }));
    const server = launch([
      'serve', '--service-accounts', join(dir, 'sa.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
      '--watch-container-credentials-config', identities, '--container-credentials-full-uri', 'http://127.0.0.1:8083/v1/credentials',
    ]);
    const url = `https://127.0.0.1:${await server.port()}`;
    const mutate = async (): Promise<string> => {
      const answer = await httpsRequest(`${url}/mutate`, { body: JSON.stringify(admissionReview(pod('app'))), ca: certificates.caCert });
      return JSON.stringify(decodePatch(JSON.parse(answer.body)));
    };
    const podIdentity = await mutate();
    assert.match(podIdentity, /"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"http:\/\/127.0.0.1:8083\/v1\/credentials"/);
    assert.match(podIdentity, /"expirationSeconds":(79\d{3}|8[0-5]\d{3}|86[0-3]\d{2}|86400)\b/);
    assert.doesNotMatch(podIdentity, /AWS_ROLE_ARN/);
    writeFileSync(identities, '');
    await waitFor('the emptied file to apply', async () => (await mutate()).includes('AWS_ROLE_ARN'), 10_000);
    const bad = await runCli(['serve', '--service-accounts', join(dir, 'sa.yaml'), '--port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--watch-container-credentials-config', join(dir, 'tls.crt')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^pod-identity-webhook: .*tls\.crt: invalid JSON/);
  });

  it('render --watch-container-credentials-config renders a listed ServiceAccount in Pod Identity mode', async () => {
    writeFileSync(join(dir, 'identities.json'), JSON.stringify({ identities: [{ namespace: 'default', serviceAccount: 'demo-app' }] }));
    const rendered = await runCli([
      'render', '--pod', join(ROOT, 'manifests', 'examples', 'pod.yaml'), '--service-account', join(ROOT, 'manifests', 'examples', 'serviceaccount.yaml'),
      '--watch-container-credentials-config', join(dir, 'identities.json'), '--output', 'pod',
    ]);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.match(rendered.stdout, /eks\.amazonaws\.com\/pod-identity: enabled/);
    assert.match(rendered.stdout, /AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE/);
    assert.doesNotMatch(rendered.stdout, /AWS_ROLE_ARN/);
  });

  it('demo --pod-identity: the SDK default chain gets the role; no association and no sts:TagSession are refused with EKS Auth codes', async () => {
    const demo = await runCli(['demo', '--pod-identity'], { timeoutMs: 60_000 });
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stdout, /identity  GetCallerIdentity with the AWS SDK default chain → arn:aws:sts::111122223333:assumed-role\/demo-pod-identity\/eks-demo-demo-app-/);
    assert.match(demo.stdout, /AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/v1\/credentials/);
    assert.match(demo.stdout, /agent     \d × 404 \[[0-9a-f-]+\]: \(ResourceNotFoundException\)/);
    assert.match(demo.stdout, /agent     \d × 400 \[[0-9a-f-]+\]: \(AccessDeniedException\): Unauthorized Exception! EKS does not have permissions to assume the associated role\., fault: client/);
    assert.match(demo.stdout, /refused the pod without an association and the role without sts:TagSession\n$/);
  });
});
