import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK } from 'jose';
import { DEFAULT_MUTATION_OPTIONS, TOKEN_VOLUME_NAME } from '../webhook/engine/defaults.js';
import { mutatePod } from '../webhook/engine/mutate.js';
import type { ServiceAccountView } from '../webhook/engine/types.js';
import { applyPatch } from '../webhook/apply-patch.js';
import { readPod } from '../webhook/read-objects.js';
import { silentLogger } from '../shared/log.js';
import { startIssuer } from './issuer-server.js';
import { type IssuerKey, keyId } from './keys.js';
import { parseLabConfig, providerId } from './sts/config.js';
import { startSts } from './sts/start.js';
import { mintProjectedToken } from './token.js';

export const DEMO_ROLE_ARN = 'arn:aws:iam::111122223333:role/demo-app';
export const DEMO_REGION = 'us-east-1';

export interface PodRun {
  readonly serviceAccount: string;
  /** The environment the webhook's patch gave the container. */
  readonly env: Record<string, string>;
  readonly result: { ok: true; arn: string; account: string; userId: string } | { ok: false; code: string; message: string };
}

export interface DemoReport {
  readonly issuer: string;
  readonly stsUrl: string;
  readonly allowed: PodRun;
  readonly denied: PodRun;
}

export async function ephemeralKey(): Promise<IssuerKey> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKey = createPublicKey(privateKey);
  const kid = keyId(publicKey);
  return { kid, publicKey, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, source: 'demo (in memory)' };
}

function demoPod(serviceAccount: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: serviceAccount, namespace: 'default' },
    spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'example/app' }] },
  };
}

/** Runs the demo "pod" (AWS SDK default chain) as a child process with exactly `env`. */
export function runSdk(env: Record<string, string>, home: string): Promise<PodRun['result']> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'demo-pod.js');
  const isolated = {
    ...env,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home, // no ~/.aws of the person running the demo
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { env: isolated, timeout: 60_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as PodRun['result']);
      } catch {
        reject(new Error(`the SDK process failed: ${error?.message ?? ''} ${stderr.slice(0, 500)}`));
      }
    });
  });
}

/**
 * The whole IRSA loop on 127.0.0.1: an OIDC issuer and the STS, the webhook's engine mutating a pod,
 * a token minted where the patch points, and the real AWS SDK default credential chain calling
 * GetCallerIdentity with the pod's environment. Then the same for a ServiceAccount the role's
 * trust policy does not allow.
 */
export async function runDemo(): Promise<DemoReport> {
  const workdir = await mkdtemp(join(tmpdir(), 'piw-demo-'));
  const key = await ephemeralKey();
  const issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [key] });
  let sts: Awaited<ReturnType<typeof startSts>> | undefined;
  try {
    const provider = providerId(issuer.issuer);
    const config = parseLabConfig({
      providers: [{ issuer: issuer.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuer.issuer}/keys` }],
      roles: [
        {
          arn: DEMO_ROLE_ARN,
          trustPolicy: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${provider}` },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: { StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:default:demo-app', [`${provider}:aud`]: 'sts.amazonaws.com' } },
              },
            ],
          },
        },
      ],
    });
    if (!config.ok) throw new Error(`demo lab config: ${config.error}`);
    sts = await startSts({ config: config.value, serverKey: randomBytes(32), bindAddress: '127.0.0.1', port: 0, logger: silentLogger });

    const options = {
      ...DEFAULT_MUTATION_OPTIONS,
      tokenMountPath: join(workdir, 'serviceaccount'),
      stsEndpointUrl: sts.url,
      awsDefaultRegion: DEMO_REGION,
    };
    const runPod = async (serviceAccountName: string): Promise<PodRun> => {
      const object = demoPod(serviceAccountName);
      const view = readPod(object);
      if (!view.ok) throw new Error(view.error);
      // Both ServiceAccounts name the role; only the trust policy tells them apart.
      const serviceAccount: ServiceAccountView = { name: serviceAccountName, namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': DEMO_ROLE_ARN } };
      const mutated = applyPatch(object, mutatePod(view.value, serviceAccount, options).patch) as {
        spec: { containers: Array<{ env?: Array<{ name: string; value: string }> }>; volumes?: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken?: { audience: string; expirationSeconds: number } }> } }> };
      };
      const env = Object.fromEntries((mutated.spec.containers[0]?.env ?? []).map((variable) => [variable.name, variable.value]));
      const projected = mutated.spec.volumes?.find((volume) => volume.name === TOKEN_VOLUME_NAME)?.projected?.sources[0]?.serviceAccountToken;
      const tokenFile = env.AWS_WEB_IDENTITY_TOKEN_FILE;
      if (!tokenFile || !projected) throw new Error('the patch did not inject a token file and volume');
      // What the kubelet does for the projected volume: a token for the pod, at the mounted path.
      const token = await mintProjectedToken(key, {
        issuer: issuer.issuer,
        audiences: [projected.audience],
        namespace: 'default',
        serviceAccount: serviceAccountName,
        pod: { name: serviceAccountName },
        expirationSeconds: projected.expirationSeconds,
      });
      await mkdir(dirname(tokenFile), { recursive: true });
      await writeFile(tokenFile, token, { mode: 0o600 });
      const result = await runSdk(env, workdir);
      await rm(dirname(tokenFile), { recursive: true, force: true });
      return { serviceAccount: serviceAccountName, env, result };
    };
    const allowed = await runPod('demo-app');
    const denied = await runPod('intruder');
    return { issuer: issuer.issuer, stsUrl: sts.url, allowed, denied };
  } finally {
    await sts?.close();
    await issuer.close();
    await rm(workdir, { recursive: true, force: true });
  }
}
