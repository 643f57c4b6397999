import type { Parsed } from '../shared/result.js';
import { type AwsCredentials, presignGet } from '../shared/aws/presign.js';
import { parseAmzDate, PRESIGNED_LIFETIME_SECONDS } from '../shared/aws/sigv4.js';
import { AWS_STS_HOST, type StsPartition, stsHostPartition } from './sts-hosts.js';

export { STS_PARTITIONS, type StsPartition, stsHostPartition } from './sts-hosts.js';

/** The prefix of aws-iam-authenticator tokens. */
export const TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header that binds a token to one cluster (signed into the presigned URL). */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
/** X-Amz-Expires sent for compatibility; STS ignores it and honours 15 minutes after X-Amz-Date. */
export const PRESIGN_EXPIRES_SECONDS = 60;

export type { AwsCredentials } from '../shared/aws/presign.js';

export interface TokenRequest {
  readonly clusterId: string;
  readonly credentials: AwsCredentials;
  readonly region: string;
  /** The STS endpoint the URL is presigned for, e.g. https://sts.us-west-2.amazonaws.com or the lab STS. */
  readonly stsEndpoint: string;
  readonly now?: Date;
}

export interface ClusterToken {
  readonly token: string;
  /** When clients should fetch a new one: a minute before STS stops accepting it. */
  readonly expiration: Date;
}

/**
 * An aws-iam-authenticator token: `k8s-aws-v1.` + base64url (no padding) of a GetCallerIdentity URL
 * presigned with SigV4 in the query string, the cluster id header signed with it.
 */
export async function createClusterToken(request: TokenRequest): Promise<ClusterToken> {
  const now = request.now ?? new Date();
  const url = await presignGet({
    endpoint: new URL(request.stsEndpoint),
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { [CLUSTER_ID_HEADER]: request.clusterId },
    credentials: request.credentials,
    region: request.region,
    service: 'sts',
    expiresInSeconds: PRESIGN_EXPIRES_SECONDS,
    signingDate: now,
  });
  const token = TOKEN_PREFIX + Buffer.from(url.toString()).toString('base64url');
  return { token, expiration: new Date(now.getTime() + (PRESIGNED_LIFETIME_SECONDS - 60) * 1000) };
}

/** The ExecCredential a kubeconfig `exec` plugin prints. */
export function execCredential(token: ClusterToken): Record<string, unknown> {
  return {
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    spec: {},
    status: { expirationTimestamp: token.expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'), token: token.token },
  };
}

/** The STS URL a token carries, checked before anything is fetched. */
export interface PresignedRequest {
  /** Rebuilt from the allowed host, path `/` and the checked parameters: never the raw token text. */
  readonly url: URL;
  readonly accessKeyId: string;
  readonly signedAt: number;
}

const ALLOWED_PARAMETERS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

export interface TokenPolicy {
  /** Origins (`scheme://host:port`) of lab STS endpoints accepted besides AWS's own https hosts. */
  readonly labStsOrigins: readonly string[];
  /** Only this partition's STS hosts (aws-iam-authenticator's `--partition`); every partition's when undefined. */
  readonly partition?: StsPartition | undefined;
  readonly nowSeconds: number;
}

/**
 * Decodes a token and checks the URL in it is a presigned STS GetCallerIdentity for an allowed
 * host: AWS STS over https, or a configured lab STS. Nothing else is ever fetched (no SSRF).
 */
export function parseClusterToken(token: string, policy: TokenPolicy): Parsed<PresignedRequest> {
  const fail = (error: string): Parsed<PresignedRequest> => ({ ok: false, error });
  if (token.length > MAX_TOKEN_LENGTH) return fail('token is too large');
  if (!token.startsWith(TOKEN_PREFIX)) return fail(`token is missing the "${TOKEN_PREFIX}" prefix`);
  const encoded = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return fail('token is not base64url');
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return fail('token does not hold a URL');
  }
  const isAwsHost = url.protocol === 'https:' && AWS_STS_HOST.test(url.hostname) && url.port === '' && !url.username && !url.password;
  if (!isAwsHost && !policy.labStsOrigins.includes(url.origin)) return fail(`unexpected host "${url.host}" in the presigned URL`);
  if (isAwsHost && policy.partition !== undefined && stsHostPartition(url.hostname) !== policy.partition) {
    return fail(`host "${url.host}" in the presigned URL is not an STS endpoint of partition ${policy.partition}`);
  }
  if (url.pathname !== '/' || url.hash) return fail('unexpected path in the presigned URL');
  const seen = new Set<string>();
  for (const key of url.searchParams.keys()) {
    const lower = key.toLowerCase();
    if (!ALLOWED_PARAMETERS.has(lower)) return fail(`query parameter "${key.slice(0, 40)}" is not allowed`);
    if (seen.has(lower)) return fail(`query parameter "${key}" appears more than once`);
    seen.add(lower);
  }
  const parameter = (name: string): string | undefined => {
    for (const [key, value] of url.searchParams) if (key.toLowerCase() === name) return value;
    return undefined;
  };
  if (parameter('action') !== 'GetCallerIdentity') return fail('the presigned URL is not a GetCallerIdentity call');
  const signedHeaders = (parameter('x-amz-signedheaders') ?? '').toLowerCase().split(';');
  if (!signedHeaders.includes(CLUSTER_ID_HEADER)) return fail(`the ${CLUSTER_ID_HEADER} header is not signed`);
  const expires = Number(parameter('x-amz-expires'));
  if (!Number.isInteger(expires) || expires < 0 || expires > 900) return fail('X-Amz-Expires must be 0 to 900 seconds');
  const signedAt = parseAmzDate(parameter('x-amz-date') ?? '');
  if (signedAt === undefined) return fail('X-Amz-Date is missing or malformed');
  if (policy.nowSeconds > signedAt + PRESIGNED_LIFETIME_SECONDS) return fail('the token has expired (15 minutes after X-Amz-Date)');
  if (signedAt > policy.nowSeconds + 300) return fail('X-Amz-Date is in the future');
  const accessKeyId = (parameter('x-amz-credential') ?? '').split('/')[0] ?? '';
  const rebuilt = new URL(`${url.origin}/`);
  rebuilt.search = url.search;
  return { ok: true, value: { url: rebuilt, accessKeyId, signedAt } };
}
