import { IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ACCOUNT, type Lab, ROLE_ARN, SHORT_ROLE_ARN, startLab } from '../helpers/lab.js';
import { sdkError } from '../helpers/sdk-error.js';

const run = promisify(execFile);
const READER_ARN = `arn:aws:iam::${ACCOUNT}:role/reader`;
const BUCKET = 'arn:aws:s3:::lab-bucket';

/** demo-app may simulate; `reader` has two inline policies and a boundary. */
const ROLE_FIELDS = {
  [ROLE_ARN]: {
    policies: {
      simulate: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['iam:SimulatePrincipalPolicy', 'sts:AssumeRole'], Resource: '*' }] },
    },
  },
};
const READER = {
  arn: READER_ARN,
  trustPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: 'sts:AssumeRole' }] },
  policies: {
    read: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Read', Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket', 'sqs:SendMessage'], Resource: [`${BUCKET}/*`, BUCKET, '*'] },
        { Sid: 'FromOffice', Effect: 'Allow', Action: 's3:PutObject', Resource: `${BUCKET}/*`, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
      ],
    },
    guard: '{"Version": "2012-10-17",\n "Statement": [\n  {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}\n ]\n}',
  },
  permissionsBoundary: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
};

describe('the lab IAM endpoint: SimulatePrincipalPolicy', function () {
  this.timeout(60_000);
  let lab: Lab;

  before(async () => {
    lab = await startLab({ roleFields: ROLE_FIELDS, extraRoles: [READER] });
  });
  after(async () => lab.close());

  const credentialsOf = async (roleArn: string, policy?: string) => {
    const sts = new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 });
    const assumed = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'simulator', WebIdentityToken: await lab.mint(), Policy: policy }));
    const credentials = assumed.Credentials!;
    return { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.SessionToken! };
  };
  const iam = async (roleArn = ROLE_ARN, policy?: string) => new IAMClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials: await credentialsOf(roleArn, policy), maxAttempts: 1 });
  const simulate = async (input: Partial<SimulatePrincipalPolicyCommandInput>, client?: IAMClient) =>
    (client ?? (await iam())).send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: READER_ARN, ActionNames: ['s3:GetObject'], ...input }));

  it('decides allowed, explicitDeny and implicitDeny with the matched statements, their places and the boundary', async () => {
    const answer = await simulate({ ActionNames: ['s3:GetObject', 's3:DeleteObject', 'sqs:SendMessage'], ResourceArns: [`${BUCKET}/key`] });
    const results = answer.EvaluationResults ?? [];
    assert.deepEqual(
      results.map((result) => [result.EvalActionName, result.EvalResourceName, result.EvalDecision, result.PermissionsBoundaryDecisionDetail?.AllowedByPermissionsBoundary]),
      [
        ['s3:GetObject', `${BUCKET}/key`, 'allowed', true],
        ['s3:DeleteObject', `${BUCKET}/key`, 'explicitDeny', true],
        ['sqs:SendMessage', `${BUCKET}/key`, 'implicitDeny', false], // the identity policy allows it, the boundary does not
      ],
    );
    assert.deepEqual(results[0]!.MatchedStatements, [
      { SourcePolicyId: 'read', SourcePolicyType: 'role', StartPosition: { Line: 4, Column: 5 }, EndPosition: { Line: 17, Column: 6 } },
      { SourcePolicyId: 'permissions-boundary', SourcePolicyType: 'user-managed', StartPosition: { Line: 4, Column: 5 }, EndPosition: { Line: 8, Column: 6 } },
    ]);
    // The inline policy given as text keeps its own lines: the Deny is on line 3.
    assert.deepEqual(results[1]!.MatchedStatements, [{ SourcePolicyId: 'guard', SourcePolicyType: 'role', StartPosition: { Line: 3, Column: 3 }, EndPosition: { Line: 3, Column: 81 } }]);
    assert.deepEqual(results[2]!.MatchedStatements, []);
    assert.equal(answer.IsTruncated, false);
  });

  it('reports MissingContextValues and takes ContextEntries of every type', async () => {
    const lacking = await simulate({ ActionNames: ['s3:PutObject'], ResourceArns: [`${BUCKET}/key`] });
    assert.equal(lacking.EvaluationResults?.[0]?.EvalDecision, 'implicitDeny');
    assert.deepEqual(lacking.EvaluationResults?.[0]?.MissingContextValues, ['aws:SourceIp']);
    const inside = await simulate({ ActionNames: ['s3:PutObject'], ResourceArns: [`${BUCKET}/key`], ContextEntries: [{ ContextKeyName: 'aws:SourceIp', ContextKeyValues: ['10.1.2.3'], ContextKeyType: 'ip' }] });
    assert.equal(inside.EvaluationResults?.[0]?.EvalDecision, 'allowed');
    assert.deepEqual(inside.EvaluationResults?.[0]?.MissingContextValues, []);
    const outside = await simulate({ ActionNames: ['s3:PutObject'], ResourceArns: [`${BUCKET}/key`], ContextEntries: [{ ContextKeyName: 'aws:SourceIp', ContextKeyValues: ['192.0.2.1'], ContextKeyType: 'ip' }] });
    assert.equal(outside.EvaluationResults?.[0]?.EvalDecision, 'implicitDeny');
    const bad = await sdkError(simulate({ ContextEntries: [{ ContextKeyName: 'aws:SourceIp', ContextKeyValues: ['not-an-ip'], ContextKeyType: 'ip' }] }));
    assert.equal(bad.name, 'InvalidInputException');
    assert.match(bad.message, /"not-an-ip" is not a ip value/);
  });

  it('adds PolicyInputList policies, replaces the boundary with PermissionsBoundaryPolicyInputList, and answers per resource', async () => {
    const extra = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] });
    const boundary = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['sqs:*', 's3:GetObject'], Resource: '*' }] });
    const answer = await simulate({ ActionNames: ['sqs:SendMessage', 's3:ListBucket'], PolicyInputList: [extra], PermissionsBoundaryPolicyInputList: [boundary], ResourceArns: ['arn:aws:sqs:us-east-1:111122223333:q', BUCKET] });
    const results = answer.EvaluationResults ?? [];
    assert.deepEqual(
      results.map((result) => [result.EvalActionName, result.EvalResourceName, result.EvalDecision]),
      [
        ['sqs:SendMessage', 'arn:aws:sqs:us-east-1:111122223333:q', 'allowed'],
        ['sqs:SendMessage', BUCKET, 'allowed'],
        ['s3:ListBucket', 'arn:aws:sqs:us-east-1:111122223333:q', 'implicitDeny'],
        ['s3:ListBucket', BUCKET, 'implicitDeny'], // the input boundary does not allow s3:ListBucket
      ],
    );
    assert.deepEqual(results[0]!.MatchedStatements?.map((statement) => [statement.SourcePolicyId, statement.SourcePolicyType]), [
      ['read', 'role'],
      ['PolicyInputList.1', 'IAM Policy'],
      ['PermissionsBoundaryPolicyInputList.1', 'IAM Policy'],
    ]);
    assert.deepEqual(results[3]!.ResourceSpecificResults, [
      { EvalResourceName: BUCKET, EvalResourceDecision: 'implicitDeny', MatchedStatements: [], MissingContextValues: [], PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false } },
    ]);
  });

  it('pages with MaxItems and Marker', async () => {
    const client = await iam();
    const first = await simulate({ ActionNames: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], MaxItems: 2 }, client);
    assert.equal(first.IsTruncated, true);
    assert.equal(first.EvaluationResults?.length, 2);
    const second = await simulate({ ActionNames: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], MaxItems: 2, Marker: first.Marker }, client);
    assert.equal(second.IsTruncated, false);
    assert.deepEqual(second.EvaluationResults?.map((result) => result.EvalActionName), ['s3:DeleteObject']);
  });

  it('a session ARN as PolicySourceArn stands for its role; errors as IAM gives them', async () => {
    const viaSession = await simulate({ PolicySourceArn: `arn:aws:sts::${ACCOUNT}:assumed-role/reader/some-session` });
    assert.equal(viaSession.EvaluationResults?.[0]?.EvalDecision, 'allowed');
    const cases: Array<[Partial<SimulatePrincipalPolicyCommandInput>, string, RegExp, number]> = [
      [{ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/nobody` }, 'NoSuchEntityException', /The role with name nobody cannot be found/, 404],
      [{ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'NoSuchEntityException', /The user with name alice cannot be found/, 404],
      [{ PolicySourceArn: 'arn:aws:s3:::not-a-principal' }, 'InvalidInputException', /must be the ARN of a user, group or role/, 400],
      [{ ActionNames: ['GetObject'] }, 'InvalidInputException', /not a valid action name/, 400],
      [{ PolicyInputList: ['{"Statement": {"Effect": "Allow", "Action": "*"}}'] }, 'MalformedPolicyDocumentException', /PolicyInputList.1: Statement\[0\] needs exactly one of Resource and NotResource/, 400],
      [{ ResourcePolicy: '{}' }, 'InvalidInputException', /ResourcePolicy is not supported/, 400],
      [{ CallerArn: ROLE_ARN }, 'InvalidInputException', /CallerArn must be the ARN of an IAM user/, 400],
    ];
    const client = await iam();
    for (const [input, name, message, status] of cases) {
      const error = await sdkError(simulate(input, client));
      assert.equal(error.name, name, JSON.stringify(input));
      assert.match(error.message, message);
      assert.equal(error.$metadata?.httpStatusCode, status);
    }
  });

  it("the caller must be allowed iam:SimulatePrincipalPolicy by its role's policies and its session policy", async () => {
    // A role whose permissions are not modelled may simulate.
    assert.equal((await simulate({}, await iam(SHORT_ROLE_ARN))).EvaluationResults?.length, 1);
    const narrowed = await iam(ROLE_ARN, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }));
    const denied = await sdkError(simulate({}, narrowed));
    assert.equal(denied.name, 'AccessDenied');
    assert.equal(denied.$metadata?.httpStatusCode, 403);
    assert.match(denied.message, new RegExp(`^User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/simulator is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${READER_ARN} because no session policy allows the iam:SimulatePrincipalPolicy action$`));
    // Credentials for another service's scope are refused.
    const unsigned = new IAMClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials: { accessKeyId: 'ASIAUNKNOWN', secretAccessKey: 'x', sessionToken: 'x.y' }, maxAttempts: 1 });
    assert.equal((await sdkError(simulate({}, unsigned))).name, 'InvalidClientTokenId');
  });

  it('answers the real AWS CLI (aws iam simulate-principal-policy --endpoint-url)', async function () {
    const which = await run('sh', ['-c', 'command -v aws']).catch(() => undefined);
    if (!which?.stdout.trim()) this.skip(); // the aws CLI is not installed here
    const credentials = await credentialsOf(ROLE_ARN);
    const { stdout } = await run(
      'aws',
      ['iam', 'simulate-principal-policy', '--endpoint-url', lab.sts.url, '--output', 'json', '--policy-source-arn', READER_ARN, '--action-names', 's3:GetObject', 's3:DeleteObject', '--resource-arns', `${BUCKET}/key`],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: '/nonexistent/aws-config',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        timeout: 30_000,
      },
    );
    const answer = JSON.parse(stdout) as { EvaluationResults: Array<{ EvalActionName: string; EvalDecision: string; MatchedStatements: Array<{ SourcePolicyId: string }> }> };
    assert.deepEqual(
      answer.EvaluationResults.map((result) => [result.EvalActionName, result.EvalDecision, result.MatchedStatements.map((statement) => statement.SourcePolicyId)]),
      [
        ['s3:GetObject', 'allowed', ['read', 'permissions-boundary']],
        ['s3:DeleteObject', 'explicitDeny', ['guard']],
      ],
    );
  });
});

