import { generateKeyPairSync, createPublicKey, randomBytes } from 'node:crypto';
import { exportJWK } from 'jose';
import { startIssuer, type RunningIssuer } from '../../src/lab/issuer-server.js';
import { type IssuerKey, keyId } from '../../src/lab/keys.js';
import { parseLabConfig, providerId } from '../../src/lab/sts/config.js';
import type { AssumedRole } from '../../src/lab/sts/service.js';
import { startSts } from '../../src/lab/sts/start.js';
import type { RunningHttpServer } from '../../src/lab/http.js';
import { mintProjectedToken, type ProjectedTokenRequest } from '../../src/lab/token.js';
import { silentLogger, type Logger } from '../../src/shared/log.js';

export const ACCOUNT = '111122223333';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/demo-app`;
export const SHORT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/short`;
export const ADMIN_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/cluster-admins`;

export async function rsaIssuerKey(): Promise<IssuerKey> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKey = createPublicKey(privateKey);
  const kid = keyId(publicKey);
  return { kid, publicKey, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, source: 'test' };
}

/** A trust policy letting one ServiceAccount (sub) with audience sts.amazonaws.com assume the role. */
export function trustPolicyFor(provider: string, subject: string | string[]): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${provider}:sub`]: subject, [`${provider}:aud`]: 'sts.amazonaws.com' } },
      },
    ],
  };
}

export interface Lab {
  readonly issuer: RunningIssuer;
  readonly sts: RunningHttpServer;
  /** Keys the issuer publishes; tests may push or replace (rotation). */
  readonly keys: IssuerKey[];
  readonly assumed: AssumedRole[];
  readonly serverKey: Buffer;
  readonly provider: string;
  mint(overrides?: Partial<ProjectedTokenRequest>, key?: IssuerKey): Promise<string>;
  restartSts(serverKey?: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface LabOptions {
  readonly now?: () => Date;
  readonly logger?: Logger;
  readonly clockToleranceSeconds?: number;
  readonly jwksTimeoutMs?: number;
  readonly jwksRefetchCooldownMs?: number;
  /** Fields added to the roles above, by ARN (`policies`, `permissionsBoundary`). */
  readonly roleFields?: Readonly<Record<string, Record<string, unknown>>>;
  /** More roles for the lab config. */
  readonly extraRoles?: readonly Record<string, unknown>[];
}

/** Issuer + STS on 127.0.0.1 with a demo-app role (max 1 h) and a `short` role. */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const keys = [await rsaIssuerKey()];
  const issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => keys });
  const provider = providerId(issuer.issuer);
  const config = parseLabConfig({
    providers: [{ issuer: issuer.issuer, audiences: ['sts.amazonaws.com', 'other-client'], jwksUrl: `${issuer.issuer}/keys` }],
    roles: [
      { arn: ROLE_ARN, maxSessionDuration: 3600, trustPolicy: trustPolicyFor(provider, 'system:serviceaccount:default:demo-app') },
      { arn: SHORT_ROLE_ARN, trustPolicy: JSON.stringify(trustPolicyFor(provider, 'system:serviceaccount:default:demo-app')) },
      {
        arn: ADMIN_ROLE_ARN,
        trustPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: 'sts:AssumeRole' }] },
      },
    ]
      .map((role) => ({ ...role, ...options.roleFields?.[role.arn] }))
      .concat((options.extraRoles ?? []) as never[]),
  });
  if (!config.ok) throw new Error(config.error);
  const assumed: AssumedRole[] = [];
  let serverKey: Buffer = randomBytes(32);
  const launch = (port: number) =>
    startSts({
      config: config.value,
      serverKey,
      bindAddress: '127.0.0.1',
      port,
      logger: options.logger ?? silentLogger,
      now: options.now,
      clockToleranceSeconds: options.clockToleranceSeconds,
      jwksTimeoutMs: options.jwksTimeoutMs,
      jwksRefetchCooldownMs: options.jwksRefetchCooldownMs,
      onAssumeRole: (entry) => assumed.push(entry),
    });
  let sts = await launch(0);
  const lab: Lab = {
    issuer,
    get sts() {
      return sts;
    },
    keys,
    assumed,
    get serverKey() {
      return serverKey;
    },
    provider,
    mint: (overrides = {}, key = keys[0]!) =>
      mintProjectedToken(key, {
        issuer: issuer.issuer,
        audiences: ['sts.amazonaws.com'],
        namespace: 'default',
        serviceAccount: 'demo-app',
        pod: { name: 'demo-app-1' },
        expirationSeconds: 3600,
        ...overrides,
      }),
    restartSts: async (newKey) => {
      const port = sts.port;
      await sts.close();
      if (newKey) serverKey = newKey;
      sts = await launch(port);
    },
    close: async () => {
      await sts.close();
      await issuer.close();
    },
  };
  return lab;
}

/** Runs `body` with exactly these AWS_* variables (others removed), restoring the environment after. */
export async function withAwsEnv<T>(variables: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  Object.assign(process.env, { AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_EC2_METADATA_DISABLED: 'true' }, variables);
  try {
    return await body();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}
