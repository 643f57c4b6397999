import { randomBytes } from 'node:crypto';
import { startIssuer, type RunningIssuer } from '../../src/lab/issuer-server.js';
import type { IssuerKey } from '../../src/lab/keys.js';
import { parseLabConfig, type LabConfig } from '../../src/lab/sts/config.js';
import { SessionAuthority } from '../../src/lab/sts/sessions.js';
import { startSts } from '../../src/lab/sts/start.js';
import type { RunningHttpServer } from '../../src/lab/http.js';
import { mintProjectedToken, type ProjectedTokenRequest } from '../../src/lab/token.js';
import { type AgentOptions, type RunningAgent, startPodIdentityAgent } from '../../src/lab/pod-identity/agent.js';
import { EksAuthClient } from '../../src/lab/pod-identity/eks-auth-client.js';
import { nodeRoleCredentials } from '../../src/lab/pod-identity/node-credentials.js';
import type { PodIdentityGrant } from '../../src/lab/pod-identity/eks-auth.js';
import type { AwsCredentials } from '../../src/shared/aws/presign.js';
import { silentLogger, type Logger } from '../../src/shared/log.js';
import { ACCOUNT, rsaIssuerKey } from './lab.js';

export const CLUSTER = 'lab';
export const REGION = 'us-east-1';
export const CLUSTER_ARN = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
export const NODE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/lab-nodes`;
const role = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
export const PI_ROLES = {
  app: role('pi-app'),
  noTagSession: role('pi-no-tag-session'),
  namespaceOnly: role('pi-team-only'),
  chained: role('pi-chained'),
  target: role('pi-target'),
  untagged: role('pi-untagged'),
  externalIdTarget: role('pi-external-id-target'),
  reader: role('pi-reader'),
  irsa: role('irsa-app'),
};

const podsPrincipal = { Service: 'pods.eks.amazonaws.com' };

/**
 * The lab config of the Pod Identity tests: one cluster whose agents run as lab-nodes, and one
 * association per rule (a role that trusts pods.eks.amazonaws.com fully, one without
 * sts:TagSession, one scoped by request tags, target roles with and without session tags).
 */
export function podIdentityConfig(issuer: string): LabConfig {
  const config = parseLabConfig({
    providers: [{ issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer}/keys` }],
    clusters: [{ name: CLUSTER, region: REGION, account: ACCOUNT, issuer, jwksUrl: `${issuer}/keys`, nodeRoleArn: NODE_ROLE_ARN }],
    roles: [
      {
        arn: PI_ROLES.app,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: ['sts:AssumeRole', 'sts:TagSession'], Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnEquals: { 'aws:SourceArn': CLUSTER_ARN } } }],
        },
      },
      { arn: PI_ROLES.noTagSession, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: 'sts:AssumeRole' }] } },
      {
        arn: PI_ROLES.namespaceOnly,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: ['sts:AssumeRole', 'sts:TagSession'], Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'team' } } }],
        },
      },
      { arn: PI_ROLES.chained, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: ['sts:AssumeRole', 'sts:TagSession'] }] } },
      {
        arn: PI_ROLES.target,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: PI_ROLES.chained },
              Action: ['sts:AssumeRole', 'sts:TagSession'],
              Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-service-account': 'chained', 'aws:PrincipalTag/eks-cluster-name': CLUSTER } },
            },
          ],
        },
      },
      { arn: PI_ROLES.untagged, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: podsPrincipal, Action: 'sts:AssumeRole' }] } },
      {
        arn: PI_ROLES.externalIdTarget,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: PI_ROLES.untagged }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': `${REGION}/${ACCOUNT}/${CLUSTER}/default/untagged` } } }],
        },
      },
      {
        // IRSA for default/app, for the pods that carry both sets of variables.
        arn: PI_ROLES.irsa,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer.replace(/^https?:\/\//, '')}` },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { [`${issuer.replace(/^https?:\/\//, '')}:sub`]: 'system:serviceaccount:default:app' } },
            },
          ],
        },
      },
      {
        // Chained from a pod's session by the pod itself: the session tags decide.
        arn: PI_ROLES.reader,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['sts:AssumeRole', 'sts:TagSession'], Condition: { StringEquals: { 'aws:PrincipalTag/kubernetes-namespace': 'default' } } }],
        },
      },
    ],
    podIdentityAssociations: [
      { cluster: CLUSTER, namespace: 'default', serviceAccount: 'app', roleArn: PI_ROLES.app },
      { cluster: CLUSTER, namespace: 'default', serviceAccount: 'no-tag-session', roleArn: PI_ROLES.noTagSession },
      { cluster: CLUSTER, namespace: 'default', serviceAccount: 'team-only', roleArn: PI_ROLES.namespaceOnly },
      { cluster: CLUSTER, namespace: 'team', serviceAccount: 'team-only', roleArn: PI_ROLES.namespaceOnly },
      { cluster: CLUSTER, namespace: 'default', serviceAccount: 'chained', roleArn: PI_ROLES.chained, targetRoleArn: PI_ROLES.target },
      { cluster: CLUSTER, namespace: 'default', serviceAccount: 'untagged', roleArn: PI_ROLES.untagged, targetRoleArn: PI_ROLES.externalIdTarget, disableSessionTags: true },
    ],
  });
  if (!config.ok) throw new Error(config.error);
  return config.value;
}

export interface PodIdentityLab {
  readonly issuer: RunningIssuer;
  readonly sts: RunningHttpServer;
  readonly agent: RunningAgent;
  readonly key: IssuerKey;
  readonly grants: PodIdentityGrant[];
  /** Calls the agent made to EKS Auth. */
  readonly eksAuthCalls: () => number;
  /** `http://127.0.0.1:PORT/v1/credentials` */
  readonly credentialsUri: string;
  /** The node role's credentials the agent signs its EKS Auth calls with, for calls of a test's own. */
  readonly nodeCredentials: () => Promise<AwsCredentials>;
  mint(overrides?: Partial<ProjectedTokenRequest>): Promise<string>;
  close(): Promise<void>;
}

export interface PodIdentityLabOptions {
  readonly agent?: Partial<Omit<AgentOptions, 'fetchCredentials' | 'logger' | 'bindAddress' | 'port' | 'clusterName'>>;
  readonly logger?: Logger;
  readonly stsNow?: () => Date;
  readonly sessionSeconds?: number;
  /** Sign the agent's EKS Auth calls with another role's session, or another server key's. */
  readonly nodeRoleArn?: string;
  readonly nodeServerKey?: Buffer;
  readonly eksAuthUrl?: string;
  /** The agent's budget for one EKS Auth call (default 5 s). */
  readonly eksAuthTimeoutMs?: number;
  readonly clusterName?: string;
  /** Another lab config than podIdentityConfig's, built for the issuer's URL. */
  readonly config?: (issuer: string) => LabConfig;
}

/** Issuer, STS with EKS Auth, and an agent calling it over HTTP with node-role credentials, all on 127.0.0.1. */
export async function startPodIdentityLab(options: PodIdentityLabOptions = {}): Promise<PodIdentityLab> {
  const key = await rsaIssuerKey();
  const issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [key] });
  const config = (options.config ?? podIdentityConfig)(issuer.issuer);
  const serverKey = randomBytes(32);
  const grants: PodIdentityGrant[] = [];
  const logger = options.logger ?? silentLogger;
  const sts = await startSts({
    config,
    serverKey,
    bindAddress: '127.0.0.1',
    port: 0,
    logger,
    now: options.stsNow,
    podIdentitySessionSeconds: options.sessionSeconds,
    onPodIdentityGrant: (grant) => grants.push(grant),
  });
  let calls = 0;
  const nodeCredentials = nodeRoleCredentials(new SessionAuthority(options.nodeServerKey ?? serverKey), options.nodeRoleArn ?? NODE_ROLE_ARN);
  const client = new EksAuthClient({
    endpoint: options.eksAuthUrl ?? sts.url,
    region: REGION,
    credentials: nodeCredentials,
    timeoutMs: options.eksAuthTimeoutMs ?? 5000,
  });
  const agent = await startPodIdentityAgent({
    bindAddress: '127.0.0.1',
    port: 0,
    clusterName: options.clusterName ?? CLUSTER,
    fetchCredentials: (request) => {
      calls += 1;
      return client.assumeRoleForPodIdentity(request);
    },
    logger,
    ...options.agent,
  });
  return {
    issuer,
    sts,
    agent,
    key,
    grants,
    eksAuthCalls: () => calls,
    credentialsUri: `${agent.url}/v1/credentials`,
    nodeCredentials,
    mint: (overrides = {}) =>
      mintProjectedToken(key, {
        issuer: issuer.issuer,
        audiences: ['pods.eks.amazonaws.com'],
        namespace: 'default',
        serviceAccount: 'app',
        pod: { name: 'app-7d9f8b6c5-x2k4q' },
        expirationSeconds: 86400,
        ...overrides,
      }),
    close: async () => {
      await agent.close();
      await sts.close();
      await issuer.close();
    },
  };
}
