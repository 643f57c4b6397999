import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLabConfig, type LabConfig } from '../../src/lab/sts/config.js';
import { type ChainedAssumeRoleRequest, type ServiceAssumeRoleRequest, StsService } from '../../src/lab/sts/service.js';
import type { Session } from '../../src/lab/sts/sessions.js';
import { ACCOUNT } from '../helpers/lab.js';
import { CLUSTER, NODE_ROLE_ARN, type PodIdentityLab, REGION, startPodIdentityLab } from '../helpers/pod-identity-lab.js';

const role = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const SHARED = role('pi-shared');
const FIRST = role('pi-first');
const TARGET = role('pi-shared-target');
/** What the pods try: a role any role session of the account may assume, when its own policies let it. */
const REPORTS = role('pi-reports');
const podsPrincipal = { Service: 'pods.eks.amazonaws.com' };
/** Identity policy of the shared roles: it allows the chained AssumeRole. */
const MAY_ASSUME_REPORTS = { 'assume-reports': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: REPORTS }] } };
/** The associations' session policy: S3 reads only, so not sts:AssumeRole. */
const S3_READ_ONLY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/*' }] });

function sessionPolicyConfig(issuer: string): LabConfig {
  const association = (serviceAccount: string, fields: Record<string, unknown>) => ({ cluster: CLUSTER, namespace: 'default', serviceAccount, disableSessionTags: true, ...fields });
  const config = parseLabConfig({
    providers: [{ issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer}/keys` }],
    clusters: [{ name: CLUSTER, region: REGION, account: ACCOUNT, issuer, jwksUrl: `${issuer}/keys`, nodeRoleArn: NODE_ROLE_ARN }],
    roles: [
      { arn: SHARED, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: 'sts:AssumeRole' }] }, policies: MAY_ASSUME_REPORTS },
      { arn: FIRST, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: 'sts:AssumeRole' }] }, policies: MAY_ASSUME_REPORTS },
      { arn: TARGET, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: FIRST }, Action: 'sts:AssumeRole' }] }, policies: MAY_ASSUME_REPORTS },
      { arn: REPORTS, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] } },
    ],
    podIdentityAssociations: [
      association('open', { roleArn: SHARED }),
      association('narrowed', { roleArn: SHARED, policy: S3_READ_ONLY }),
      association('chained', { roleArn: FIRST, targetRoleArn: TARGET }),
      association('chained-narrowed', { roleArn: FIRST, targetRoleArn: TARGET, policy: S3_READ_ONLY }),
    ],
  });
  if (!config.ok) throw new Error(config.error);
  return config.value;
}

describe("a Pod Identity association's session policy, through the lab agent and EKS Auth, with the real AWS SDK", function () {
  this.timeout(30_000);
  let lab: PodIdentityLab;
  let dir: string;

  before(async () => {
    lab = await startPodIdentityLab({ config: sessionPolicyConfig });
  });
  after(() => lab?.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-session-policy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The credentials the SDK's container provider gets for a pod of `serviceAccount`, and an STS client using them. */
  const podSts = async (serviceAccount: string): Promise<STSClient> => {
    const file = join(dir, 'token');
    writeFileSync(file, await lab.mint({ serviceAccount }));
    const credentials = await fromHttp({ awsContainerCredentialsFullUri: lab.credentialsUri, awsContainerAuthorizationTokenFile: file, maxRetries: 0, timeout: 5000 })();
    return new STSClient({ region: REGION, endpoint: lab.sts.url, credentials });
  };
  const assumeReports = (sts: STSClient) => sts.send(new AssumeRoleCommand({ RoleArn: REPORTS, RoleSessionName: 'reports' }));
  const refusal = async (promise: Promise<unknown>): Promise<{ name: string; message: string }> => {
    try {
      await promise;
    } catch (error) {
      return error as { name: string; message: string };
    }
    throw new Error('expected AccessDenied');
  };

  it('without a policy the role allows the call; with one that does not allow it, the same role gets AccessDenied', async () => {
    const open = await assumeReports(await podSts('open'));
    assert.match(open.AssumedRoleUser?.Arn ?? '', /:assumed-role\/pi-reports\/reports$/);

    const narrowed = await podSts('narrowed');
    // Still the associated role: the policy narrows what it may do, not who it is.
    assert.match((await narrowed.send(new GetCallerIdentityCommand({}))).Arn ?? '', /:assumed-role\/pi-shared\/eks-lab-/);
    const denied = await refusal(assumeReports(narrowed));
    assert.equal(denied.name, 'AccessDenied');
    assert.match(denied.message, /^User: arn:aws:sts::111122223333:assumed-role\/pi-shared\/eks-lab-\S+ is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/pi-reports because no session policy allows the sts:AssumeRole action$/);
  });

  it('with a target role the policy is on the target role\'s session only: the pod\'s credentials are limited, the first session is not', async () => {
    const chained = await podSts('chained');
    assert.match((await assumeReports(chained)).AssumedRoleUser?.Arn ?? '', /:assumed-role\/pi-reports\/reports$/);

    // Which of EKS Auth's two sessions is given the policy: the real STS calls run, their requests are recorded.
    const given: string[] = [];
    const { assumeRoleAsService, assumeRoleFromSession } = StsService.prototype;
    StsService.prototype.assumeRoleAsService = function (this: StsService, request: ServiceAssumeRoleRequest) {
      given.push(`${request.roleArn}: ${request.policy?.text ?? 'none'}`);
      return assumeRoleAsService.call(this, request);
    };
    StsService.prototype.assumeRoleFromSession = function (this: StsService, caller: Session, request: ChainedAssumeRoleRequest) {
      given.push(`${request.roleArn}: ${request.policy?.text ?? 'none'}`);
      return assumeRoleFromSession.call(this, caller, request);
    };
    let narrowed: STSClient;
    try {
      narrowed = await podSts('chained-narrowed');
    } finally {
      Object.assign(StsService.prototype, { assumeRoleAsService, assumeRoleFromSession });
    }
    assert.deepEqual(given, [`${FIRST}: none`, `${TARGET}: ${S3_READ_ONLY}`]);
    assert.match((await narrowed.send(new GetCallerIdentityCommand({}))).Arn ?? '', /:assumed-role\/pi-shared-target\/eks-lab-/);
    const denied = await refusal(assumeReports(narrowed));
    assert.equal(denied.name, 'AccessDenied');
    assert.match(denied.message, /assumed-role\/pi-shared-target\/\S+ is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/pi-reports because no session policy allows the sts:AssumeRole action$/);
  });
});
