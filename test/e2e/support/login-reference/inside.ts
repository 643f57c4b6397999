/**
 * Runs inside the network and mount namespace test/e2e/support/login-reference/namespace.ts makes
 * (loopback only; /etc/hosts naming AWS's STS hosts 127.0.0.1): the lab STS over HTTPS on :443 with
 * a certificate for those hosts, our `authenticator` and aws-iam-authenticator `server` on the same
 * aws-auth and access entries, scenario by scenario; every token of the corpus reviewed by both.
 * Writes a CorpusRun (corpus.ts) as JSON to the file named by its first argument.
 *
 *   node inside.js RESULT.json REFERENCE_BINARY
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClusterToken } from '../../../../src/authenticator/token.js';
import { errorMessage } from '../../../../src/shared/log.js';
import { SessionAuthority, type IssuedCredentials } from '../../../../src/lab/sts/sessions.js';
import { credentialsFor, startLabSts } from './lab-sts.js';
import { kubernetesReleases } from '../components.js';
import { ControlPlane } from '../control-plane.js';
import { KubeClient } from '../kube-client.js';
import { runCommand } from '../processes.js';
import { type ApiServerOutcome, type ApiServerResult, CLUSTER_ID, type CorpusRun, REGION, type ReviewResult, SCENARIOS, type TokenCase, tokenCases, type TokenSource } from './corpus.js';
import { type Fixture, prepareFixture, startPair, type ServerPair } from './servers.js';

const [resultFile, referenceBinary] = process.argv.slice(2);
if (!resultFile || !referenceBinary) {
  console.error('usage: inside.js RESULT.json REFERENCE_BINARY');
  process.exit(2);
}

function awsEnvironment(fixture: Fixture, credentials: IssuedCredentials, region = REGION): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: fixture.dir,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: join(fixture.dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(fixture.dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // The regional endpoint, as the AWS CLI v2 and the SDKs use by default.
    AWS_STS_REGIONAL_ENDPOINTS: 'regional',
  };
}

const TOKEN_IN_JSON = /"token"\s*:\s*"(k8s-aws-v1\.[A-Za-z0-9_-]+)"/;

/** A token from one of the clients; undefined when the client is absent. */
async function clientToken(source: Exclude<TokenSource, 'crafted'>, env: NodeJS.ProcessEnv): Promise<string> {
  const command: [string, string[]] =
    source === 'token-exec'
      ? [process.execPath, [join(process.cwd(), 'dist', 'src', 'cli.js'), 'token-exec', '--cluster-id', CLUSTER_ID]]
      : source === 'aws-cli'
        ? ['aws', ['eks', 'get-token', '--cluster-name', CLUSTER_ID, '--output', 'json']]
        : [referenceBinary!, ['token', '-i', CLUSTER_ID]];
  const result = await runCommand(command[0], command[1], { env, timeoutMs: 30_000 });
  const token = TOKEN_IN_JSON.exec(result.stdout)?.[1];
  if (result.code !== 0 || !token) throw new Error(`${source} made no token (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
  return token;
}

/** The tokens no client makes, from the project's presigner. */
async function craftedToken(kind: NonNullable<TokenCase['crafted']>, credentials: IssuedCredentials): Promise<string> {
  const base = { clusterId: CLUSTER_ID, credentials, region: REGION, stsEndpoint: `https://sts.${REGION}.amazonaws.com` };
  switch (kind) {
    case 'expired':
      // 16 minutes ago: STS honours a presigned URL for 15 minutes after X-Amz-Date.
      return (await createClusterToken({ ...base, now: new Date(Date.now() - 16 * 60 * 1000) })).token;
    case 'tampered': {
      const url = new URL(Buffer.from((await createClusterToken(base)).token.slice('k8s-aws-v1.'.length), 'base64url').toString());
      const signature = url.searchParams.get('X-Amz-Signature')!;
      url.searchParams.set('X-Amz-Signature', `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`);
      return `k8s-aws-v1.${Buffer.from(url.toString()).toString('base64url')}`;
    }
    case 'wrong-host':
      // Signed correctly for a host that is not STS: neither server may call it.
      return (await createClusterToken({ ...base, stsEndpoint: 'https://sts.us-east-1.amazonaws.com.example.net' })).token;
    case 'other-cluster':
      return (await createClusterToken({ ...base, clusterId: 'another-cluster' })).token;
    case 'global-endpoint':
      return (await createClusterToken({ ...base, stsEndpoint: 'https://sts.amazonaws.com' })).token;
    case 'cn-partition':
      return (await createClusterToken({ ...base, region: 'cn-north-1', stsEndpoint: 'https://sts.cn-north-1.amazonaws.com.cn' })).token;
  }
}

/** The scenario whose servers are wired into kube-apiserver in turn, and the tokens sent through it. */
const API_SERVER_SCENARIO = 'config-map';
const API_SERVER_TOKENS = ['alice/token-exec', 'bob/aws-iam-authenticator', 'admin/token-exec', 'templates/token-exec', 'case/token-exec', 'role-alice/token-exec', 'dave/token-exec', 'duplicate/token-exec', 'reserved/token-exec', 'unmapped/token-exec', 'alice/crafted-tampered', 'alice/crafted-other-cluster'];
/**
 * kube-apiserver's own authentication-token-webhook-version for the reference: v1beta1, its default,
 * and what aws-iam-authenticator's generated kubeconfig is used with (the reference answers a
 * v1beta1 TokenReview whatever it is sent).
 */
const REFERENCE_WEBHOOK_VERSION = 'v1beta1';

/** A SelfSubjectReview with the token as bearer: the user kube-apiserver made of the webhook's answer. */
async function whoAmI(cp: ControlPlane, token: string): Promise<ApiServerOutcome> {
  const client = new KubeClient(cp.server, cp.files.caCertPem, { token });
  const response = await client.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, { timeoutMs: 30_000 });
  const user = (response.body as { status?: { userInfo?: ApiServerOutcome['user'] } } | undefined)?.status?.userInfo;
  return response.status === 201 && user ? { status: response.status, user } : { status: response.status };
}

/** Our server, then the reference, as the token webhook of the newest supported kube-apiserver, in the namespace. */
async function throughApiServer(pair: ServerPair, token: (id: string) => string): Promise<CorpusRun['apiServer']> {
  const release = kubernetesReleases().at(-1)!;
  const cp = await ControlPlane.prepare(release);
  try {
    await cp.start({ authenticationWebhook: { url: `https://127.0.0.1:${pair.ports.ours}/authenticate`, caCert: pair.caPem } });
    const ours = new Map<string, ApiServerOutcome>();
    for (const id of API_SERVER_TOKENS) ours.set(id, await whoAmI(cp, token(id)));
    if (!pair.referenceCaPem) throw new Error('aws-iam-authenticator is not running');
    await cp.restartApiserver({
      authenticationWebhook: { url: `https://127.0.0.1:${pair.ports.reference}/authenticate`, caCert: pair.referenceCaPem },
      flags: { 'authentication-token-webhook-version': REFERENCE_WEBHOOK_VERSION },
    });
    const results: ApiServerResult[] = [];
    for (const id of API_SERVER_TOKENS) results.push({ id: `${API_SERVER_SCENARIO}/${id}`, ours: ours.get(id)!, reference: await whoAmI(cp, token(id)) });
    return { version: cp.serverVersion, referenceWebhookVersion: REFERENCE_WEBHOOK_VERSION, results };
  } finally {
    await cp.stop();
  }
}

async function main(): Promise<void> {
  const fixture = prepareFixture();
  const sessions = new SessionAuthority(randomBytes(32));
  const sts = await startLabSts(fixture, sessions);
  const versionResult = await runCommand(referenceBinary!, ['version', '--short'], { timeoutMs: 10_000 });
  const skippedSources: Record<string, string> = {};
  const clients: Array<Exclude<TokenSource, 'crafted'>> = ['token-exec', 'aws-iam-authenticator'];
  const awsCli = await runCommand('aws', ['--version'], { timeoutMs: 30_000 }).catch((error: unknown) => ({ code: -1, stdout: '', stderr: errorMessage(error) }));
  if (awsCli.code === 0) clients.push('aws-cli');
  else skippedSources['aws-cli'] = `the AWS CLI is not on PATH (${awsCli.stderr.trim().split('\n')[0] ?? ''})`;

  const tokens = new Map<string, string>();
  const cases = tokenCases(clients);
  // Bounded parallelism: each client is a process (the AWS CLI is Python), the machine is shared.
  const queue = [...cases];
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const credentials = credentialsFor(sessions, next.principal);
        try {
          tokens.set(next.id, next.crafted ? await craftedToken(next.crafted, credentials) : await clientToken(next.source as Exclude<TokenSource, 'crafted'>, awsEnvironment(fixture, credentials)));
        } catch (error) {
          errors.push(`${next.id}: ${errorMessage(error)}`);
        }
      }
    }),
  );
  if (errors.length > 0) throw new Error(`tokens could not be made:\n${errors.join('\n')}`);

  const results: ReviewResult[] = [];
  let apiServer: CorpusRun['apiServer'] | undefined;
  for (const scenario of SCENARIOS) {
    const probeCredentials = credentialsFor(sessions, scenario.probe);
    const probe = await craftedToken('global-endpoint', probeCredentials);
    let pair: ServerPair | undefined;
    try {
      pair = await startPair(fixture, scenario, referenceBinary!, probe);
      for (const testCase of cases) {
        const token = tokens.get(testCase.id)!;
        const [ours, reference] = await Promise.all([pair.ours.review(token), pair.reference.review(token)]);
        results.push({ id: `${scenario.name}/${testCase.id}`, ours, reference });
      }
      if (scenario.name === API_SERVER_SCENARIO) apiServer = await throughApiServer(pair, (id) => tokens.get(id)!);
    } finally {
      await pair?.stop();
    }
  }
  sts.close();
  if (!apiServer) throw new Error(`no scenario ${API_SERVER_SCENARIO}`);
  const run: CorpusRun = { referenceVersion: versionResult.stdout.trim(), skippedSources, results, apiServer };
  writeFileSync(resultFile!, JSON.stringify(run, null, 1));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`inside: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
