import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseLabConfig } from '../../src/lab/sts/config.js';
import { readSessionPolicy } from '../../src/lab/sts/permissions.js';
import { StsService } from '../../src/lab/sts/service.js';
import { SessionAuthority } from '../../src/lab/sts/sessions.js';
import { StsError } from '../../src/lab/sts/errors.js';
import { WebIdentityVerifier } from '../../src/lab/sts/web-identity.js';
import { ACCOUNT, ADMIN_ROLE_ARN, type Lab, ROLE_ARN, SHORT_ROLE_ARN, startLab } from '../helpers/lab.js';
import { sdkError } from '../helpers/sdk-error.js';

const TARGET_B = `arn:aws:iam::${ACCOUNT}:role/target-b`;
const trustDemoApp = { Statement: [{ Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: 'sts:AssumeRole' }] };
const policyText = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('session policies in the lab STS', function () {
  this.timeout(60_000);
  let lab: Lab;

  before(async () => {
    lab = await startLab({
      roleFields: {
        // demo-app may assume target-b and cluster-admins, not short; it may simulate.
        [ROLE_ARN]: { policies: { chain: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [TARGET_B, ADMIN_ROLE_ARN] }, { Effect: 'Allow', Action: 'iam:SimulatePrincipalPolicy', Resource: '*' }] } } },
      },
      extraRoles: [{ arn: TARGET_B, trustPolicy: trustDemoApp }],
    });
  });
  after(async () => lab.close());

  const sts = (credentials = { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' } as { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
    new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 });
  const webIdentity = async (Policy?: string, RoleArn = ROLE_ARN) => {
    const answer = await sts().send(new AssumeRoleWithWebIdentityCommand({ RoleArn, RoleSessionName: 'app', WebIdentityToken: await lab.mint(), Policy }));
    const { AccessKeyId, SecretAccessKey, SessionToken } = answer.Credentials!;
    return { credentials: { accessKeyId: AccessKeyId!, secretAccessKey: SecretAccessKey!, sessionToken: SessionToken! }, packedPolicySize: answer.PackedPolicySize };
  };
  const chain = async (credentials: Awaited<ReturnType<typeof webIdentity>>['credentials'], RoleArn: string, Policy?: string) =>
    sts(credentials).send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'chained', Policy }));

  it('the role allows sts:AssumeRole on role B; a session policy that does not makes it AccessDenied', async () => {
    const plain = await webIdentity();
    assert.equal((await chain(plain.credentials, TARGET_B)).AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/target-b/chained`);
    const narrowing = policyText([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ADMIN_ROLE_ARN }]);
    const narrowed = await webIdentity(narrowing);
    assert.equal(narrowed.packedPolicySize, Math.ceil((narrowing.length * 100) / 2048)); // the lab's stand-in for the packed size
    const denied = await sdkError(chain(narrowed.credentials, TARGET_B));
    assert.equal(denied.name, 'AccessDenied');
    assert.equal(denied.$metadata?.httpStatusCode, 403);
    assert.equal(denied.message, `User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/app is not authorized to perform: sts:AssumeRole on resource: ${TARGET_B} because no session policy allows the sts:AssumeRole action`);
    // What the session policy allows and the role allows too still works.
    assert.equal((await chain(narrowed.credentials, ADMIN_ROLE_ARN)).AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/cluster-admins/chained`);
  });

  it('the identity policies and an explicit Deny decide with AWS wording', async () => {
    const plain = await webIdentity();
    // demo-app's policies do not allow short (whose trust policy does not matter: identity is checked first).
    const notAllowed = await sdkError(chain(plain.credentials, SHORT_ROLE_ARN));
    assert.equal(notAllowed.message, `User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/app is not authorized to perform: sts:AssumeRole on resource: ${SHORT_ROLE_ARN} because no identity-based policy allows the sts:AssumeRole action`);
    const denying = await webIdentity(policyText([{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'sts:AssumeRole', Resource: TARGET_B }]));
    const denied = await sdkError(chain(denying.credentials, TARGET_B));
    assert.match(denied.message, /on resource: .*target-b with an explicit deny in a session policy$/);
  });

  it("each session's policy applies to that session only: a chained AssumeRole passes its own", async () => {
    const outer = await webIdentity(policyText([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }]));
    // cluster-admins' permissions are not modelled: without a Policy its session is not narrowed by the caller's.
    const free = await chain(outer.credentials, ADMIN_ROLE_ARN);
    const freeCredentials = { accessKeyId: free.Credentials!.AccessKeyId!, secretAccessKey: free.Credentials!.SecretAccessKey!, sessionToken: free.Credentials!.SessionToken! };
    const simulateAs = (credentials: typeof freeCredentials) =>
      new IAMClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 }).send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: TARGET_B, ActionNames: ['s3:GetObject'] }));
    assert.equal((await simulateAs(freeCredentials)).EvaluationResults?.[0]?.EvalDecision, 'implicitDeny');
    // With its own Policy, the chained session is narrowed by it (even though its role is not modelled).
    const bound = await chain(outer.credentials, ADMIN_ROLE_ARN, policyText([{ Effect: 'Allow', Action: 's3:*', Resource: '*' }]));
    const boundCredentials = { accessKeyId: bound.Credentials!.AccessKeyId!, secretAccessKey: bound.Credentials!.SecretAccessKey!, sessionToken: bound.Credentials!.SessionToken! };
    const denied = await sdkError(simulateAs(boundCredentials));
    assert.equal(denied.name, 'AccessDenied');
    assert.match(denied.message, /assumed-role\/cluster-admins\/chained is not authorized to perform: iam:SimulatePrincipalPolicy .* because no session policy allows/);
    // GetCallerIdentity needs no permission, as in AWS.
    assert.equal((await sts(boundCredentials).send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/cluster-admins/chained`);
  });

  it('the session policy survives an STS restart with the same key (it is in the signed token)', async () => {
    const narrowed = await webIdentity(policyText([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ADMIN_ROLE_ARN }]));
    await lab.restartSts();
    assert.equal((await sdkError(chain(narrowed.credentials, TARGET_B))).name, 'AccessDenied');
  });

  it("refuses bad session policies with STS's codes", async () => {
    const cases: Array<[() => Promise<unknown>, string, RegExp]> = [
      [() => webIdentity('{"Version": "2012-10-17", "Statement": ['), 'MalformedPolicyDocumentException', /The session policy is malformed: invalid JSON/],
      [() => webIdentity(policyText([{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }])), 'MalformedPolicyDocumentException', /Principal is not supported in a permission policy/],
      [() => webIdentity(policyText([{ Effect: 'Allow', Action: '*', Resource: `arn:aws:s3:::${'x'.repeat(2100)}` }])), 'ValidationError', /Member must have length less than or equal to 2048/],
      [
        async () =>
          sts().send(
            new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'app', WebIdentityToken: await lab.mint(), PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }] }),
          ),
        'ValidationError',
        /PolicyArns is not supported by the lab STS/,
      ],
    ];
    for (const [call, name, message] of cases) {
      const error = await sdkError(call());
      assert.equal(error.name, name);
      assert.match(error.message, message);
    }
  });

  it('PackedPolicyTooLarge when the policy and the session tags together pass the limit (in-process, as EKS Auth calls it)', async () => {
    const config = parseLabConfig({
      providers: [{ issuer: 'https://issuer.example', audiences: ['sts.amazonaws.com'], jwksUrl: 'https://issuer.example/keys' }],
      roles: [{ arn: TARGET_B, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] } }],
    });
    assert.ok(config.ok, config.ok ? '' : config.error);
    const now = () => new Date();
    const service = new StsService({ config: config.value, sessions: new SessionAuthority(randomBytes(32)), verifier: new WebIdentityVerifier([], { clockToleranceSeconds: 30, jwksTimeoutMs: 1000, jwksRefetchCooldownMs: 1000, now }), now });
    const policy = readSessionPolicy(policyText([{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(1900)}` }]));
    const request = { service: 'pods.eks.amazonaws.com', roleArn: TARGET_B, sessionName: 'pod', durationSeconds: 3600, transitiveTagKeys: [], policy };
    const small = service.assumeRoleAsService({ ...request, tags: [{ key: 'a', value: 'b' }] });
    assert.equal(small.session.policy, policy.text);
    assert.throws(
      () => service.assumeRoleAsService({ ...request, tags: [{ key: 'kubernetes-pod-name', value: 'p'.repeat(200) }] }),
      (error: unknown) => error instanceof StsError && error.code === 'PackedPolicyTooLarge' && /Packed policy consumes 10[0-9]% of allotted space/.test(error.message),
    );
  });
});
