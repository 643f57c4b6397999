import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { readExplainInput } from '../../src/cli/explain-inputs.js';
import { explain } from '../../src/diagnose/explain/chain.js';
import { startIssuer, type RunningIssuer } from '../../src/lab/issuer-server.js';
import { loadLabConfig, providerId } from '../../src/lab/sts/config.js';
import { startSts } from '../../src/lab/sts/start.js';
import { mintProjectedToken } from '../../src/lab/token.js';
import { silentLogger } from '../../src/shared/log.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { ACCOUNT, rsaIssuerKey } from '../helpers/lab.js';

/**
 * One implementation of trust: for each trust policy, the lab STS (called by the real AWS SDK with
 * a real token) and `explain` (given the same lab config and token) must agree on allow or deny.
 */
const ROLE = `arn:aws:iam::${ACCOUNT}:role/app`;

describe('explain and the lab STS agree on every trust policy', function () {
  this.timeout(60_000);
  let issuer: RunningIssuer;
  let directory: string;
  let provider: string;
  const keys: Awaited<ReturnType<typeof rsaIssuerKey>>[] = [];

  before(async () => {
    keys.push(await rsaIssuerKey());
    issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => keys });
    provider = providerId(issuer.issuer);
    directory = mkdtempSync(join(tmpdir(), 'explain-sts-'));
  });
  after(async () => {
    await issuer.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const federated = (): string => `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}`;
  const statement = (condition: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    Effect: 'Allow',
    Principal: { Federated: federated() },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: condition,
    ...extra,
  });
  const policies: Array<[string, () => Record<string, unknown>[], boolean]> = [
    ['sub and aud as the pod has them', () => [statement({ StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:apps:app', [`${provider}:aud`]: 'sts.amazonaws.com' } })], true],
    ['a namespace typo in sub', () => [statement({ StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:app:app' } })], false],
    ['StringLike with a namespace wildcard', () => [statement({ StringLike: { [`${provider}:sub`]: 'system:serviceaccount:apps:*' } })], true],
    ['StringEquals with the same wildcard', () => [statement({ StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:apps:*' } })], false],
    ['StringEqualsIgnoreCase with another case', () => [statement({ StringEqualsIgnoreCase: { [`${provider}:sub`]: 'SYSTEM:serviceaccount:APPS:app' } })], true],
    ['a key naming another provider', () => [statement({ StringEquals: { [`https://${provider}:sub`]: 'system:serviceaccount:apps:app' } })], false],
    ['StringNotEquals on another ServiceAccount', () => [statement({ StringNotEquals: { [`${provider}:sub`]: 'system:serviceaccount:apps:other' } })], true],
    ['an Allow and a Deny on the namespace', () => [statement({}), { Effect: 'Deny', Principal: '*', Action: 'sts:*', Condition: { StringLike: { [`${provider}:sub`]: 'system:serviceaccount:apps:*' } } }], false],
    ['sts:AssumeRole instead of sts:AssumeRoleWithWebIdentity', () => [statement({}, { Action: 'sts:AssumeRole' })], false],
    ['sts:AssumeRole* (a wildcard action)', () => [statement({}, { Action: 'sts:AssumeRole*' })], true],
    ['NotAction naming another action', () => [{ Effect: 'Allow', Principal: { Federated: federated() }, NotAction: 'sts:AssumeRole' }], true],
    ['another cluster as the Federated principal', () => [statement({}, { Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.example.com/id/OTHER` } })], false],
    ['ForAnyValue:StringLike on aud', () => [statement({ 'ForAnyValue:StringLike': { [`${provider}:aud`]: ['sts.*', 'vault'] } })], true],
    ['Null: aud must be absent', () => [statement({ Null: { [`${provider}:aud`]: 'true' } })], false],
    ['ArnEquals on the provider', () => [statement({ ArnEquals: { 'aws:FederatedProvider': federated() } })], true],
  ];

  for (const [what, build, allowed] of policies) {
    it(`${what}: ${allowed ? 'allowed' : 'denied'} by both`, async () => {
      const labConfig = join(directory, `${randomBytes(4).toString('hex')}.yaml`);
      writeFileSync(
        labConfig,
        stringify({
          providers: [{ issuer: issuer.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer.issuer}/keys` }],
          roles: [{ arn: ROLE, trustPolicy: { Version: '2012-10-17', Statement: build() } }],
        }),
      );
      const tokenFile = join(directory, 'token');
      const token = await mintProjectedToken(keys[0]!, { issuer: issuer.issuer, audiences: ['sts.amazonaws.com'], namespace: 'apps', serviceAccount: 'app', pod: { name: 'app-1' }, expirationSeconds: 3600 });
      writeFileSync(tokenFile, token);

      const config = await loadLabConfig(labConfig);
      assert.ok(config.ok, config.ok ? '' : config.error);
      const sts = await startSts({ config: config.value, serverKey: randomBytes(32), bindAddress: '127.0.0.1', port: 0, logger: silentLogger });
      let stsAllowed: boolean;
      try {
        const client = new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 });
        stsAllowed = await client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE, RoleSessionName: 'explain-check', WebIdentityToken: token })).then(
          () => true,
          (error: { name?: string }) => {
            assert.equal(error.name, 'AccessDenied');
            return false;
          },
        );
      } finally {
        await sts.close();
      }

      const podFile = join(directory, 'pod.json');
      writeFileSync(podFile, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app-1', namespace: 'apps' }, spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'app' }] } }));
      const accountFile = join(directory, 'sa.json');
      writeFileSync(accountFile, JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'apps', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } }));
      const input = await readExplainInput({
        pod: podFile,
        kubeCluster: undefined,
        namespace: undefined,
        serviceAccount: accountFile,
        webhookConfigFile: undefined,
        webhookConfiguration: undefined,
        trustPolicy: undefined,
        labConfig,
        cluster: undefined,
        issuerUrl: undefined,
        token: tokenFile,
        identitiesFile: undefined,
        identitiesConfigMap: undefined,
        roleMappingConfigMap: undefined,
        container: undefined,
        now: new Date(),
        options: { ...DEFAULT_MUTATION_OPTIONS, awsDefaultRegion: 'us-west-2' },
      });
      const trust = explain(input).links.find((link) => link.name === 'trust policy')!;
      assert.equal(stsAllowed, allowed, 'the lab STS');
      assert.equal(trust.status !== 'broken', allowed, `explain: ${trust.status} ${trust.code ?? ''}\n${trust.detail.join('\n')}`);
    });
  }
});
