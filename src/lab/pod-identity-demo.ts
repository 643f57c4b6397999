import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_MUTATION_OPTIONS } from '../webhook/engine/defaults.js';
import { mutatePod } from '../webhook/engine/mutate.js';
import { applyPatch } from '../webhook/apply-patch.js';
import { readPod } from '../webhook/read-objects.js';
import { formatPodIdentities, parsePodIdentities, podIdentityKey } from '../webhook/pod-identity/identities.js';
import { silentLogger } from '../shared/log.js';
import { ephemeralKey, runSdk, type PodRun } from './demo.js';
import { writeFileAtomically } from './files.js';
import { startIssuer } from './issuer-server.js';
import { startPodIdentityAgent } from './pod-identity/agent.js';
import { EksAuthClient } from './pod-identity/eks-auth-client.js';
import { nodeRoleCredentials } from './pod-identity/node-credentials.js';
import { parseLabConfig } from './sts/config.js';
import { SessionAuthority } from './sts/sessions.js';
import { startSts } from './sts/start.js';
import { mintProjectedToken } from './token.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
export const POD_IDENTITY_DEMO_CLUSTER = 'demo';
export const POD_IDENTITY_DEMO_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/demo-pod-identity`;
const NO_TAG_SESSION_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/demo-no-tag-session`;
const NODE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/demo-nodes`;

export interface AgentAnswer {
  readonly status: number;
  readonly body: string;
  /** How many times in a row the agent answered this. */
  readonly times: number;
}

export interface PodIdentityPodRun extends PodRun {
  /** What the agent answered the SDK, in order (repeats counted), which the SDK's own error does not show. */
  readonly agentAnswers: readonly AgentAnswer[];
}

export interface PodIdentityDemoReport {
  readonly issuer: string;
  readonly stsUrl: string;
  readonly agentUrl: string;
  readonly identities: string;
  readonly allowed: PodIdentityPodRun;
  readonly notAssociated: PodIdentityPodRun;
  readonly noTagSession: PodIdentityPodRun;
}

type MutatedPod = {
  spec: {
    containers: Array<{ env?: Array<{ name: string; value: string }> }>;
    volumes?: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }> } }>;
  };
};

/**
 * EKS Pod Identity end to end on 127.0.0.1: an issuer, the STS with the lab EKS Auth, and a Pod
 * Identity Agent calling it with its node role's credentials. The webhook's engine mutates a pod of
 * a ServiceAccount listed in the identities file (generated from the same associations, plus one
 * listed by mistake), a Pod Identity token is minted where the patch points, and unmodified AWS SDK
 * code runs with exactly the injected environment. Then a pod without an association, and one
 * whose role's trust policy lacks sts:TagSession.
 */
export async function runPodIdentityDemo(): Promise<PodIdentityDemoReport> {
  const workdir = await mkdtemp(join(tmpdir(), 'piw-pod-identity-demo-'));
  const key = await ephemeralKey();
  const issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [key] });
  let sts: Awaited<ReturnType<typeof startSts>> | undefined;
  let agent: Awaited<ReturnType<typeof startPodIdentityAgent>> | undefined;
  try {
    const config = parseLabConfig({
      providers: [{ issuer: issuer.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer.issuer}/keys` }],
      clusters: [{ name: POD_IDENTITY_DEMO_CLUSTER, region: REGION, account: ACCOUNT, issuer: issuer.issuer, jwksUrl: `${issuer.issuer}/keys`, nodeRoleArn: NODE_ROLE_ARN }],
      roles: [
        {
          arn: POD_IDENTITY_DEMO_ROLE_ARN,
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'pods.eks.amazonaws.com' },
                Action: ['sts:AssumeRole', 'sts:TagSession'],
                Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:RequestTag/kubernetes-namespace': 'default' } },
              },
            ],
          },
        },
        { arn: NO_TAG_SESSION_ROLE_ARN, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' }] } },
      ],
      podIdentityAssociations: [
        { cluster: POD_IDENTITY_DEMO_CLUSTER, namespace: 'default', serviceAccount: 'demo-app', roleArn: POD_IDENTITY_DEMO_ROLE_ARN },
        { cluster: POD_IDENTITY_DEMO_CLUSTER, namespace: 'default', serviceAccount: 'untrusted', roleArn: NO_TAG_SESSION_ROLE_ARN },
      ],
    });
    if (!config.ok) throw new Error(`demo lab config: ${config.error}`);
    const serverKey = randomBytes(32);
    sts = await startSts({ config: config.value, serverKey, bindAddress: '127.0.0.1', port: 0, logger: silentLogger });
    const client = new EksAuthClient({ endpoint: sts.url, region: REGION, credentials: nodeRoleCredentials(new SessionAuthority(serverKey), NODE_ROLE_ARN), timeoutMs: 5000 });
    let answers: AgentAnswer[] = [];
    agent = await startPodIdentityAgent({
      bindAddress: '127.0.0.1',
      port: 0,
      clusterName: POD_IDENTITY_DEMO_CLUSTER,
      fetchCredentials: (request) => client.assumeRoleForPodIdentity(request),
      logger: silentLogger,
      onAnswer: (status, body) => {
        const text = status === 200 ? '(credentials)' : body.trim();
        const last = answers.at(-1);
        // Each EKS Auth answer has its own request id: retries of one failure count as one line.
        const same = (a: string, b: string): boolean => a.replace(/^\[[^\]]*\]/, '') === b.replace(/^\[[^\]]*\]/, '');
        if (last && last.status === status && same(last.body, text)) answers[answers.length - 1] = { ...last, times: last.times + 1 };
        else answers.push({ status, body: text, times: 1 });
      },
    });

    // The identities file as `pod-identity-config` writes it, plus a ServiceAccount listed without an association.
    const entries = config.value.podIdentityAssociations.map(({ namespace, serviceAccount }) => ({ namespace, serviceAccount }));
    const identitiesText = formatPodIdentities([...entries, { namespace: 'default', serviceAccount: 'not-associated' }]);
    const identitiesPath = join(workdir, 'identities.json');
    await writeFileAtomically(identitiesPath, identitiesText);
    const identities = parsePodIdentities(identitiesText, identitiesPath);
    if (!identities.ok) throw new Error(identities.error);

    const options = {
      ...DEFAULT_MUTATION_OPTIONS,
      awsDefaultRegion: REGION,
      stsEndpointUrl: sts.url,
      containerCredentials: { ...DEFAULT_MUTATION_OPTIONS.containerCredentials, fullUri: `${agent.url}/v1/credentials`, tokenMountPath: join(workdir, 'pods.eks.amazonaws.com', 'serviceaccount') },
    };
    const runPod = async (serviceAccountName: string): Promise<PodIdentityPodRun> => {
      const podName = `${serviceAccountName}-7d9f8b6c5-x2k4q`;
      const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace: 'default' }, spec: { serviceAccountName, containers: [{ name: 'app', image: 'example/app' }] } };
      const view = readPod(object);
      if (!view.ok) throw new Error(view.error);
      const podIdentity = identities.value.has(podIdentityKey('default', serviceAccountName));
      const mutated = applyPatch(object, mutatePod(view.value, { name: serviceAccountName, namespace: 'default', annotations: {}, podIdentity }, options, Math.random()).patch) as MutatedPod;
      const env = Object.fromEntries((mutated.spec.containers[0]?.env ?? []).map((variable) => [variable.name, variable.value]));
      const projected = mutated.spec.volumes?.find((volume) => volume.name === options.containerCredentials.tokenVolumeName)?.projected?.sources[0]?.serviceAccountToken;
      const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
      if (!tokenFile || !projected) throw new Error('the patch did not inject a container credentials token file and volume');
      // What the kubelet does for the projected volume: a token bound to the pod, at the mounted path, no newline.
      const token = await mintProjectedToken(key, {
        issuer: issuer.issuer,
        audiences: [projected.audience],
        namespace: 'default',
        serviceAccount: serviceAccountName,
        pod: { name: podName, uid: randomUUID() },
        expirationSeconds: projected.expirationSeconds,
      });
      await mkdir(dirname(tokenFile), { recursive: true });
      const written = await writeFileAtomically(tokenFile, token, 0o600);
      if (!written.ok) throw new Error(written.error);
      answers = [];
      const result = await runSdk(env, workdir);
      await rm(dirname(tokenFile), { recursive: true, force: true });
      return { serviceAccount: serviceAccountName, env, result, agentAnswers: answers };
    };
    const allowed = await runPod('demo-app');
    const notAssociated = await runPod('not-associated');
    const noTagSession = await runPod('untrusted');
    return { issuer: issuer.issuer, stsUrl: sts.url, agentUrl: agent.url, identities: identitiesText, allowed, notAssociated, noTagSession };
  } finally {
    await agent?.close();
    await sts?.close();
    await issuer.close();
    await rm(workdir, { recursive: true, force: true });
  }
}
