import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { IssuerKey } from './keys.js';

export interface ProjectedTokenRequest {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly serviceAccountUid?: string;
  /** The pod the token is bound to, as the kubelet's TokenRequest does. */
  readonly pod?: { readonly name: string; readonly uid?: string };
  readonly expirationSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  readonly issuedAt?: number;
}

/**
 * Mints a token shaped like a Kubernetes projected service-account token: RS256 with the key's kid,
 * `aud` as an array, `sub` = system:serviceaccount:NS:SA and the `kubernetes.io` claim.
 */
export async function mintProjectedToken(key: IssuerKey, request: ProjectedTokenRequest): Promise<string> {
  if (!key.privateKey) throw new Error(`${key.source} is a public key: it cannot sign tokens`);
  const issuedAt = request.issuedAt ?? Math.floor(Date.now() / 1000);
  const kubernetes = {
    namespace: request.namespace,
    ...(request.pod ? { pod: { name: request.pod.name, uid: request.pod.uid ?? randomUUID() } } : {}),
    serviceaccount: { name: request.serviceAccount, uid: request.serviceAccountUid ?? randomUUID() },
  };
  return new SignJWT({ 'kubernetes.io': kubernetes })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(request.issuer)
    .setSubject(`system:serviceaccount:${request.namespace}:${request.serviceAccount}`)
    .setAudience([...request.audiences])
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + request.expirationSeconds)
    .sign(key.privateKey);
}
