import { parseRoleArn } from '../../engine/arn.js';
import type { LabConfig } from './config.js';
import { accessDenied, StsError, validationError } from './errors.js';
import type { IssuedCredentials, SessionAuthority } from './sessions.js';
import { checkSignatureTime, readSignature, type SignedRequest, verifySignature } from './sigv4.js';
import { evaluateTrustPolicy } from './trust-policy.js';
import type { WebIdentityVerifier } from './web-identity.js';
import type { XmlTree } from './xml.js';

export const STS_VERSION = '2011-06-15';
/** Real STS refuses web identity tokens longer than this. */
export const MAX_WEB_IDENTITY_TOKEN_LENGTH = 20000;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

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

export interface StsServiceOptions {
  readonly config: LabConfig;
  readonly sessions: SessionAuthority;
  readonly verifier: WebIdentityVerifier;
  readonly now: () => Date;
}

export interface ActionResult {
  readonly result: XmlTree;
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

/** The STS actions the lab implements, independent of HTTP. */
export class StsService {
  constructor(private readonly options: StsServiceOptions) {}

  async handle(params: ReadonlyMap<string, string>, request: SignedRequest): Promise<ActionResult & { action: string }> {
    const action = params.get('Action');
    const version = params.get('Version');
    if (!action) throw new StsError('InvalidAction', 'The request must contain the parameter Action');
    if (version !== STS_VERSION) throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version ?? '(none)'}`);
    switch (action) {
      case 'AssumeRoleWithWebIdentity':
        return { action, ...(await this.assumeRoleWithWebIdentity(params)) };
      case 'GetCallerIdentity':
        return { action, ...this.getCallerIdentity(request) };
      default:
        throw new StsError('InvalidAction', `Could not find operation ${action} for version ${version}`);
    }
  }

  async assumeRoleWithWebIdentity(params: ReadonlyMap<string, string>): Promise<ActionResult> {
    const roleArn = required(params, 'RoleArn', 'roleArn');
    const sessionName = required(params, 'RoleSessionName', 'roleSessionName');
    // SDKs send the token file's bytes as they are, trailing newline included.
    const token = required(params, 'WebIdentityToken', 'webIdentityToken').replace(/\r?\n$/, '');
    if (roleArn.length < 20 || roleArn.length > 2048 || !parseRoleArn(roleArn)) {
      throw validationError(`1 validation error detected: Value '${roleArn.slice(0, 100)}' at 'roleArn' failed to satisfy constraint: Member must be a role ARN`);
    }
    if (!SESSION_NAME.test(sessionName)) {
      throw validationError(
        `1 validation error detected: Value '${sessionName.slice(0, 100)}' at 'roleSessionName' failed to satisfy constraint: Member must have length 2 to 64 and satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    if (token.length < 4 || token.length > MAX_WEB_IDENTITY_TOKEN_LENGTH) {
      throw validationError(
        `1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to ${MAX_WEB_IDENTITY_TOKEN_LENGTH}`,
      );
    }
    const rawDuration = params.get('DurationSeconds');
    let durationSeconds = 3600;
    if (rawDuration !== undefined) {
      durationSeconds = Number(rawDuration);
      if (!/^\d+$/.test(rawDuration) || durationSeconds < 900 || durationSeconds > 43200) {
        throw validationError(
          `1 validation error detected: Value '${rawDuration.slice(0, 20)}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
        );
      }
    }

    const identity = await this.options.verifier.verify(token);
    const role = this.options.config.roles.get(roleArn);
    if (!role) throw accessDenied(`role ${roleArn} is not in the lab config`);
    if (rawDuration !== undefined && durationSeconds > role.maxSessionDuration) {
      throw validationError(`The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`);
    }
    const providerArn = `arn:${role.partition}:iam::${role.account}:oidc-provider/${identity.provider.id}`;
    const prefix = identity.provider.id.toLowerCase();
    const decision = evaluateTrustPolicy(role.trustPolicy, {
      action: 'sts:AssumeRoleWithWebIdentity',
      principal: { type: 'Federated', ids: [providerArn] },
      context: new Map([
        [`${prefix}:sub`, [identity.subject]],
        [`${prefix}:aud`, [identity.audience]],
      ]),
    });
    if (!decision.allowed) throw accessDenied(`${identity.subject} may not assume ${roleArn}: ${decision.reason}`);

    const now = this.options.now();
    const assumedRoleArn = `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${sessionName}`;
    const userId = `${role.roleId}:${sessionName}`;
    const credentials = this.options.sessions.issue({
      arn: assumedRoleArn,
      userId,
      account: role.account,
      expiresAt: Math.floor(now.getTime() / 1000) + durationSeconds,
    });
    return {
      result: {
        Credentials: {
          AccessKeyId: credentials.accessKeyId,
          SecretAccessKey: credentials.secretAccessKey,
          SessionToken: credentials.sessionToken,
          Expiration: iso8601(credentials.expiration),
        },
        SubjectFromWebIdentityToken: identity.subject,
        AssumedRoleUser: { AssumedRoleId: userId, Arn: assumedRoleArn },
        Provider: providerArn,
        Audience: identity.audience,
      },
      details: { role: roleArn, subject: identity.subject, assumedRoleArn, accessKeyId: credentials.accessKeyId },
      assumed: { roleArn, assumedRoleArn, subject: identity.subject, audience: identity.audience, sessionName, claims: identity.claims, credentials },
    };
  }

  getCallerIdentity(request: SignedRequest): ActionResult {
    const claims = readSignature(request);
    if (claims.service !== 'sts') throw new StsError('SignatureDoesNotMatch', `Credential should be scoped to correct service: 'sts'`);
    checkSignatureTime(claims, Math.floor(this.options.now().getTime() / 1000));
    const invalidToken = (reason: string): StsError => new StsError('InvalidClientTokenId', 'The security token included in the request is invalid.', reason);
    if (!claims.sessionToken) throw invalidToken(`no session token for ${claims.accessKeyId}`);
    const session = this.options.sessions.open(claims.sessionToken);
    if (!session) throw invalidToken('session token not issued by this STS (or its key changed)');
    if (session.accessKeyId !== claims.accessKeyId) throw invalidToken(`session token belongs to ${session.accessKeyId}, not ${claims.accessKeyId}`);
    if (this.options.now().getTime() / 1000 > session.expiresAt) {
      throw new StsError('ExpiredToken', 'The security token included in the request is expired');
    }
    verifySignature(request, claims, this.options.sessions.secretFor(claims.accessKeyId));
    return {
      result: { Arn: session.arn, UserId: session.userId, Account: session.account },
      details: { arn: session.arn, accessKeyId: session.accessKeyId },
    };
  }
}
