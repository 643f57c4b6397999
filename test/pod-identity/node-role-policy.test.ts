import { fromHttp } from '@aws-sdk/credential-provider-http';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLabConfig, type LabConfig } from '../../src/lab/sts/config.js';
import { createLogger } from '../../src/shared/log.js';
import { ACCOUNT } from '../helpers/lab.js';
import { CLUSTER, CLUSTER_ARN, NODE_ROLE_ARN, type PodIdentityLab, REGION, startPodIdentityLab } from '../helpers/pod-identity-lab.js';

const APP_ROLE = `arn:aws:iam::${ACCOUNT}:role/pi-app`;
const podsPrincipal = { Service: 'pods.eks.amazonaws.com' };

/** The node role modelled with `policies`: EKS Auth then checks them, as AWS checks the node role's identity policy. */
function configWithNodePolicy(resource: string) {
  return (issuer: string): LabConfig => {
    const config = parseLabConfig({
      providers: [{ issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer}/keys` }],
      clusters: [{ name: CLUSTER, region: REGION, account: ACCOUNT, issuer, jwksUrl: `${issuer}/keys`, nodeRoleArn: NODE_ROLE_ARN }],
      roles: [
        { arn: APP_ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: ['sts:AssumeRole', 'sts:TagSession'] }] } },
        {
          arn: NODE_ROLE_ARN,
          trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
          policies: { 'pod-identity': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'eks-auth:AssumeRoleForPodIdentity', Resource: resource }] } },
        },
      ],
      podIdentityAssociations: [{ cluster: CLUSTER, namespace: 'default', serviceAccount: 'app', roleArn: APP_ROLE }],
    });
    if (!config.ok) throw new Error(config.error);
    return config.value;
  };
}

describe("EKS Auth checks the node role's identity policies when the lab config models them", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-node-policy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const credentialsThrough = async (lab: PodIdentityLab) => {
    const file = join(dir, 'token');
    writeFileSync(file, await lab.mint({ serviceAccount: 'app' }));
    return fromHttp({ awsContainerCredentialsFullUri: lab.credentialsUri, awsContainerAuthorizationTokenFile: file, maxRetries: 0, timeout: 5000 })();
  };

  it('a policy allowing eks-auth:AssumeRoleForPodIdentity on the cluster lets the agent get the pod its credentials', async () => {
    const lab = await startPodIdentityLab({ config: configWithNodePolicy(CLUSTER_ARN) });
    try {
      const credentials = await credentialsThrough(lab);
      assert.match(credentials.accessKeyId, /^ASIA/);
    } finally {
      await lab.close();
    }
  });

  it('a policy allowing it only on another cluster: the agent is refused with AccessDeniedException, the reason in the log', async () => {
    const lines: string[] = [];
    const lab = await startPodIdentityLab({ config: configWithNodePolicy(`arn:aws:eks:${REGION}:${ACCOUNT}:cluster/other`), logger: createLogger((line) => lines.push(line), 'info') });
    try {
      await assert.rejects(credentialsThrough(lab));
      const logged = lines.join('\n');
      assert.match(logged, /"event":"eks-auth".*"code":"AccessDeniedException","reason":"arn:aws:sts::111122223333:assumed-role\/lab-nodes\/\S+ eks-auth:AssumeRoleForPodIdentity arn:aws:eks:us-east-1:111122223333:cluster\/lab: implicitly denied: no identity policy allows it"/);
      assert.match(logged, /"event":"agent-credentials","outcome":"error","status":403,"code":"AccessDeniedException"/);
    } finally {
      await lab.close();
    }
  });
});
