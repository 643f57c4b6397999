import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { mintProjectedToken } from '../../src/lab/token.js';
import { ACCOUNT, rsaIssuerKey, withAwsEnv } from '../helpers/lab.js';
import { CLUSTER, CLUSTER_ARN, PI_ROLES, type PodIdentityLab, type PodIdentityLabOptions, REGION, startPodIdentityLab } from '../helpers/pod-identity-lab.js';
import { LogCapture, waitFor } from '../helpers/wait.js';
import { createLogger } from '../../src/shared/log.js';
import type { NodeContext } from '../../src/lab/pod-identity/node-context.js';

interface SdkError {
  name: string;
  message: string;
}

async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail');
}

describe('EKS Pod Identity in the lab, driven by the real AWS SDK for JavaScript v3', function () {
  this.timeout(30_000);
  let lab: PodIdentityLab;
  let dir: string;

  const start = async (options: PodIdentityLabOptions = {}): Promise<void> => {
    lab = await startPodIdentityLab(options);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-pod-identity-'));
  });
  afterEach(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The env the webhook injects for a Pod Identity pod, pointed at the lab agent and STS. */
  const podEnv = (tokenFile: string): Record<string, string> => {
    const object = { metadata: { name: 'app', namespace: 'default' }, spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'x' }] } };
    const view = readPod(object);
    assert.ok(view.ok);
    const options = {
      ...DEFAULT_MUTATION_OPTIONS,
      awsDefaultRegion: REGION,
      stsEndpointUrl: lab.sts.url,
      containerCredentials: { ...DEFAULT_MUTATION_OPTIONS.containerCredentials, fullUri: lab.credentialsUri, tokenMountPath: dir, tokenPath: 'token' },
    };
    const patched = applyPatch(object, mutatePod(view.value, { name: 'app', namespace: 'default', annotations: {}, podIdentity: true }, options).patch) as unknown as { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } };
    const env = Object.fromEntries(patched.spec.containers[0]!.env.map((variable) => [variable.name, variable.value]));
    assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, tokenFile);
    return env;
  };
  const tokenFile = (): string => join(dir, 'token');
  const writeToken = (token: string): void => writeFileSync(tokenFile(), token);
  /** fromHttp with the env's URI and token file, no retries (each failure would cost 3 s). */
  const fetchCredentials = (uri = lab.credentialsUri, file: string | null = tokenFile()) =>
    fromHttp({ awsContainerCredentialsFullUri: uri, awsContainerAuthorizationTokenFile: file ?? undefined, maxRetries: 0, timeout: 5000 })();
  /** One raw request to the agent (node:http, so the Host header is the test's to choose). */
  const agentAnswer = (token: string | undefined, init: { host?: string; method?: string; path?: string } = {}) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const headers: Record<string, string> = { ...(token === undefined ? {} : { authorization: token }), ...(init.host ? { host: init.host } : {}) };
      const req = request({ host: '127.0.0.1', port: lab.agent.port, path: init.path ?? '/v1/credentials', method: init.method ?? 'GET', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });
  const callerArn = async (env: Record<string, string>): Promise<string> =>
    withAwsEnv(env, async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn ?? '');

  describe('the whole loop', () => {
    beforeEach(() => start());

    it('the default credential chain with exactly the injected env gets the associated role: six transitive tags, eks-CLUSTER-POD-UUID, 6 h', async () => {
      writeToken(await lab.mint());
      const arn = await callerArn(podEnv(tokenFile()));
      assert.match(arn, new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/pi-app/eks-lab-app-7d9f8b6c5-x2k4q-[0-9a-f-]+$`));
      assert.ok(arn.split('/').pop()!.length <= 64);
      const grant = lab.grants[0]!;
      assert.equal(arn, grant.assumedRoleArn);
      assert.deepEqual(
        grant.tags.map((tag) => tag.key),
        ['eks-cluster-arn', 'eks-cluster-name', 'kubernetes-namespace', 'kubernetes-service-account', 'kubernetes-pod-name', 'kubernetes-pod-uid'],
      );
      assert.deepEqual(Object.fromEntries(grant.tags.slice(0, 5).map((tag) => [tag.key, tag.value])), {
        'eks-cluster-arn': CLUSTER_ARN,
        'eks-cluster-name': CLUSTER,
        'kubernetes-namespace': 'default',
        'kubernetes-service-account': 'app',
        'kubernetes-pod-name': 'app-7d9f8b6c5-x2k4q',
      });
      const seconds = (grant.expiration.getTime() - Date.now()) / 1000;
      assert.ok(seconds > 6 * 3600 - 60 && seconds <= 6 * 3600, `${seconds} s`);
    });

    it("answers the agent's exact JSON: the five fields, AccountId, Expiration in RFC 3339 UTC", async () => {
      const answer = await agentAnswer(await lab.mint());
      assert.equal(answer.status, 200);
      assert.equal(answer.type, 'application/json');
      const body = JSON.parse(answer.body) as Record<string, string>;
      assert.deepEqual(Object.keys(body), ['AccessKeyId', 'SecretAccessKey', 'Token', 'AccountId', 'Expiration']);
      assert.equal(body.AccountId, ACCOUNT);
      assert.match(body.Expiration!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(body.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    });

    it('with both env sets present the SDK uses web identity and never asks the agent', async () => {
      const irsaToken = join(dir, 'irsa-token');
      writeFileSync(irsaToken, await mintProjectedToken(lab.key, { issuer: lab.issuer.issuer, audiences: ['sts.amazonaws.com'], namespace: 'default', serviceAccount: 'app', pod: { name: 'app-1' }, expirationSeconds: 3600 }));
      writeToken(await lab.mint());
      const arn = await callerArn({ ...podEnv(tokenFile()), AWS_ROLE_ARN: PI_ROLES.irsa, AWS_WEB_IDENTITY_TOKEN_FILE: irsaToken });
      assert.match(arn, /:assumed-role\/irsa-app\//);
      assert.equal(lab.eksAuthCalls(), 0);
    });

    it('a role chained from the pod sees its session tags as aws:PrincipalTag: default is let in, team is not', async () => {
      writeToken(await lab.mint());
      const chained = await withAwsEnv(podEnv(tokenFile()), () => new STSClient({}).send(new AssumeRoleCommand({ RoleArn: PI_ROLES.reader, RoleSessionName: 'reader' })));
      assert.match(chained.AssumedRoleUser?.Arn ?? '', /:assumed-role\/pi-reader\/reader$/);
      writeToken(await lab.mint({ namespace: 'team', serviceAccount: 'team-only' }));
      const refused = await failure(withAwsEnv(podEnv(tokenFile()), () => new STSClient({}).send(new AssumeRoleCommand({ RoleArn: PI_ROLES.reader, RoleSessionName: 'reader' }))));
      assert.equal(refused.name, 'AccessDenied');
    });

    it('a target role is assumed from the first session with its transitive tags (aws:PrincipalTag), for 59 minutes', async () => {
      writeToken(await lab.mint({ serviceAccount: 'chained' }));
      const credentials = await fetchCredentials();
      const grant = lab.grants.at(-1)!;
      assert.match(grant.assumedRoleArn, /:assumed-role\/pi-target\/eks-lab-/);
      const seconds = (credentials.expiration!.getTime() - Date.now()) / 1000;
      assert.ok(seconds > 59 * 60 - 60 && seconds <= 59 * 60, `${seconds} s`);
      const identity = await new STSClient({ region: REGION, endpoint: lab.sts.url, credentials }).send(new GetCallerIdentityCommand({}));
      assert.equal(identity.Arn, grant.assumedRoleArn);
    });

    it('with session tags disabled the target role is assumed with the documented ExternalId and no tags', async () => {
      writeToken(await lab.mint({ serviceAccount: 'untagged' }));
      await fetchCredentials();
      const grant = lab.grants.at(-1)!;
      assert.match(grant.assumedRoleArn, /:assumed-role\/pi-external-id-target\//);
      assert.deepEqual(grant.tags, []);
    });
  });

  describe("the agent's own checks, in its order, with its statuses and texts", () => {
    beforeEach(() => start({ agent: { allowedHosts: ['169.254.170.2'] } }));

    it('any path but /v1/credentials is 404 page not found; any method and any query are served', async () => {
      assert.deepEqual(await agentAnswer(await lab.mint(), { path: '/' }), { status: 404, type: 'text/plain; charset=utf-8', body: '404 page not found\n' });
      assert.equal((await agentAnswer(await lab.mint(), { path: '/v1/credentials/' })).status, 404);
      assert.equal((await agentAnswer(await lab.mint(), { method: 'POST', path: '/v1/credentials?x=1' })).status, 200);
    });

    it('the Host check: the link-local addresses and the bind address pass; localhost is refused with the real text, even before a missing token', async () => {
      const refused = await agentAnswer(undefined, { host: `localhost:${lab.agent.port}` });
      assert.deepEqual(refused, {
        status: 403,
        type: 'text/plain; charset=utf-8',
        body: 'Access Denied. Called agent through invalid address, please use either [169.254.170.23 fd00:ec2::23 127.0.0.1 169.254.170.2] address not localhost\n',
      });
      for (const host of ['169.254.170.23', '169.254.170.23:80', '[fd00:ec2::23]:80', '169.254.170.2']) assert.equal((await agentAnswer(await lab.mint(), { host })).status, 200, host);
      // The SDK itself accepts localhost, so an SDK pointed there meets the check.
      writeToken(await lab.mint());
      const error = await failure(fetchCredentials(`http://localhost:${lab.agent.port}/v1/credentials`));
      assert.equal(error.message, 'Server responded with status: 403');
    });

    it('an SDK without a token file gets 400 Service account token cannot be empty', async () => {
      const error = await failure(fetchCredentials(lab.credentialsUri, null));
      assert.match(error.message, /status: 400/);
      assert.equal((await agentAnswer(undefined)).body, 'Service account token cannot be empty\n');
    });

    it('an unparseable token is 400, with golang-jwt’s reason', async () => {
      writeToken('not-a-jwt');
      assert.match((await failure(fetchCredentials())).message, /status: 400/);
      assert.equal((await agentAnswer('not-a-jwt')).body, 'Service account token cannot be parsed: token is malformed: token contains an invalid number of segments\n');
      assert.equal((await agentAnswer('e30.!!!.x')).body, 'Service account token cannot be parsed: token is malformed: could not base64 decode claim\n');
      assert.equal((await agentAnswer('bm90LWpzb24.e30.x')).body, 'Service account token cannot be parsed: token is malformed: could not JSON decode header\n');
    });

    it('an expired or not yet valid token is 400 without a call to EKS Auth (no signature check: exp and nbf only)', async () => {
      const issuedAt = Math.floor(Date.now() / 1000) - 7200;
      writeToken(await lab.mint({ issuedAt, expirationSeconds: 3600 }));
      assert.match((await failure(fetchCredentials())).message, /status: 400/);
      assert.equal((await agentAnswer(await lab.mint({ issuedAt, expirationSeconds: 3600 }))).body, 'Service account token failed basic claim validations: token is expired\n');
      assert.equal((await agentAnswer(await lab.mint({ issuedAt: Math.floor(Date.now() / 1000) + 600 }))).body, 'Service account token failed basic claim validations: token is not valid yet\n');
      assert.equal(lab.eksAuthCalls(), 0);
    });

    it('a token file ending in a newline never reaches the agent: the SDK refuses to send it', async () => {
      writeToken(`${await lab.mint()}\n`);
      await failure(fetchCredentials());
      assert.equal(lab.eksAuthCalls(), 0);
    });
  });

  describe('EKS Auth errors, passed on by the agent with their status and code', () => {
    const upstream = async (token: string): Promise<{ status: number; code: string; message: string; fault: string }> => {
      writeToken(token);
      const error = await failure(fetchCredentials());
      const answer = await agentAnswer(token);
      assert.equal(error.message, `Server responded with status: ${answer.status}`);
      const match = /^\[[0-9a-f-]{36}\]: \((\w+)\): (.*), fault: (client|server)\n$/.exec(answer.body);
      assert.ok(match, answer.body);
      return { status: answer.status, code: match[1]!, message: match[2]!, fault: match[3]! };
    };

    it('no association: ResourceNotFoundException 404', async () => {
      await start();
      assert.deepEqual(await upstream(await lab.mint({ serviceAccount: 'nobody' })), {
        status: 404,
        code: 'ResourceNotFoundException',
        message: 'No Pod Identity Association found for service account nobody in namespace default of cluster lab.',
        fault: 'client',
      });
    });

    it('a trust policy without sts:TagSession, or whose aws:RequestTag condition fails: AccessDeniedException 400', async () => {
      await start();
      const expected = { status: 400, code: 'AccessDeniedException', message: 'Unauthorized Exception! EKS does not have permissions to assume the associated role.', fault: 'client' };
      assert.deepEqual(await upstream(await lab.mint({ serviceAccount: 'no-tag-session' })), expected);
      assert.deepEqual(await upstream(await lab.mint({ serviceAccount: 'team-only' })), expected, 'the role admits only kubernetes-namespace=team');
      writeToken(await lab.mint({ namespace: 'team', serviceAccount: 'team-only' }));
      await fetchCredentials();
    });

    it('a token of another key, another issuer, another audience or bound to no pod: InvalidTokenException 400', async () => {
      await start();
      const invalid = { status: 400, code: 'InvalidTokenException', message: 'The service account token is invalid.', fault: 'client' };
      const other = await rsaIssuerKey();
      const base = { issuer: lab.issuer.issuer, audiences: ['pods.eks.amazonaws.com'], namespace: 'default', serviceAccount: 'app', pod: { name: 'p' }, expirationSeconds: 3600 };
      assert.deepEqual(await upstream(await mintProjectedToken({ ...other, kid: lab.key.kid }, base)), invalid, 'signed by another key');
      assert.deepEqual(await upstream(await lab.mint({ issuer: 'http://127.0.0.1:1' })), invalid, 'another issuer');
      assert.deepEqual(await upstream(await lab.mint({ audiences: ['sts.amazonaws.com'] })), invalid, 'the IRSA audience');
      assert.deepEqual(await upstream(await lab.mint({ pod: undefined })), invalid, 'not bound to a pod');
    });

    it('a token EKS Auth finds expired (its clock ahead of the agent’s): ExpiredTokenException 400 with the real message', async () => {
      // Four minutes ahead: inside SigV4's five-minute skew, past the token's expiry and the 30 s tolerance.
      await start({ stsNow: () => new Date(Date.now() + 240_000) });
      const result = await upstream(await lab.mint({ issuedAt: Math.floor(Date.now() / 1000) - 3480, expirationSeconds: 3600 }));
      assert.equal(result.status, 400);
      assert.equal(result.code, 'ExpiredTokenException');
      assert.match(result.message, /^The token included in the request is expired: current date\/time \d{4}-\d\d-\d\dT[\d:.]+Z must be before the expiration date\/time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.$/);
    });

    it('an agent of an unknown cluster: ResourceNotFoundException 404', async () => {
      await start({ clusterName: 'elsewhere' });
      assert.deepEqual(await upstream(await lab.mint()), { status: 404, code: 'ResourceNotFoundException', message: 'No cluster found for name: elsewhere.', fault: 'client' });
    });

    it('an agent signing with a role that is not the node role: AccessDeniedException 403', async () => {
      await start({ nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/not-a-node` });
      const result = await upstream(await lab.mint());
      assert.equal(result.status, 403);
      assert.equal(result.code, 'AccessDeniedException');
      assert.match(result.message, /is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: arn:aws:eks:us-east-1:111122223333:cluster\/lab$/);
    });

    it('an agent whose credentials the lab did not issue: UnrecognizedClientException 403', async () => {
      await start({ nodeServerKey: randomBytes(32) });
      assert.deepEqual(await upstream(await lab.mint()), { status: 403, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.', fault: 'client' });
    });

    it('EKS Auth unreachable: 500 with the reason', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as { port: number }).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await start({ eksAuthUrl: `http://127.0.0.1:${port}` });
      writeToken(await lab.mint());
      assert.match((await failure(fetchCredentials())).message, /status: 500/);
      assert.match((await agentAnswer(await lab.mint())).body, /^EKS Auth could not be reached: /);
    });
  });

  describe('node-bound tokens (Kubernetes 1.32+ kubernetes.io.node; eksNodeName, instanceId, zone)', () => {
    const NODE = { eksNodeName: 'ip-10-0-1-7.ec2.internal', instanceId: 'i-0123456789abcdef0', zone: 'use1-az1' };
    const NODE_UID = '5b0c7f4e-0000-4000-8000-0000000000a1';
    let log: LogCapture;
    const startOnNode = (node: NodeContext): Promise<void> => {
      log = new LogCapture();
      return start({ agent: { node }, logger: createLogger(log.write, 'info') });
    };
    const eksAuthLines = (): Array<Record<string, unknown>> => log.events('eks-auth');

    it('the agent sends its node; a token of a pod on that node gets credentials, and EKS Auth logs both nodes, the instance and the zone', async () => {
      await startOnNode(NODE);
      writeToken(await lab.mint({ node: { name: NODE.eksNodeName, uid: NODE_UID } }));
      const credentials = await fetchCredentials();
      assert.match(credentials.accessKeyId, /^ASIA/);
      assert.deepEqual(lab.grants.at(-1)?.node, NODE);
      assert.deepEqual(lab.grants.at(-1)?.subject.node, { name: NODE.eksNodeName, uid: NODE_UID });
      await waitFor('the eks-auth log line', () => eksAuthLines().length > 0);
      const [logged] = eksAuthLines();
      assert.equal(logged!.outcome, 'ok');
      assert.deepEqual(
        { node: logged!.node, nodeUid: logged!.nodeUid, eksNodeName: logged!.eksNodeName, instanceId: logged!.instanceId, zone: logged!.zone },
        { node: NODE.eksNodeName, nodeUid: NODE_UID, ...NODE },
      );
    });

    it("a token whose kubernetes.io.node is another node is refused with AccessDeniedException; the answer names neither node, the log names both", async () => {
      await startOnNode(NODE);
      writeToken(await lab.mint({ node: { name: 'ip-10-0-2-9.ec2.internal', uid: NODE_UID } }));
      const error = await failure(fetchCredentials());
      assert.match(error.message, /status: 400/);
      const answer = await agentAnswer(await lab.mint({ node: { name: 'ip-10-0-2-9.ec2.internal' } }));
      assert.equal(answer.status, 400);
      assert.match(answer.body, /^\[[0-9a-f-]+\]: \(AccessDeniedException\): The service account token is not bound to the node named in the request\., fault: client\n$/);
      assert.doesNotMatch(answer.body, /ip-10-0/);
      assert.equal(lab.grants.length, 0, 'no credentials were issued');
      await waitFor('the eks-auth log lines', () => eksAuthLines().length >= 2);
      const refused = eksAuthLines()[0]!;
      assert.equal(refused.code, 'AccessDeniedException');
      assert.equal(refused.reason, "eksNodeName ip-10-0-1-7.ec2.internal is not the token's kubernetes.io.node.name ip-10-0-2-9.ec2.internal");
    });

    it('when only one side names a node (a token from before 1.32, or an agent that sends no node name), nothing is compared and the credentials come', async () => {
      await startOnNode(NODE);
      writeToken(await lab.mint());
      assert.match((await fetchCredentials()).accessKeyId, /^ASIA/);
      assert.equal(lab.grants.at(-1)?.subject.node, undefined);
      assert.deepEqual(lab.grants.at(-1)?.node, NODE);
      await lab.close();

      await startOnNode({ instanceId: NODE.instanceId });
      writeToken(await lab.mint({ node: { name: 'any-node', uid: NODE_UID } }));
      assert.match((await fetchCredentials()).accessKeyId, /^ASIA/);
      assert.deepEqual(lab.grants.at(-1)?.node, { instanceId: NODE.instanceId });
      assert.equal(lab.grants.at(-1)?.subject.node?.name, 'any-node');
    });

    it('the agent keeps caching by token: one EKS Auth call for two requests with one token', async () => {
      await startOnNode(NODE);
      const token = await lab.mint({ node: { name: NODE.eksNodeName } });
      assert.equal((await agentAnswer(token)).status, 200);
      assert.equal((await agentAnswer(token)).status, 200);
      assert.equal(lab.eksAuthCalls(), 1);
    });
  });

  describe('caching and refresh', () => {
    it('one EKS Auth call per token string; a rotated token is a new key', async () => {
      await start();
      const token = await lab.mint();
      writeToken(token);
      const first = await fetchCredentials();
      const again = await fetchCredentials();
      assert.equal(again.accessKeyId, first.accessKeyId);
      assert.equal(lab.eksAuthCalls(), 1);
      writeToken(await lab.mint());
      assert.notEqual((await fetchCredentials()).accessKeyId, first.accessKeyId);
      assert.equal(lab.eksAuthCalls(), 2);
    });

    it('short-lived credentials: the default chain refreshes, re-reading the (rotated) token file and calling the agent again', async () => {
      await start({ sessionSeconds: 60 });
      writeToken(await lab.mint({ pod: { name: 'app-1', uid: 'uid-1' } }));
      await withAwsEnv(podEnv(tokenFile()), async () => {
        const client = new STSClient({});
        const first = (await client.send(new GetCallerIdentityCommand({}))).Arn;
        assert.equal(lab.eksAuthCalls(), 1);
        // The kubelet rotates the token; credentials with under 5 minutes left make the SDK fetch
        // again. The SDK's default chain does it in the background: the call that finds them
        // expiring still signs with them, and a later call gets the new ones.
        writeToken(await lab.mint({ pod: { name: 'app-1', uid: 'uid-1' } }));
        await waitFor(
          'the SDK to fetch again',
          async () => {
            await client.send(new GetCallerIdentityCommand({}));
            return lab.eksAuthCalls() >= 2;
          },
          10_000,
          100,
        );
        // Sixty-second sessions stay "expiring", so later calls may refresh again: any fetch after
        // the first gave a new session, and the SDK now signs with one of them.
        const refreshed = (await client.send(new GetCallerIdentityCommand({}))).Arn;
        assert.notEqual(refreshed, first, 'a new session (a new UUID in its name)');
        assert.ok(
          lab.grants.slice(1).some((grant) => grant.assumedRoleArn === refreshed),
          `${refreshed} is one of the sessions fetched after the token was rotated`,
        );
      });
    });
  });

  describe('botocore (the AWS CLI v1 on PATH)', () => {
    it('reads the token file, gets the associated role, and shows the agent’s text on an error', async function () {
      const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
      if (aws.status !== 0) this.skip();
      await start();
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AWS_CONFIG_FILE: join(dir, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_FULL_URI: lab.credentialsUri,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile(),
        AWS_DEFAULT_REGION: REGION,
      };
      const cli = (): Promise<{ code: number; stdout: string; stderr: string }> =>
        new Promise((resolve) => {
          execFile('aws', ['sts', 'get-caller-identity', '--endpoint-url', lab.sts.url], { env, timeout: 20_000 }, (error, stdout, stderr) =>
            resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr }),
          );
        });
      writeToken(await lab.mint());
      const allowed = await cli();
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match((JSON.parse(allowed.stdout) as { Arn: string }).Arn, /:assumed-role\/pi-app\/eks-lab-/);
      writeToken(await lab.mint({ serviceAccount: 'nobody' }));
      const refused = await cli();
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Received non 200 response 404 from container metadata: \[[0-9a-f-]+\]: \(ResourceNotFoundException\): No Pod Identity Association found/);
    });
  });

  describe('probes, metrics and the rate limit', () => {
    it('/healthz, /readyz (the credentials listener answers 404 on /) and /metrics on the metrics port', async () => {
      await start({ agent: { metricsPort: 0 } });
      await agentAnswer(await lab.mint());
      await agentAnswer(undefined);
      const url = lab.agent.metricsUrl!;
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /pod_identity_webhook_agent_responses_total\{code="200"\} 1/);
      assert.match(metrics, /pod_identity_webhook_agent_responses_total\{code="400"\} 1/);
      assert.match(metrics, /pod_identity_webhook_agent_cache_total\{state="miss"\} 1/);
    });

    it('past a burst of 500 requests (1,000 a second) the agent answers 429', async () => {
      const frozen = Date.now();
      await start({ agent: { now: () => frozen } });
      for (let index = 0; index < 500; index += 1) assert.equal((await agentAnswer(undefined)).status, 400);
      assert.deepEqual(await agentAnswer(undefined), { status: 429, type: 'text/plain; charset=utf-8', body: 'Too Many Requests\n' });
    });
  });
});
