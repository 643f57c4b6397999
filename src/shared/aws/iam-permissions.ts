import { isJsonObject } from '../json.js';
import type { Parsed } from '../result.js';
import { type Condition, type ConditionVerdict, evaluateCondition, parseConditionBlock } from './iam-conditions.js';
import { type PolicyVersion, readPolicyEnvelope, refuseRepeatedSids, refuseUnknownFields, type StatementSpan, stringList } from './iam-document.js';
import { arnMatches, parseValue, type PolicyValue, type RequestContext, resolve, unresolvedKeys } from './iam-values.js';
import { matchesParts, wildcardParts } from './wildcard.js';

/**
 * Permission (identity-based) policies and their evaluation, as the IAM user guide's "Policy
 * evaluation logic" describes it for one account: an explicit Deny in any policy wins; otherwise the
 * identity-based policies must allow, and so must the permissions boundary when there is one, and
 * the session policies when there are any (each an intersection). Pure: no I/O.
 *
 * Usage:
 *   const policy = parsePermissionPolicy(text, { maxChars: 2048 });
 *   if (!policy.ok) … policy.error (one line)
 *   evaluatePermissions({ identityPolicies: [{ id: 'inline', policy: policy.value }] },
 *                       { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', context: new Map() })
 */

/** IAM's largest policy input (the simulator's PolicyInputList members): the default limit. */
export const MAX_PERMISSION_POLICY_CHARS = 131072;

/** STS's limit on an inline session policy's text (STS API reference, AssumeRole `Policy`). */
export const MAX_SESSION_POLICY_CHARS = 2048;
/** Statements in one policy: a policy of the largest size holds fewer than this. */
const MAX_STATEMENTS = 1000;

export interface PermissionStatement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** Action patterns (`service:Action`, wildcards, `*`); with `notAction` the statement covers every other action. */
  readonly actions: readonly string[];
  readonly notAction: boolean;
  /** Resource patterns (ARNs with wildcards and variables, `*`); with `notResource`, every other resource. */
  readonly resources: readonly PolicyValue[];
  readonly notResource: boolean;
  readonly conditions: readonly Condition[];
  /** Where the statement is in the policy text (when the policy was parsed from text). */
  readonly span: StatementSpan | undefined;
}

export interface PermissionPolicy {
  readonly version: PolicyVersion;
  readonly statements: readonly PermissionStatement[];
  /** Characters without white space, as IAM counts them against its limits. */
  readonly size: number;
}

export interface ParsePermissionOptions {
  /** Characters without white space (IAM does not count it); default 131,072. */
  readonly maxChars?: number;
}

/** Any condition key of the shape `service:name` (IAM keys are not listed here: the request says what it has). */
export function permissionKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > 256) return 'a condition key must be 1 to 256 characters';
  if (!/^[^\s:${}]+:[^\s${}]+$/.test(key)) return `"${key.slice(0, 100)}" is not a condition key (service:name, such as aws:SourceIp or aws:PrincipalTag/team)`;
  return undefined;
}

const ACTION = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$/;

function parseActions(value: unknown, where: string): string[] {
  const actions = stringList(value, where);
  const bad = actions.find((action) => !ACTION.test(action));
  if (bad !== undefined) throw new Error(`${where}: "${bad.slice(0, 100)}" is not an action (service:Action, wildcards allowed, or *)`);
  return actions;
}

function parseResources(value: unknown, where: string, version: PolicyVersion): PolicyValue[] {
  return stringList(value, where).map((resource) => {
    if (resource !== '*' && !resource.startsWith('arn:')) throw new Error(`${where}: "${resource.slice(0, 100)}" is not a resource (an ARN, wildcards allowed, or *)`);
    return parseValue(resource, where, { wildcards: true, variables: version === '2012-10-17', checkKey: permissionKeyProblem });
  });
}

function parseStatement(value: unknown, index: number, version: PolicyVersion, span: StatementSpan | undefined): PermissionStatement {
  const where = `Statement[${index}]`;
  if (!isJsonObject(value)) throw new Error(`${where} must be an object`);
  refuseUnknownFields(value, ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'], where, ['Principal', 'NotPrincipal'], 'a permission policy (it applies to the identity it is attached to)');
  if (value.Sid !== undefined && (typeof value.Sid !== 'string' || !/^[A-Za-z0-9]*$/.test(value.Sid))) throw new Error(`${where}.Sid must be letters and digits`);
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') throw new Error(`${where}.Effect must be Allow or Deny`);
  if ((value.Action === undefined) === (value.NotAction === undefined)) throw new Error(`${where} needs exactly one of Action and NotAction`);
  if ((value.Resource === undefined) === (value.NotResource === undefined)) throw new Error(`${where} needs exactly one of Resource and NotResource`);
  const notAction = value.NotAction !== undefined;
  const notResource = value.NotResource !== undefined;
  return {
    index,
    sid: value.Sid === '' ? undefined : (value.Sid as string | undefined),
    effect: value.Effect,
    actions: parseActions(notAction ? value.NotAction : value.Action, `${where}.${notAction ? 'NotAction' : 'Action'}`),
    notAction,
    resources: parseResources(notResource ? value.NotResource : value.Resource, `${where}.${notResource ? 'NotResource' : 'Resource'}`, version),
    notResource,
    conditions: parseConditionBlock(value.Condition, `${where}.Condition`, { variables: version === '2012-10-17', checkKey: permissionKeyProblem }),
    span,
  };
}

/** Parses a permission policy given as an object or as its JSON text; every problem is one line naming the statement and field. */
export function parsePermissionPolicy(document: unknown, options: ParsePermissionOptions = {}): Parsed<PermissionPolicy> {
  try {
    const envelope = readPolicyEnvelope(document, options.maxChars ?? MAX_PERMISSION_POLICY_CHARS);
    if (envelope.statements.length > MAX_STATEMENTS) throw new Error(`has ${envelope.statements.length} statements, more than ${MAX_STATEMENTS}`);
    const statements = envelope.statements.map((statement, index) => parseStatement(statement, index, envelope.version, envelope.spans?.[index]));
    refuseRepeatedSids(statements.map((statement) => statement.sid));
    return { ok: true, value: { version: envelope.version, statements, size: envelope.size } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export interface PermissionRequest {
  /** `service:Action`, as IAM names it (matched case-insensitively). */
  readonly action: string;
  /** The resource ARN, or `*` when the action has none. */
  readonly resource: string;
  /** Condition keys lower-cased → values; also the values of policy variables (`aws:username`, `aws:PrincipalTag/x`…). */
  readonly context: RequestContext;
}

export type PolicyType = 'identity' | 'boundary' | 'session';

export interface NamedPolicy {
  /** How the policy is named in answers: the simulator's SourcePolicyId. */
  readonly id: string;
  readonly policy: PermissionPolicy;
}

export interface PolicySet {
  readonly identityPolicies: readonly NamedPolicy[];
  /** The permissions boundary, when the identity has one. */
  readonly boundary?: NamedPolicy;
  /** The session's policies, when it has any: together they must allow too. */
  readonly sessionPolicies?: readonly NamedPolicy[];
}

export type EvalDecision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export interface MatchedStatement {
  readonly policyId: string;
  readonly policyType: PolicyType;
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly span: StatementSpan | undefined;
}

export interface PermissionStatementVerdict {
  readonly statement: PermissionStatement;
  /** `statement Sid` or `statement 2`. */
  readonly label: string;
  readonly actionMatches: boolean;
  readonly resourceMatches: boolean;
  readonly conditions: readonly ConditionVerdict[];
  readonly applies: boolean;
  /** Keys this statement needed and the request lacked, when its action and resource match (as written, no repeats). */
  readonly missingKeys: readonly string[];
}

export interface PolicyVerdict {
  readonly id: string;
  readonly type: PolicyType;
  readonly statements: readonly PermissionStatementVerdict[];
}

/** One kind of policy (identity, boundary, session) on its own. */
export interface LayerVerdict {
  readonly decision: EvalDecision;
  readonly allows: readonly MatchedStatement[];
  readonly denies: readonly MatchedStatement[];
}

export interface PermissionDecision {
  readonly decision: EvalDecision;
  /** The statements that decide: the applicable Denies for explicitDeny, the applicable Allows of every layer for allowed, none for implicitDeny. */
  readonly matchedStatements: readonly MatchedStatement[];
  /** Keys the matching statements' conditions and variables needed that the request lacked (as written, sorted). */
  readonly missingContextValues: readonly string[];
  readonly identity: LayerVerdict;
  /** Absent when there is no boundary. */
  readonly boundary: LayerVerdict | undefined;
  /** Absent when the session has no policies. */
  readonly session: LayerVerdict | undefined;
  /** Every statement's verdict, policy by policy (for explanations). */
  readonly policies: readonly PolicyVerdict[];
  /** One line saying why, for logs and explanations. */
  readonly reason: string;
}

function resourceListed(resources: readonly PolicyValue[], request: PermissionRequest): { listed: boolean; missing: string[] } {
  const missing: string[] = [];
  let listed = false;
  for (const resource of resources) {
    const parts = resolve(resource, request.context);
    if (parts === undefined) missing.push(...unresolvedKeys(resource, request.context));
    else if (!listed && arnMatches(parts, request.resource)) listed = true;
  }
  return { listed, missing };
}

export function evaluatePermissionStatement(statement: PermissionStatement, request: PermissionRequest): PermissionStatementVerdict {
  const listedAction = statement.actions.some((action) => matchesParts(wildcardParts(action), request.action, true));
  const actionMatches = statement.notAction ? !listedAction : listedAction;
  const resources = resourceListed(statement.resources, request);
  const resourceMatches = statement.notResource ? !resources.listed : resources.listed;
  const conditions = statement.conditions.map((condition) => evaluateCondition(condition, request.context));
  const candidate = actionMatches && (resourceMatches || resources.missing.length > 0);
  const missingKeys = candidate ? [...new Set([...resources.missing, ...conditions.flatMap((verdict) => verdict.missingKeys)])] : [];
  return {
    statement,
    label: statement.sid ? `statement ${statement.sid}` : `statement ${statement.index}`,
    actionMatches,
    resourceMatches,
    conditions,
    applies: actionMatches && resourceMatches && conditions.every((verdict) => verdict.met),
    missingKeys,
  };
}

export function evaluatePermissionPolicy(named: NamedPolicy, type: PolicyType, request: PermissionRequest): PolicyVerdict {
  return { id: named.id, type, statements: named.policy.statements.map((statement) => evaluatePermissionStatement(statement, request)) };
}

function matched(verdict: PolicyVerdict, statement: PermissionStatementVerdict): MatchedStatement {
  const { index, sid, effect, span } = statement.statement;
  return { policyId: verdict.id, policyType: verdict.type, index, sid, effect, span };
}

function layer(verdicts: readonly PolicyVerdict[]): LayerVerdict {
  const applicable = verdicts.flatMap((verdict) => verdict.statements.filter((statement) => statement.applies).map((statement) => matched(verdict, statement)));
  const denies = applicable.filter((statement) => statement.effect === 'Deny');
  const allows = applicable.filter((statement) => statement.effect === 'Allow');
  return { decision: denies.length > 0 ? 'explicitDeny' : allows.length > 0 ? 'allowed' : 'implicitDeny', allows, denies };
}

function describe(statement: MatchedStatement): string {
  return `${statement.policyType} policy ${statement.policyId} ${statement.sid ? `statement ${statement.sid}` : `statement ${statement.index}`}`;
}

/** The IAM decision for one action on one resource under a set of policies (see the module comment). */
export function evaluatePermissions(set: PolicySet, request: PermissionRequest): PermissionDecision {
  const identityVerdicts = set.identityPolicies.map((policy) => evaluatePermissionPolicy(policy, 'identity', request));
  const boundaryVerdicts = set.boundary ? [evaluatePermissionPolicy(set.boundary, 'boundary', request)] : [];
  const sessionVerdicts = set.sessionPolicies && set.sessionPolicies.length > 0 ? set.sessionPolicies.map((policy) => evaluatePermissionPolicy(policy, 'session', request)) : [];
  const identity = layer(identityVerdicts);
  const boundary = set.boundary ? layer(boundaryVerdicts) : undefined;
  const session = sessionVerdicts.length > 0 ? layer(sessionVerdicts) : undefined;
  const policies = [...identityVerdicts, ...boundaryVerdicts, ...sessionVerdicts];
  const missingContextValues = [...new Set(policies.flatMap((verdict) => verdict.statements.flatMap((statement) => statement.missingKeys)))].sort();
  const denies = [...identity.denies, ...(boundary?.denies ?? []), ...(session?.denies ?? [])];
  const base = { missingContextValues, identity, boundary, session, policies };
  if (denies.length > 0) return { ...base, decision: 'explicitDeny', matchedStatements: denies, reason: `explicitly denied by ${denies.map(describe).join(', ')}` };
  const missingLayer =
    identity.decision !== 'allowed' ? (set.identityPolicies.length === 0 ? 'there is no identity policy' : 'no identity policy allows it')
    : boundary && boundary.decision !== 'allowed' ? 'the permissions boundary does not allow it'
    : session && session.decision !== 'allowed' ? 'no session policy allows it'
    : undefined;
  if (missingLayer !== undefined) return { ...base, decision: 'implicitDeny', matchedStatements: [], reason: `implicitly denied: ${missingLayer}` };
  const allows = [...identity.allows, ...(boundary?.allows ?? []), ...(session?.allows ?? [])];
  return { ...base, decision: 'allowed', matchedStatements: allows, reason: `allowed by ${allows.map(describe).join(', ')}` };
}
