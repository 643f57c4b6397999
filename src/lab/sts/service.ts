import { canonicalize, parseRoleArn } from '../../shared/aws/arn.js';
import type { LabConfig, LabRole } from './config.js';
import { accessDenied, StsError, validationError } from './errors.js';
import type { IssuedCredentials, Session, SessionAuthority } from './sessions.js';
import { checkSignatureTime, readSignature, type SignatureClaims, type SignedRequest, verifySignature } from '../../shared/aws/sigv4.js';
import { evaluateTrustPolicy } from '../../shared/aws/iam-policy.js';
import { oidcProviderArn, type SessionTag, serviceRequests, webIdentityRequest } from '../../shared/aws/trust-requests.js';
import type { VerifiedWebIdentity, WebIdentityVerifier } from './web-identity.js';
import type { XmlTree } from './responses.js';
import { sessionTagsProblem } from './session-tags.js';
import { authorizeSession, packedPolicySize, readSessionPolicy, type SessionPolicy } from './permissions.js';
import { IAM_VERSION, LabIam } from './iam.js';
import { IAM_NAMESPACE } from './responses.js';

export const STS_VERSION = '2011-06-15';
/** Real STS refuses web identity tokens longer than this. */
export const MAX_WEB_IDENTITY_TOKEN_LENGTH = 20000;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** Facts about one successful AssumeRoleWithWebIdentity, for logs and tests. */
export interface AssumedRole {
  readonly roleArn: string;
  readonly assumedRoleArn: string;
  readonly subject: string;
  readonly audience: string;
  readonly sessionName: string;
  readonly claims: Record<string, unknown>;
  readonly credentials: IssuedCredentials;
}

/** A session tag: `aws:RequestTag/KEY` while the role is assumed, `aws:PrincipalTag/KEY` after. */
export type { SessionTag } from '../../shared/aws/trust-requests.js';

/** A role assumed by an AWS service on someone's behalf (EKS Pod Identity's `pods.eks.amazonaws.com`). */
export interface ServiceAssumeRoleRequest {
  /** The service principal, as trust policies name it. */
  readonly service: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationSeconds: number;
  readonly tags: readonly SessionTag[];
  readonly transitiveTagKeys: readonly string[];
  /** `aws:SourceAccount` and `aws:SourceArn`: whom the service acts for (confused-deputy conditions). */
  readonly sourceAccount?: string;
  readonly sourceArn?: string;
  /** A session policy for the new session (read with readSessionPolicy). */
  readonly policy?: SessionPolicy;
}

/** A role session issued by one of the in-process calls (other lab services use them). */
export interface IssuedSession {
  readonly credentials: IssuedCredentials;
  readonly assumedRoleArn: string;
  /** ROLEID:SESSION */
  readonly assumedRoleId: string;
  readonly account: string;
  readonly session: Session;
}

export interface ChainedAssumeRoleRequest {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly durationSeconds?: number;
  readonly externalId?: string;
  /** A session policy for the new session (read with readSessionPolicy): it applies to that session only. */
  readonly policy?: SessionPolicy;
}

export interface StsServiceOptions {
  readonly config: LabConfig;
  readonly sessions: SessionAuthority;
  readonly verifier: WebIdentityVerifier;
  readonly now: () => Date;
}

export interface ActionResult {
  readonly result: XmlTree;
  /** The XML namespace of the answer, when it is not STS's (the lab's IAM actions). */
  readonly namespace?: string;
  /** Log fields describing what was done. */
  readonly details: Record<string, string>;
  readonly assumed?: AssumedRole;
}

function iso8601(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function required(params: ReadonlyMap<string, string>, name: string, member: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') {
    throw validationError(`1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

/** `Policy` (an inline session policy) of AssumeRole*; `PolicyArns` are refused, the lab models no managed policies. */
function sessionPolicyParameter(params: ReadonlyMap<string, string>): SessionPolicy | undefined {
  for (const key of params.keys()) {
    if (key.startsWith('PolicyArns.')) {
      throw validationError('PolicyArns is not supported by the lab STS: it models no managed policies; pass the session policy inline in Policy');
    }
  }
  const raw = params.get('Policy');
  return raw === undefined ? undefined : readSessionPolicy(raw);
}

/** The STS actions the lab implements, independent of HTTP. */
export class StsService {
  private readonly iam: LabIam;

  constructor(private readonly options: StsServiceOptions) {
    this.iam = new LabIam({ config: options.config, now: options.now, authenticate: (request, service) => this.authenticate(request, service) });
  }

  async handle(params: ReadonlyMap<string, string>, request: SignedRequest): Promise<ActionResult & { action: string }> {
    const action = params.get('Action');
    const version = params.get('Version');
    if (!action) throw new StsError('InvalidAction', 'The request must contain the parameter Action');
    // The lab's IAM endpoint shares the port: the IAM Query API's version tells its requests apart.
    if (version === IAM_VERSION) return { action, namespace: IAM_NAMESPACE, ...this.iam.handle(action, params, request) };
    if (version !== STS_VERSION) throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version ?? '(none)'}`);
    switch (action) {
      case 'AssumeRoleWithWebIdentity':
        return { action, ...(await this.assumeRoleWithWebIdentity(params)) };
      case 'AssumeRole':
        return { action, ...this.assumeRole(params, request) };
      case 'GetCallerIdentity':
        return { action, ...this.getCallerIdentity(request) };
      default:
        throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version}`);
    }
  }

  /** RoleArn, RoleSessionName and DurationSeconds as every AssumeRole* action validates them. */
  private roleRequest(params: ReadonlyMap<string, string>): { roleArn: string; sessionName: string; durationSeconds: number | undefined } {
    const roleArn = required(params, 'RoleArn', 'roleArn');
    const sessionName = required(params, 'RoleSessionName', 'roleSessionName');
    if (roleArn.length < 20 || roleArn.length > 2048 || !parseRoleArn(roleArn)) {
      throw validationError(`1 validation error detected: Value '${roleArn.slice(0, 100)}' at 'roleArn' failed to satisfy constraint: Member must be a role ARN`);
    }
    if (!SESSION_NAME.test(sessionName)) {
      throw validationError(
        `1 validation error detected: Value '${sessionName.slice(0, 100)}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2 to 64 and satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const rawDuration = params.get('DurationSeconds');
    if (rawDuration === undefined) return { roleArn, sessionName, durationSeconds: undefined };
    const durationSeconds = Number(rawDuration);
    if (!/^\d+$/.test(rawDuration) || durationSeconds < 900 || durationSeconds > 43200) {
      throw validationError(
        `1 validation error detected: Value '${rawDuration.slice(0, 20)}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    return { roleArn, sessionName, durationSeconds };
  }

  private issue(
    role: LabRole,
    sessionName: string,
    durationSeconds: number,
    tags?: { readonly tags: Readonly<Record<string, string>>; readonly transitiveTagKeys: readonly string[] },
    policy?: SessionPolicy,
  ): IssuedSession & { result: XmlTree } {
    const packed = packedPolicySize(policy, tags?.tags);
    const now = this.options.now();
    const assumedRoleArn = `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${sessionName}`;
    const userId = `${role.roleId}:${sessionName}`;
    const session = {
      arn: assumedRoleArn,
      userId,
      account: role.account,
      expiresAt: Math.floor(now.getTime() / 1000) + durationSeconds,
      ...(tags && Object.keys(tags.tags).length > 0 ? tags : {}),
      ...(policy ? { policy: policy.text } : {}),
    };
    const credentials = this.options.sessions.issue(session);
    return {
      credentials,
      assumedRoleArn,
      assumedRoleId: userId,
      account: role.account,
      session: { ...session, accessKeyId: credentials.accessKeyId },
      result: {
        Credentials: {
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: iso8601(credentials.expiration),
        },
        AssumedRoleUser: { AssumedRoleId: userId, Arn: assumedRoleArn },
        PackedPolicySize: packed === undefined ? undefined : String(packed),
      },
    };
  }

  async assumeRoleWithWebIdentity(params: ReadonlyMap<string, string>): Promise<ActionResult> {
    const { roleArn, sessionName, durationSeconds } = this.roleRequest(params);
    const policy = sessionPolicyParameter(params);
    // SDKs send the token file's bytes as they are, trailing newline included: one is trimmed, nothing else.
    const raw = required(params, 'WebIdentityToken', 'webIdentityToken');
    const token = raw.endsWith('\r\n') ? raw.slice(0, -2) : raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (token.length < 4 || token.length > MAX_WEB_IDENTITY_TOKEN_LENGTH) {
      throw validationError(
        `1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to ${MAX_WEB_IDENTITY_TOKEN_LENGTH}`,
      );
    }

    const identity = await this.options.verifier.verify(token);
    const role = this.options.config.roles.get(roleArn);
    if (!role) throw accessDenied(`role ${roleArn} is not in the lab config`);
    if (durationSeconds !== undefined && durationSeconds > role.maxSessionDuration) {
      throw validationError(`The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`);
    }
    const providerArn = oidcProviderArn(role.partition, role.account, identity.provider.id);
    const { amr, azp } = identity.claims;
    const decision = evaluateTrustPolicy(
      role.trustPolicy,
      webIdentityRequest({
        providerId: identity.provider.id,
        providerArn,
        subject: identity.subject,
        audience: identity.audience,
        sessionName,
        amr: Array.isArray(amr) && amr.every((value) => typeof value === 'string') ? amr : undefined,
        azp: typeof azp === 'string' ? azp : undefined,
      }),
    );
    if (!decision.allowed) throw accessDenied(`${identity.subject} may not assume ${roleArn}: ${decision.reason}`);

    const issued = this.issue(role, sessionName, durationSeconds ?? 3600, undefined, policy);
    return {
      result: {
        ...issued.result,
        SubjectFromWebIdentityToken: identity.subject,
        Provider: providerArn,
        Audience: identity.audience,
      },
      details: { role: roleArn, subject: identity.subject, assumedRoleArn: issued.assumedRoleArn, accessKeyId: issued.credentials.accessKeyId },
      assumed: {
        roleArn,
        assumedRoleArn: issued.assumedRoleArn,
        subject: identity.subject,
        audience: identity.audience,
        sessionName,
        claims: identity.claims,
        credentials: issued.credentials,
      },
    };
  }

  /**
   * AssumeRole with credentials the lab issued (role chaining). The caller's own permissions must
   * allow `sts:AssumeRole` on the role (permissions.ts: its role's policies and boundary, its session
   * policy; nothing is checked when none is modelled), and the role's trust policy must name the
   * caller as an AWS principal: its role ARN, its session ARN, or its account's root.
   */
  assumeRole(params: ReadonlyMap<string, string>, request: SignedRequest): ActionResult {
    const { session: caller, claims } = this.authenticate(request, 'sts');
    const { roleArn, sessionName, durationSeconds } = this.roleRequest(params);
    const externalId = params.get('ExternalId');
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
      throw validationError(`1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length 2 to 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*`);
    }
    const policy = sessionPolicyParameter(params);
    // The caller's own permissions (its role's policies, boundary and session policy) must allow it, as the trust policy must.
    const context = new Map<string, string[]>([['sts:rolesessionname', [sessionName]]]);
    if (externalId !== undefined) context.set('sts:externalid', [externalId]);
    authorizeSession(this.options.config, caller, { action: 'sts:AssumeRole', resource: roleArn, context, region: claims.region }, this.options.now());
    const issued = this.assumeRoleFromSession(caller, { roleArn, sessionName, durationSeconds, externalId, policy });
    return {
      result: issued.result,
      details: { role: roleArn, caller: caller.arn, assumedRoleArn: issued.assumedRoleArn, accessKeyId: issued.credentials.accessKeyId },
    };
  }

  /**
   * Role chaining from a session, as AssumeRole does it and as EKS does it for a target role: the
   * caller's session tags are `aws:PrincipalTag/KEY`; its transitive tags pass on to the new session,
   * which then needs `sts:TagSession` too. Chained sessions last at most one hour.
   */
  assumeRoleFromSession(caller: Session, request: ChainedAssumeRoleRequest): IssuedSession & { result: XmlTree } {
    const { roleArn, sessionName, durationSeconds, externalId, policy } = request;
    const callerIdentity = canonicalize(caller.arn);
    const notAuthorized = (reason: string): StsError =>
      new StsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, reason);
    const role = this.options.config.roles.get(roleArn);
    if (!role) throw notAuthorized(`role ${roleArn} is not in the lab config`);
    if (durationSeconds !== undefined && durationSeconds > Math.min(role.maxSessionDuration, 3600)) {
      throw validationError(
        durationSeconds > role.maxSessionDuration
          ? 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'
          : 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    }
    const principals = [caller.arn, `arn:${role.partition}:iam::${caller.account}:root`];
    if (callerIdentity) principals.unshift(callerIdentity.canonicalArn);
    const context = new Map<string, string[]>([
      ['aws:principalarn', [callerIdentity?.canonicalArn ?? caller.arn]],
      ['aws:principalaccount', [caller.account]],
      ['aws:principaltype', [callerIdentity?.sessionName === undefined ? 'User' : 'AssumedRole']],
      ['sts:rolesessionname', [sessionName]],
    ]);
    for (const [key, value] of Object.entries(caller.tags ?? {})) context.set(`aws:principaltag/${key.toLowerCase()}`, [value]);
    if (externalId !== undefined) context.set('sts:externalid', [externalId]);
    const transitiveKeys = (caller.transitiveTagKeys ?? []).filter((key) => caller.tags?.[key] !== undefined);
    const inherited = Object.fromEntries(transitiveKeys.map((key) => [key, caller.tags![key]!]));
    const principal = { type: 'AWS' as const, ids: principals };
    const decision = evaluateTrustPolicy(role.trustPolicy, { action: 'sts:AssumeRole', principal, context });
    if (!decision.allowed) throw notAuthorized(`${caller.arn} may not assume ${roleArn}: ${decision.reason}`);
    if (transitiveKeys.length > 0) {
      const tagging = evaluateTrustPolicy(role.trustPolicy, { action: 'sts:TagSession', principal, context });
      if (!tagging.allowed) throw notAuthorized(`${caller.arn} may not pass its transitive session tags (${transitiveKeys.join(', ')}) to ${roleArn}: sts:TagSession: ${tagging.reason}`);
    }
    return this.issue(role, sessionName, durationSeconds ?? 3600, transitiveKeys.length > 0 ? { tags: inherited, transitiveTagKeys: transitiveKeys } : undefined, policy);
  }

  /**
   * A service principal assumes a role with session tags (EKS Pod Identity: `pods.eks.amazonaws.com`
   * with its six tags), within STS's tag limits (session-tags.ts). The trust policy must allow `sts:AssumeRole` and, when tags are passed,
   * `sts:TagSession`, each evaluated with `aws:RequestTag/KEY`, `aws:TagKeys`,
   * `sts:TransitiveTagKeys`, `aws:SourceAccount` and `aws:SourceArn` in the context.
   */
  assumeRoleAsService(request: ServiceAssumeRoleRequest): IssuedSession {
    const { roleArn, sessionName } = request;
    const role = this.options.config.roles.get(roleArn);
    const denied = (reason: string): StsError =>
      new StsError('AccessDenied', `${request.service} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, reason);
    if (!role) throw denied(`role ${roleArn} is not in the lab config`);
    if (!SESSION_NAME.test(sessionName)) throw validationError(`RoleSessionName ${sessionName.slice(0, 100)} is not 2 to 64 of [\\w+=,.@-]`);
    const tagProblem = sessionTagsProblem(request.tags, request.transitiveTagKeys);
    if (tagProblem !== undefined) throw validationError(tagProblem);
    const requests = serviceRequests(request);
    const decision = evaluateTrustPolicy(role.trustPolicy, requests.assume);
    if (!decision.allowed) throw denied(`${request.service} may not assume ${roleArn}: ${decision.reason}`);
    if (requests.tagSession !== undefined) {
      const tagging = evaluateTrustPolicy(role.trustPolicy, requests.tagSession);
      if (!tagging.allowed) throw denied(`${request.service} may not tag its session of ${roleArn}: sts:TagSession: ${tagging.reason}`);
    }
    const tags = Object.fromEntries(request.tags.map(({ key, value }) => [key, value]));
    return this.issue(role, sessionName, request.durationSeconds, { tags, transitiveTagKeys: request.transitiveTagKeys.filter((key) => key in tags) }, request.policy);
  }

  /** The session of lab-issued credentials, checked as a signed request's would be (other lab services use it). */
  openSession(accessKeyId: string, sessionToken: string | undefined): Session {
    const invalidToken = (reason: string): StsError => new StsError('InvalidClientTokenId', 'The security token included in the request is invalid.', reason);
    if (!sessionToken) throw invalidToken(`no session token for ${accessKeyId}`);
    const session = this.options.sessions.open(sessionToken);
    if (!session) throw invalidToken('session token not issued by this STS (or its key changed)');
    if (session.accessKeyId !== accessKeyId) throw invalidToken(`session token belongs to ${session.accessKeyId}, not ${accessKeyId}`);
    if (this.options.now().getTime() / 1000 > session.expiresAt) {
      throw new StsError('ExpiredToken', 'The security token included in the request is expired');
    }
    return session;
  }

  /** The secret of a lab-issued access key (for verifying signatures made with it). */
  secretFor(accessKeyId: string): string {
    return this.options.sessions.secretFor(accessKeyId);
  }

  /** The session behind a SigV4-signed request (header or presigned) for `service`, or the matching STS error. */
  private authenticate(request: SignedRequest, service: 'sts' | 'iam'): { session: Session; claims: SignatureClaims } {
    const claims = readSignature(request);
    if (claims.service !== service) throw new StsError('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${service}'`);
    checkSignatureTime(claims, Math.floor(this.options.now().getTime() / 1000));
    const session = this.openSession(claims.accessKeyId, claims.sessionToken);
    verifySignature(request, claims, this.options.sessions.secretFor(claims.accessKeyId));
    return { session, claims };
  }

  getCallerIdentity(request: SignedRequest): ActionResult {
    const { session } = this.authenticate(request, 'sts');
    return {
      result: { Arn: session.arn, UserId: session.userId, Account: session.account },
      details: { arn: session.arn, accessKeyId: session.accessKeyId },
    };
  }
}
