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
  /**
   * The node: of the pod (Kubernetes 1.32+ names the node the pod runs on), or the node the token
   * itself is bound to without a pod (1.33+). Both come from the Node object: a missing uid is made up.
   */
  readonly node?: { readonly name: string; readonly uid?: string };
  readonly expirationSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  readonly issuedAt?: number;
}

/**
 * Mints a token shaped like a Kubernetes 1.32+ projected service-account token: RS256 with the key's
 * kid, `aud` as an array, `sub` = system:serviceaccount:NS:SA, the `kubernetes.io` claim (with
 * `node` when one is given) and a random `jti`, as the API server has added since 1.32 (KEP-4193:
 * the audit log records it as `authentication.kubernetes.io/issued-credential-id: JTI=…`).
 */
export async function mintProjectedToken(key: IssuerKey, request: ProjectedTokenRequest): Promise<string> {
  if (!key.privateKey) throw new Error(`${key.source} is a public key: it cannot sign tokens`);
  const issuedAt = request.issuedAt ?? Math.floor(Date.now() / 1000);
  const kubernetes = {
    namespace: request.namespace,
    ...(request.node ? { node: { name: request.node.name, uid: request.node.uid ?? randomUUID() } } : {}),
    ...(request.pod ? { pod: { name: request.pod.name, uid: request.pod.uid ?? randomUUID() } } : {}),
    serviceaccount: { name: request.serviceAccount, uid: request.serviceAccountUid ?? randomUUID() },
  };
  return new SignJWT({ 'kubernetes.io': kubernetes })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(request.issuer)
    .setSubject(`system:serviceaccount:${request.namespace}:${request.serviceAccount}`)
    .setAudience([...request.audiences])
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + request.expirationSeconds)
    .sign(key.privateKey);
}
