import { canonicalize, parseRoleArn } from '../../shared/aws/arn.js';
import { evaluatePermissions, MAX_SESSION_POLICY_CHARS, type NamedPolicy, type PermissionDecision, type PermissionPolicy, parsePermissionPolicy, type PolicySet } from '../../shared/aws/iam-permissions.js';
import { parseJsonText } from '../../shared/yaml.js';
import type { LabConfig, LabRole } from './config.js';
import { StsError, validationError } from './errors.js';
import type { Session } from './sessions.js';

/**
 * What a lab session may do: its role's inline policies (the lab config's `policies`), its
 * permissions boundary, and the session policy it was issued with, evaluated by the shared IAM
 * evaluator. A role without `policies` has its permissions "not modelled": its identity policies
 * are taken to allow everything, so only a boundary or a session policy narrows what it may do.
 */

/** The role a session belongs to: the config's role of that account and name (a session ARN carries no role path). */
export function roleOfSession(config: LabConfig, session: Session): LabRole | undefined {
  const identity = canonicalize(session.arn);
  if (!identity || identity.sessionName === undefined) return undefined;
  const wanted = parseRoleArn(identity.canonicalArn);
  for (const role of config.roles.values()) {
    if (role.partition === wanted?.partition && role.account === wanted.account && role.name === wanted.name) return role;
  }
  return undefined;
}

/** The policy the lab stands in for identity policies it does not model. */
const NOT_MODELLED: NamedPolicy = {
  id: 'permissions-not-modelled',
  policy: { version: '2012-10-17', size: 0, statements: [{ index: 0, sid: undefined, effect: 'Allow', actions: ['*'], notAction: false, resources: [{ written: '*', parts: [{ kind: 'star' }] }], notResource: false, conditions: [], span: undefined }] },
};

/** The policy id a session policy has in decisions and messages. */
export const SESSION_POLICY_ID = 'session-policy';

/** The policies that decide for a session; undefined when nothing about them is modelled. */
export function sessionPolicySet(config: LabConfig, session: Session): PolicySet | undefined {
  const role = roleOfSession(config, session);
  const sessionPolicy = session.policy === undefined ? undefined : parsePermissionPolicy(session.policy, { maxChars: MAX_SESSION_POLICY_CHARS });
  if (role?.policies === undefined && role?.permissionsBoundary === undefined && sessionPolicy === undefined) return undefined;
  return {
    identityPolicies: role?.policies ?? [NOT_MODELLED],
    ...(role?.permissionsBoundary ? { boundary: { id: 'permissions-boundary', policy: role.permissionsBoundary } } : {}),
    // A token's policy was validated when it was issued and is signed: it parses again.
    ...(sessionPolicy?.ok ? { sessionPolicies: [{ id: SESSION_POLICY_ID, policy: sessionPolicy.value }] } : {}),
  };
}

/** The request context the lab knows for a session's own calls (global keys; the action adds its own). */
export function sessionContext(session: Session, role: LabRole | undefined, now: Date, region: string | undefined): Map<string, string[]> {
  const context = new Map<string, string[]>([
    ['aws:principalarn', [role ? `arn:${role.partition}:iam::${role.account}:role/${role.name}` : session.arn]],
    ['aws:principalaccount', [session.account]],
    ['aws:principaltype', ['AssumedRole']],
    ['aws:userid', [session.userId]],
    ['aws:currenttime', [now.toISOString().replace(/\.\d{3}Z$/, 'Z')]],
    ['aws:epochtime', [String(Math.floor(now.getTime() / 1000))]],
  ]);
  if (region !== undefined) context.set('aws:requestedregion', [region]);
  for (const [key, value] of Object.entries(session.tags ?? {})) context.set(`aws:principaltag/${key.toLowerCase()}`, [value]);
  return context;
}

/** AWS's wording for why an action is denied (the suffix of an AccessDenied message). */
function denialCause(decision: PermissionDecision, action: string): string {
  if (decision.decision === 'explicitDeny') {
    const type = decision.matchedStatements[0]?.policyType;
    return `with an explicit deny in ${type === 'session' ? 'a session policy' : type === 'boundary' ? 'a permissions boundary' : 'an identity-based policy'}`;
  }
  if (decision.identity.decision !== 'allowed') return `because no identity-based policy allows the ${action} action`;
  if (decision.boundary && decision.boundary.decision !== 'allowed') return `because no permissions boundary allows the ${action} action`;
  return `because no session policy allows the ${action} action`;
}

export interface AuthorizeRequest {
  readonly action: string;
  readonly resource: string;
  /** Keys of the action (`sts:RoleSessionName`…), added to the session's own. */
  readonly context?: ReadonlyMap<string, readonly string[]>;
  readonly region?: string;
}

/**
 * Throws AccessDenied ("User: ARN is not authorized to perform: ACTION on resource: ARN because …",
 * AWS's shape) unless the session's policies allow the action; returns the decision, or undefined
 * when nothing about the session's permissions is modelled.
 */
export function authorizeSession(config: LabConfig, session: Session, request: AuthorizeRequest, now: Date): PermissionDecision | undefined {
  const set = sessionPolicySet(config, session);
  if (set === undefined) return undefined;
  const context = sessionContext(session, roleOfSession(config, session), now, request.region);
  for (const [key, values] of request.context ?? []) context.set(key, [...values]);
  const decision = evaluatePermissions(set, { action: request.action, resource: request.resource, context });
  if (decision.decision !== 'allowed') {
    throw new StsError(
      'AccessDenied',
      `User: ${session.arn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${denialCause(decision, request.action)}`,
      `${session.arn} ${request.action} ${request.resource}: ${decision.reason}`,
    );
  }
  return decision;
}

export interface SessionPolicy {
  /** The minified text, as the session token carries it. */
  readonly text: string;
  readonly policy: PermissionPolicy;
}

/** The `Policy` parameter of AssumeRole*: STS's length limit, then a permission policy, or STS's MalformedPolicyDocument. */
export function readSessionPolicy(raw: string): SessionPolicy {
  if (raw.length < 1 || raw.length > MAX_SESSION_POLICY_CHARS) {
    throw validationError(`1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_POLICY_CHARS}`);
  }
  const malformed = (why: string): StsError => new StsError('MalformedPolicyDocument', `The session policy is malformed: ${why}`);
  const json = parseJsonText(raw);
  if (!json.ok) throw malformed(json.error);
  const parsed = parsePermissionPolicy(json.value, { maxChars: MAX_SESSION_POLICY_CHARS });
  if (!parsed.ok) throw malformed(parsed.error);
  return { text: JSON.stringify(json.value), policy: parsed.value };
}

/**
 * The lab's stand-in for STS's packed size (a compressed form AWS does not publish): the session
 * policy's characters without white space plus its session tags' keys and values, against 2,048.
 * Returns the percentage AssumeRole reports as PackedPolicySize, or throws PackedPolicyTooLarge.
 */
export function packedPolicySize(policy: SessionPolicy | undefined, tags: Readonly<Record<string, string>> | undefined): number | undefined {
  const tagChars = Object.entries(tags ?? {}).reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (policy === undefined && tagChars === 0) return undefined;
  const policyChars = policy?.text.length ?? 0;
  const percent = Math.ceil(((policyChars + tagChars) * 100) / MAX_SESSION_POLICY_CHARS);
  if (percent > 100) {
    throw new StsError('PackedPolicyTooLarge', `Packed policy consumes ${percent}% of allotted space, please use smaller policy.`);
  }
  return percent;
}
