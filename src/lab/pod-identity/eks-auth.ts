import { randomUUID } from 'node:crypto';
import { canonicalize } from '../../shared/aws/arn.js';
import { checkSignatureTime, readSignature, type SignedRequest, SigV4Error, verifySignature } from '../../shared/aws/sigv4.js';
import type { LabConfig } from '../sts/config.js';
import { authorizeSession } from '../sts/permissions.js';
import type { Session } from '../sts/sessions.js';
import { StsError } from '../sts/errors.js';
import type { IssuedSession, StsService } from '../sts/service.js';
import { PODS_SERVICE_PRINCIPAL, podIdentityTags as sessionTagsOf, type SessionTag } from '../../shared/aws/trust-requests.js';
import { CLUSTER_NAME, type LabCluster, type PodIdentityAssociation } from './config.js';
import { EKS_CANNOT_ASSUME, EksAuthError } from './eks-auth-errors.js';
import { type NodeContext, readNodeContext } from './node-context.js';
import { POD_IDENTITY_AUDIENCE, type PodTokenOptions, type PodTokenSubject, PodTokenVerifier } from './pod-token.js';

export { PODS_SERVICE_PRINCIPAL };
/** Credentials for the associated role last 6 hours; 59 minutes when chained to a target role (EKS user guide). */
export const POD_IDENTITY_SESSION_SECONDS = 6 * 3600;
export const TARGET_ROLE_SESSION_SECONDS = 59 * 60;
const TOKEN_SHAPE = /^[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+$/;
const MAX_TOKEN_LENGTH = 20_000;

/** The AssumeRoleForPodIdentity answer (REST-JSON, as the EKS Auth API 2023-11-26 models it). */
export interface AssumeRoleForPodIdentityResponse {
  readonly subject: { readonly namespace: string; readonly serviceAccount: string };
  readonly audience: string;
  readonly podIdentityAssociation: { readonly associationArn: string; readonly associationId: string };
  readonly assumedRoleUser: { readonly arn: string; readonly assumeRoleId: string };
  readonly credentials: { readonly sessionToken: string; readonly secretAccessKey: string; readonly accessKeyId: string; readonly expiration: number };
}

/** Facts about one answered call, for logs and tests. */
export interface PodIdentityGrant {
  readonly cluster: string;
  readonly subject: PodTokenSubject;
  /** What the calling agent said of its node (eksNodeName, instanceId, zone). */
  readonly node: NodeContext;
  readonly association: PodIdentityAssociation;
  readonly sessionName: string;
  readonly tags: readonly SessionTag[];
  readonly assumedRoleArn: string;
  readonly expiration: Date;
}

export interface EksAuthOptions {
  readonly config: LabConfig;
  readonly sts: StsService;
  readonly token: PodTokenOptions;
  readonly now: () => Date;
  /** Lifetime of the credentials for the associated role (default 6 h; shorter to try refreshes). */
  readonly sessionSeconds?: number;
}

/** The six session tags EKS sets, all transitive. */
export function podIdentityTags(cluster: LabCluster, subject: PodTokenSubject): SessionTag[] {
  return sessionTagsOf({ clusterArn: cluster.arn, clusterName: cluster.name, ...subject });
}

/** `eks-CLUSTER-POD-UUID`, cut to STS's 64 characters (how EKS shortens it is not documented). */
export function podIdentitySessionName(cluster: string, podName: string, uuid: string = randomUUID()): string {
  return `eks-${cluster}-${podName}-${uuid}`.slice(0, 64);
}

/**
 * The lab's choice, since what EKS does with `eksNodeName` is unpublished (docs/lab.md): when the
 * agent names its node and the token names the pod's (`kubernetes.io.node.name`, Kubernetes 1.32+),
 * they must be the same node, or a token taken from a pod on another node would work here. When
 * either is absent (an older cluster, an older agent) nothing is compared. The message names neither.
 */
function checkSameNode(node: NodeContext, subject: PodTokenSubject): void {
  if (node.eksNodeName === undefined || subject.node === undefined || node.eksNodeName === subject.node.name) return;
  throw new EksAuthError(
    'AccessDeniedException',
    'The service account token is not bound to the node named in the request.',
    `eksNodeName ${node.eksNodeName} is not the token's kubernetes.io.node.name ${subject.node.name}`,
  );
}

/**
 * The lab's EKS Auth: `AssumeRoleForPodIdentity` for the agents of the lab's clusters. The caller
 * must sign with SigV4 (service `eks-auth`) using credentials of the cluster's node role; the token
 * is verified against the cluster's issuer; the association is looked up in the lab config; the
 * role is assumed as `pods.eks.amazonaws.com` through the lab STS's trust-policy evaluation.
 */
export class EksAuthService {
  private readonly verifiers = new Map<string, PodTokenVerifier>();

  constructor(private readonly options: EksAuthOptions) {
    for (const cluster of options.config.clusters.values()) this.verifiers.set(cluster.name, new PodTokenVerifier(cluster, options.token));
  }

  /** The caller's session, from its SigV4 signature; the errors every AWS JSON API answers. */
  private authenticate(request: SignedRequest): { arn: string; roleArn: string | undefined; session: Session } {
    try {
      const claims = readSignature(request);
      if (claims.service !== 'eks-auth') throw new SigV4Error('SignatureDoesNotMatch', `Credential should be scoped to correct service: 'eks-auth'.`);
      checkSignatureTime(claims, Math.floor(this.options.now().getTime() / 1000));
      const session = this.options.sts.openSession(claims.accessKeyId, claims.sessionToken);
      verifySignature(request, claims, this.options.sts.secretFor(claims.accessKeyId));
      return { arn: session.arn, roleArn: canonicalize(session.arn)?.canonicalArn, session };
    } catch (error) {
      if (error instanceof SigV4Error) {
        const code = error.code === 'MissingAuthenticationToken' ? 'MissingAuthenticationTokenException' : error.code === 'SignatureDoesNotMatch' ? 'InvalidSignatureException' : 'IncompleteSignatureException';
        throw new EksAuthError(code, error.message);
      }
      if (error instanceof StsError && error.code === 'ExpiredToken') throw new EksAuthError('ExpiredTokenException', 'The security token included in the request is expired', error.reason, 403);
      if (error instanceof StsError) throw new EksAuthError('UnrecognizedClientException', 'The security token included in the request is invalid.', error.reason);
      throw error;
    }
  }

  async assumeRoleForPodIdentity(clusterName: string, body: unknown, request: SignedRequest): Promise<{ response: AssumeRoleForPodIdentityResponse; grant: PodIdentityGrant }> {
    const caller = this.authenticate(request);
    if (!CLUSTER_NAME.test(clusterName)) {
      throw new EksAuthError('InvalidParameterException', `1 validation error detected: Value '${clusterName.slice(0, 100)}' at 'clusterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9A-Za-z][A-Za-z0-9\\-_]*`);
    }
    const token = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { token?: unknown }).token : undefined;
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) {
      throw new EksAuthError('InvalidParameterException', "1 validation error detected: Value at 'token' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9-_=]+.[A-Za-z0-9-_=]+.[A-Za-z0-9-_=]+");
    }
    const node = readNodeContext(body);
    const cluster = this.options.config.clusters.get(clusterName);
    if (!cluster) throw new EksAuthError('ResourceNotFoundException', `No cluster found for name: ${clusterName}.`);
    // Only the cluster's node role may call (the lab's stand-in for who runs the agent); when the lab
    // config gives that role policies (or its session a policy), they must allow the call too, as AWS
    // checks the node role's identity policy for eks-auth:AssumeRoleForPodIdentity.
    if (caller.roleArn !== cluster.nodeRoleArn) {
      throw new EksAuthError(
        'AccessDeniedException',
        `User: ${caller.arn} is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on resource: ${cluster.arn}`,
        `only the node role ${cluster.nodeRoleArn} may call for cluster ${cluster.name}`,
        403,
      );
    }
    try {
      authorizeSession(this.options.config, caller.session, { action: 'eks-auth:AssumeRoleForPodIdentity', resource: cluster.arn, region: cluster.region }, this.options.now());
    } catch (error) {
      if (error instanceof StsError && error.code === 'AccessDenied') throw new EksAuthError('AccessDeniedException', error.message, error.reason, 403);
      throw error;
    }
    const subject = await this.verifiers.get(cluster.name)!.verify(token);
    checkSameNode(node, subject);
    const association = this.options.config.podIdentityAssociations.find(
      (candidate) => candidate.cluster === cluster.name && candidate.namespace === subject.namespace && candidate.serviceAccount === subject.serviceAccount,
    );
    if (!association) {
      throw new EksAuthError('ResourceNotFoundException', `No Pod Identity Association found for service account ${subject.serviceAccount} in namespace ${subject.namespace} of cluster ${cluster.name}.`);
    }
    const sessionName = podIdentitySessionName(cluster.name, subject.podName);
    const tags = association.disableSessionTags ? [] : podIdentityTags(cluster, subject);
    const issued = this.assume(cluster, subject, association, sessionName, tags);
    const expiration = issued.credentials.expiration;
    return {
      response: {
        subject: { namespace: subject.namespace, serviceAccount: subject.serviceAccount },
        audience: POD_IDENTITY_AUDIENCE,
        podIdentityAssociation: { associationArn: association.associationArn, associationId: association.associationId },
        assumedRoleUser: { arn: issued.assumedRoleArn, assumeRoleId: issued.assumedRoleId },
        credentials: {
          sessionToken: issued.credentials.sessionToken,
          secretAccessKey: issued.credentials.secretAccessKey,
          accessKeyId: issued.credentials.accessKeyId,
          expiration: Math.floor(expiration.getTime() / 1000),
        },
      },
      grant: { cluster: cluster.name, subject, node, association, sessionName, tags, assumedRoleArn: issued.assumedRoleArn, expiration },
    };
  }

  /** The role as `pods.eks.amazonaws.com`, then the target role from that session when there is one. */
  private assume(cluster: LabCluster, subject: PodTokenSubject, association: PodIdentityAssociation, sessionName: string, tags: readonly SessionTag[]): IssuedSession {
    const denied = (error: unknown): never => {
      if (error instanceof StsError) throw new EksAuthError('AccessDeniedException', EKS_CANNOT_ASSUME, error.reason);
      throw error;
    };
    let first: IssuedSession;
    try {
      first = this.options.sts.assumeRoleAsService({
        service: PODS_SERVICE_PRINCIPAL,
        roleArn: association.roleArn,
        sessionName,
        durationSeconds: this.options.sessionSeconds ?? POD_IDENTITY_SESSION_SECONDS,
        tags,
        transitiveTagKeys: tags.map((tag) => tag.key),
        sourceAccount: cluster.account,
        sourceArn: cluster.arn,
        // The association's session policy limits this session, unless a target role follows: then only that one.
        policy: association.targetRoleArn === undefined ? association.policy : undefined,
      });
    } catch (error) {
      // The session name and tags come from the token's names: STS refusing them means names no API server issues.
      if (error instanceof StsError && error.code === 'ValidationError') throw new EksAuthError('InvalidTokenException', 'The service account token is invalid.', `STS refused the session name or tags: ${error.message}`);
      return denied(error);
    }
    if (association.targetRoleArn === undefined) return first;
    try {
      return this.options.sts.assumeRoleFromSession(first.session, {
        roleArn: association.targetRoleArn,
        sessionName,
        durationSeconds: Math.min(TARGET_ROLE_SESSION_SECONDS, this.options.sessionSeconds ?? TARGET_ROLE_SESSION_SECONDS),
        // Without session tags EKS names the pod's ServiceAccount in the ExternalId instead (EKS user guide).
        externalId: association.disableSessionTags ? `${cluster.region}/${cluster.account}/${cluster.name}/${subject.namespace}/${subject.serviceAccount}` : undefined,
        // "With targetRoleArn, restrictions apply only to the target role's permissions" (EKS API, CreatePodIdentityAssociation).
        policy: association.policy,
      });
    } catch (error) {
      return denied(error);
    }
  }
}
