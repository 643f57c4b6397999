import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthenticator } from '../../src/authenticator/authenticator.js';
import { createClusterToken, TOKEN_PREFIX } from '../../src/authenticator/token.js';
import { reviewToken } from '../../src/authenticator/tokenreview.js';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates, type GeneratedCertificates } from '../../src/shared/certs/generate.js';
import { silentLogger } from '../../src/shared/log.js';
import type { RunningHttpsService } from '../../src/shared/http/https-service.js';
import { createAuthenticatorMetrics } from '../../src/authenticator/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { runCli } from '../helpers/cli.js';
import { httpsRequest } from '../helpers/https-client.js';
import { CliProcess } from '../helpers/process.js';
import { ACCOUNT, ADMIN_ROLE_ARN, type Lab, ROLE_ARN, SHORT_ROLE_ARN, startLab } from '../helpers/lab.js';
import { ROOT } from '../helpers/paths.js';

interface ReviewStatus {
  authenticated: boolean;
  error?: string;
  user?: { username: string; uid: string; groups: string[]; extra: Record<string, string[]> };
}

describe('cluster login with lab credentials: pod identity → STS → token-exec → TokenReview', function () {
  this.timeout(60_000);
  let lab: Lab;
  let dir: string;
  let certificates: GeneratedCertificates;
  let authenticator: RunningHttpsService;

  before(async () => {
    lab = await startLab();
    dir = mkdtempSync(join(tmpdir(), 'piw-login-'));
    certificates = generateCertificates({ service: 'aws-iam-authenticator', namespace: 'kube-system', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(dir, certificates);
    authenticator = await startAuthenticator({
      clusterId: 'lab-cluster',
      authenticationMode: 'CONFIG_MAP',
      awsAuthPath: join(ROOT, 'manifests', 'lab', 'aws-auth.yaml'),
      accessEntriesPath: undefined,
      labStsOrigins: [new URL(lab.sts.url).origin],
      stsTimeoutMs: 5000,
      bindAddress: '127.0.0.1',
      port: 0,
      metricsPort: undefined,
      tlsCertPath: join(dir, 'tls.crt'),
      tlsKeyPath: join(dir, 'tls.key'),
      logger: silentLogger,
      metrics: createAuthenticatorMetrics(createRegistry({ processMetrics: false })),
    });
  });
  after(async () => {
    await authenticator.close();
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** token-exec as kubectl runs it, in a process whose AWS environment is what the webhook injected into the pod. */
  async function tokenExec(args: string[]): Promise<{ token: string; expirationTimestamp: string }> {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, await lab.mint());
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ROLE_ARN: ROLE_ARN,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_STS: lab.sts.url,
    };
    const result = await runCli(['token-exec', ...args], { env });
    assert.equal(result.code, 0, result.stderr);
    // kubectl shows an exec plugin's stderr on every call: a warning (the SDK's NodeVersionSupportWarning, a deprecation) would be noise on each one.
    assert.equal(result.stderr, '', 'token-exec wrote to stderr');
    const credential = JSON.parse(result.stdout) as { kind: string; apiVersion: string; status: { token: string; expirationTimestamp: string } };
    assert.equal(credential.kind, 'ExecCredential');
    assert.equal(credential.apiVersion, 'client.authentication.k8s.io/v1beta1');
    return credential.status;
  }

  async function review(token: string, apiVersion = 'authentication.k8s.io/v1', port = authenticator.port): Promise<ReviewStatus> {
    const response = await httpsRequest(`https://127.0.0.1:${port}/authenticate`, {
      body: JSON.stringify({ apiVersion, kind: 'TokenReview', spec: { token } }),
      ca: certificates.caCert,
    });
    assert.equal(response.status, 200, response.body);
    const body = JSON.parse(response.body) as { apiVersion: string; kind: string; status: ReviewStatus };
    assert.equal(body.kind, 'TokenReview');
    assert.equal(body.apiVersion, apiVersion);
    return body.status;
  }

  it('a pod\'s web identity logs in as its mapped user', async () => {
    const { token, expirationTimestamp } = await tokenExec(['--cluster-id', 'lab-cluster']);
    const minutes = (Date.parse(expirationTimestamp) - Date.now()) / 60_000;
    assert.ok(minutes > 13 && minutes <= 14, `expires in ${minutes} min`);
    const status = await review(token);
    assert.equal(status.authenticated, true, status.error);
    assert.match(status.user?.username ?? '', /^demo-app:aws-sdk-js-session-\d+$/);
    assert.deepEqual(status.user?.groups, ['demo-readers']);
    assert.match(status.user?.uid ?? '', new RegExp(`^aws-iam-authenticator:${ACCOUNT}:AROA[A-Z2-7]{17}$`));
    assert.deepEqual(status.user?.extra.canonicalArn, [ROLE_ARN]);
    assert.match(status.user?.extra.arn?.[0] ?? '', new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/aws-sdk-js-session-`));
    assert.match(status.user?.extra.accessKeyId?.[0] ?? '', /^ASIA/);
    // The principal id under aws-iam-authenticator's prefixed key as well as the plain one.
    assert.deepEqual(status.user?.extra['sigs.k8s.io/aws-iam-authenticator/principalId'], status.user?.extra.principalId);
    assert.match(status.user?.extra.principalId?.[0] ?? '', /^AROA[A-Z2-7]{17}$/);
  });

  it('token-exec --role-arn assumes the role first (sts:AssumeRole) and logs in as that role', async () => {
    const { token } = await tokenExec(['--cluster-id', 'lab-cluster', '--role-arn', ADMIN_ROLE_ARN, '--session-name', 'alice-laptop']);
    const status = await review(token, 'authentication.k8s.io/v1beta1');
    assert.equal(status.authenticated, true, status.error);
    assert.equal(status.user?.username, 'admin:alice-laptop');
    assert.deepEqual(status.user?.groups, ['cluster-admins']);
    assert.deepEqual(status.user?.extra.arn, [`arn:aws:sts::${ACCOUNT}:assumed-role/cluster-admins/alice-laptop`]);
  });

  it('--reserved-username-prefixes: a login whose rendered username begins with a prefix reserved for its backend is refused (aws-iam-authenticator v0.7.18)', async () => {
    const child = CliProcess.start([
      'authenticator',
      '--cluster-id',
      'lab-cluster',
      '--aws-auth',
      join(ROOT, 'manifests', 'lab', 'aws-auth.yaml'),
      '--allow-sts-url',
      new URL(lab.sts.url).origin,
      '--reserved-username-prefixes',
      'aws-auth=eks:,admin:',
      '--reserved-username-prefixes',
      'access-entries=',
      '--port',
      '0',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
    ]);
    try {
      const listening = await child.line('listening');
      assert.deepEqual([listening.reservedAwsAuthPrefixes, listening.reservedAccessEntryPrefixes], [['eks:', 'admin:'], []]);
      const port = await child.port();
      const { token } = await tokenExec(['--cluster-id', 'lab-cluster', '--role-arn', ADMIN_ROLE_ARN, '--session-name', 'alice-laptop']);
      const refused = await review(token, 'authentication.k8s.io/v1', port);
      assert.equal(refused.authenticated, false);
      assert.equal((await review(token)).authenticated, true, 'the same token logs in where admin: is not reserved');
      const reviewed = await child.line('authenticate');
      assert.equal(reviewed.reason, refused.error);
      assert.match(String(refused.error), /mapRoles\[1\]: the username "admin:alice-laptop" begins with admin:, a prefix reserved for users the aws-auth backend maps/);
    } finally {
      await child.stop();
    }
  });

  it('token-exec fails clearly when the role does not trust the caller', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, await lab.mint());
    const result = await runCli(['token-exec', '--cluster-id', 'lab-cluster', '--role-arn', SHORT_ROLE_ARN], {
      env: { PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', AWS_ROLE_ARN: ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_STS: lab.sts.url },
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /could not get AWS credentials: AccessDenied: User: arn:aws:sts::111122223333:assumed-role\/demo-app\/.* is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/short/);
  });

  it('a token made for another cluster id is refused (the signed header does not match)', async () => {
    const { token } = await tokenExec(['--cluster-id', 'other-cluster']);
    const status = await review(token);
    assert.equal(status.authenticated, false);
    assert.match(status.error ?? '', /STS refused the token: SignatureDoesNotMatch/);
  });

  it('a tampered token is refused', async () => {
    const { token } = await tokenExec(['--cluster-id', 'lab-cluster']);
    const url = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString();
    const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, first: string) => `X-Amz-Signature=${first === 'a' ? 'b' : 'a'}`);
    const status = await review(TOKEN_PREFIX + Buffer.from(tampered).toString('base64url'));
    assert.equal(status.authenticated, false);
    assert.match(status.error ?? '', /SignatureDoesNotMatch/);
  });

  it('an expired token is refused before STS is asked', async () => {
    const assumed = lab.assumed.at(-1)!.credentials;
    const { token } = await createClusterToken({
      clusterId: 'lab-cluster',
      credentials: { accessKeyId: assumed.accessKeyId, secretAccessKey: assumed.secretAccessKey, sessionToken: assumed.sessionToken },
      region: 'us-east-1',
      stsEndpoint: lab.sts.url,
      now: new Date(Date.now() - 16 * 60 * 1000),
    });
    assert.deepEqual(await review(token), { authenticated: false, error: 'invalid token: the token has expired (15 minutes after X-Amz-Date)' });
  });

  it('a token pointing anywhere else is refused without a request being made (no SSRF)', async () => {
    let hits = 0;
    const trap = createServer((_req, res) => {
      hits += 1;
      res.end('{}');
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    try {
      const { token } = await tokenExec(['--cluster-id', 'lab-cluster']);
      const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString());
      const redirected = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/${url.search}`;
      const status = await review(TOKEN_PREFIX + Buffer.from(redirected).toString('base64url'));
      assert.equal(status.authenticated, false);
      assert.match(status.error ?? '', /unexpected host/);
      assert.equal(hits, 0);
    } finally {
      trap.close();
    }
  });

  it('an endless or oversized STS answer is cut off at 64 KiB, not read into memory', async () => {
    let sent = 0;
    let declareLength = false;
    const flood = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(200 * 1024 * 1024) } : {}) });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        // 200 MiB at most, however long the client keeps reading.
        while (sent < 200 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent >= 200 * 1024 * 1024) res.end();
      };
      res.on('drain', pump);
      pump();
    });
    await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(flood.address() as AddressInfo).port}`;
    try {
      const { token } = await createClusterToken({ clusterId: 'lab-cluster', credentials: { accessKeyId: 'ASIAFLOOD', secretAccessKey: 'x' }, region: 'us-east-1', stsEndpoint: origin });
      for (const declared of [false, true]) {
        sent = 0;
        declareLength = declared;
        const heapBefore = process.memoryUsage().heapUsed;
        const { status } = await reviewToken(token, {
          clusterId: 'lab-cluster',
          labStsOrigins: [origin],
          identitySources: () => ({ mode: 'CONFIG_MAP', awsAuth: { roles: [], users: [], accounts: [], ssoMatchers: [] }, accessEntries: undefined }),
          stsTimeoutMs: 10_000,
        });
        assert.deepEqual(status, { authenticated: false, error: 'STS answered with more than 65536 bytes' }, `content-length declared: ${declared}`);
        assert.ok(process.memoryUsage().heapUsed - heapBefore < 32 * 1024 * 1024, 'the answer was read into memory');
        assert.ok(sent < 16 * 1024 * 1024, `${sent} bytes were sent before the authenticator stopped reading`);
      }
    } finally {
      flood.closeAllConnections();
      flood.close();
    }
  });

  it('an STS that accepts the request but never answers: refused after --sts-timeout, nothing left waiting', async () => {
    let asked = 0;
    const silent = createServer(() => {
      asked += 1;
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const { token } = await createClusterToken({ clusterId: 'lab-cluster', credentials: { accessKeyId: 'ASIASILENT', secretAccessKey: 'x' }, region: 'us-east-1', stsEndpoint: origin });
      const started = Date.now();
      const { status } = await reviewToken(token, {
        clusterId: 'lab-cluster',
        labStsOrigins: [origin],
        identitySources: () => ({ mode: 'CONFIG_MAP', awsAuth: { roles: [], users: [], accounts: [], ssoMatchers: [] }, accessEntries: undefined }),
        stsTimeoutMs: 300,
      });
      assert.deepEqual(status, { authenticated: false, error: 'STS did not answer within 300 ms' });
      assert.equal(asked, 1);
      assert.ok(Date.now() - started < 5000, 'the review waited for the answer past its timeout');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a valid identity that aws-auth does not map is refused with the reason', async () => {
    const web = await lab.mint();
    const assumed = await new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: SHORT_ROLE_ARN, RoleSessionName: 'unmapped', WebIdentityToken: web }),
    );
    const { token } = await createClusterToken({
      clusterId: 'lab-cluster',
      credentials: { accessKeyId: assumed.Credentials!.AccessKeyId!, secretAccessKey: assumed.Credentials!.SecretAccessKey!, sessionToken: assumed.Credentials!.SessionToken! },
      region: 'us-east-1',
      stsEndpoint: lab.sts.url,
    });
    assert.deepEqual(await review(token), {
      authenticated: false,
      error: `${SHORT_ROLE_ARN} is not mapped in aws-auth (mapRoles, mapUsers, mapAccounts)`,
    });
  });

  it('refuses what is not a TokenReview, and an empty token', async () => {
    const notReview = await httpsRequest(`https://127.0.0.1:${authenticator.port}/authenticate`, { body: JSON.stringify({ kind: 'Pod' }), ca: certificates.caCert });
    assert.equal(notReview.status, 400);
    assert.deepEqual(await review(''), { authenticated: false, error: 'spec.token is empty' });
  });
});
