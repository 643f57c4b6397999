import { createRemoteJWKSet, jwtVerify } from 'jose';
import { parseCompactJwt, projectedTokenClaimProblem } from '../../shared/jwt.js';
import { isJsonObject } from '../../shared/json.js';
import { EksAuthError } from './eks-auth-errors.js';
import { tokenClockOptions } from '../sts/token-clock.js';
import type { LabCluster } from './config.js';

/** The audience of every EKS Pod Identity token. */
export const POD_IDENTITY_AUDIENCE = 'pods.eks.amazonaws.com';

/** Who a verified Pod Identity token speaks for. */
export interface PodTokenSubject {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName: string;
  readonly podUid: string;
  /** The node the pod runs on, when the API server put it in the token (kubernetes.io.node, 1.32+). */
  readonly node?: { readonly name: string; readonly uid: string };
}

export interface PodTokenOptions {
  readonly clockToleranceSeconds: number;
  readonly jwksTimeoutMs: number;
  readonly jwksRefetchCooldownMs: number;
  readonly now: () => Date;
}

/** RFC 3339 with the fraction Go's RFC3339Nano would print (trailing zeros dropped), in UTC. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}

const invalid = (reason: string): EksAuthError => new EksAuthError('InvalidTokenException', 'The service account token is invalid.', reason);

function podClaims(claims: Readonly<Record<string, unknown>>): PodTokenSubject {
  const kubernetes = claims['kubernetes.io'];
  if (!isJsonObject(kubernetes)) throw invalid('no kubernetes.io claim');
  const { namespace, serviceaccount, pod, node } = kubernetes;
  const name = (value: unknown): unknown => (isJsonObject(value) ? value.name : undefined);
  const uid = (value: unknown): unknown => (isJsonObject(value) ? value.uid : undefined);
  if (typeof namespace !== 'string' || typeof name(serviceaccount) !== 'string') throw invalid('kubernetes.io lacks namespace or serviceaccount.name');
  // Only a token bound to a pod (what the kubelet projects) says which pod asks: EKS needs it for the session.
  if (typeof name(pod) !== 'string' || typeof uid(pod) !== 'string') throw invalid('the token is not bound to a pod (no kubernetes.io.pod name and uid)');
  const subject = { namespace, serviceAccount: name(serviceaccount) as string, podName: name(pod) as string, podUid: uid(pod) as string };
  if (claims.sub !== `system:serviceaccount:${subject.namespace}:${subject.serviceAccount}`) throw invalid('sub does not match kubernetes.io namespace and serviceaccount');
  if (node === undefined) return subject;
  if (typeof name(node) !== 'string' || typeof uid(node) !== 'string') throw invalid('kubernetes.io.node lacks name or uid');
  return { ...subject, node: { name: name(node) as string, uid: uid(node) as string } };
}

/**
 * Verifies Pod Identity tokens for one cluster as EKS Auth would: a strictly read RS256 JWT, signed
 * by a key of the cluster issuer's JWKS (fetched from the configured URL only), `iss` the cluster's
 * issuer, `aud` containing `pods.eks.amazonaws.com`, within the STS's clock rules (exp, nbf, iat:
 * token-clock.ts), bound to a pod.
 */
export class PodTokenVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly cluster: LabCluster,
    private readonly options: PodTokenOptions,
  ) {
    this.keys = createRemoteJWKSet(new URL(cluster.jwksUrl), {
      timeoutDuration: options.jwksTimeoutMs,
      cooldownDuration: options.jwksRefetchCooldownMs,
      cacheMaxAge: 10 * 60 * 1000,
    });
  }

  async verify(token: string): Promise<PodTokenSubject> {
    const compact = parseCompactJwt(token);
    if (!compact.ok) throw invalid(compact.error);
    const { header, claims } = compact.value;
    if (header.alg !== 'RS256') throw invalid(`alg ${String(header.alg).slice(0, 20)} is not RS256`);
    const problem = projectedTokenClaimProblem(claims);
    if (problem) throw invalid(problem);
    if (claims.iss !== this.cluster.issuer) throw invalid(`iss ${String(claims.iss).slice(0, 200)} is not the issuer of cluster ${this.cluster.name}`);
    const now = this.options.now();
    try {
      await jwtVerify(token, this.keys, {
        algorithms: ['RS256'],
        issuer: this.cluster.issuer,
        audience: POD_IDENTITY_AUDIENCE,
        ...tokenClockOptions(this.options.clockToleranceSeconds, now),
        requiredClaims: ['exp', 'iat', 'sub', 'aud'],
      });
    } catch (error) {
      const { code, claim, message } = error as { code?: string; claim?: string; message?: string };
      if (code === 'ERR_JWT_EXPIRED' && claim !== 'iat') {
        const expiry = new Date(Number(claims.exp) * 1000);
        throw new EksAuthError(
          'ExpiredTokenException',
          `The token included in the request is expired: current date/time ${rfc3339(now)} must be before the expiration date/time ${rfc3339(expiry)}.`,
        );
      }
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') throw invalid(`${claim ?? 'a claim'}: ${message ?? ''}`);
      if (code?.startsWith('ERR_JWS') || code?.startsWith('ERR_JWT') || code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
        throw invalid(`${code}: ${message ?? ''}`);
      }
      throw new EksAuthError('InternalServerException', 'An internal error occurred.', `JWKS ${this.cluster.jwksUrl}: ${message ?? String(error)}`);
    }
    return podClaims(claims);
  }
}
