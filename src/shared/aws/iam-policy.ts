import { isJsonObject } from '../json.js';
import type { Parsed } from '../result.js';
import { isAccountId } from './arn.js';
import { type Condition, type ConditionVerdict, evaluateCondition, parseConditionBlock } from './iam-conditions.js';
import { type PolicyVersion, readPolicyEnvelope, refuseRepeatedSids, refuseUnknownFields, stringList } from './iam-document.js';
import type { RequestContext } from './iam-values.js';
import { matchesParts, wildcardParts } from './wildcard.js';

export { CONDITION_OPERATORS, type ArnOperator, type Condition, type ConditionOperator, type ConditionVerdict, evaluateCondition, type StringOperator } from './iam-conditions.js';
export { POLICY_VERSIONS, type PolicyVersion } from './iam-document.js';
export type { PolicyValue, RequestContext, ValuePart } from './iam-values.js';

/**
 * IAM trust policies, as far as the lab's STS actions need them: Version, Statement (Sid, Effect,
 * Principal, Action or NotAction, Condition). What this module does not implement is refused when
 * the lab config loads, never ignored: other elements, misspelt fields, unknown operators,
 * condition keys the lab never puts in a request, and policy variables it cannot substitute. A
 * policy therefore never silently means less than it says (a Deny on a key that is never filled
 * would never apply). Conditions and values are shared with permission policies
 * (`iam-conditions.ts`, `iam-values.ts`); permission policies are `iam-permissions.ts`.
 */

/** A trust policy may be longer than IAM's default 2,048-character quota (it can be raised); the lab bounds it here. */
export const MAX_TRUST_POLICY_CHARS = 131072;

/**
 * The condition keys the lab puts in a request context (lower-case: IAM key names are case-
 * insensitive), with the actions that fill them. Keys of the OIDC provider (`HOST/PATH:sub`,
 * `:aud`, `:amr`, `:azp`) and tag keys (`aws:RequestTag/KEY`, `aws:PrincipalTag/KEY`) are
 * recognised by their shape.
 */
export const CONTEXT_KEYS: Readonly<Record<string, string>> = {
  'aws:federatedprovider': 'AssumeRoleWithWebIdentity: the OIDC provider ARN',
  'sts:rolesessionname': 'AssumeRole, AssumeRoleWithWebIdentity: the RoleSessionName',
  'aws:principalarn': 'AssumeRole: the caller (a role ARN for a role session)',
  'aws:principalaccount': "AssumeRole: the caller's account",
  'aws:principaltype': 'AssumeRole: AssumedRole, User or Account',
  'sts:externalid': 'AssumeRole: the ExternalId parameter',
  'aws:sourceaccount': 'service principals: the account the service acts for',
  'aws:sourcearn': 'service principals: the resource the service acts for',
  'aws:tagkeys': 'requests with session tags: their keys',
  'sts:transitivetagkeys': 'requests with session tags: the transitive ones',
};
const TAG_KEY_PREFIXES = ['aws:requesttag/', 'aws:principaltag/'];
const OIDC_KEY_SUFFIXES = [':sub', ':aud', ':amr', ':azp'];
const SERVICE_PREFIXES = new Set(['aws', 'sts', 'iam']);

/** Why the lab cannot evaluate a condition key, or undefined when it fills it (for some action). */
export function unsupportedKey(key: string): string | undefined {
  const lower = key.toLowerCase();
  if (lower in CONTEXT_KEYS) return undefined;
  if (TAG_KEY_PREFIXES.some((prefix) => lower.startsWith(prefix) && lower.length > prefix.length)) return undefined;
  const suffix = OIDC_KEY_SUFFIXES.find((candidate) => lower.endsWith(candidate));
  const provider = suffix === undefined ? '' : lower.slice(0, -suffix.length);
  if (suffix && provider !== '' && !SERVICE_PREFIXES.has(provider) && !/\s/.test(provider)) return undefined;
  return (
    `condition key "${key.slice(0, 100)}" is not one the lab puts in a request ` +
    `(supported: ${Object.keys(CONTEXT_KEYS).join(', ')}, aws:RequestTag/KEY, aws:PrincipalTag/KEY, PROVIDER:sub, :aud, :amr, :azp)`
  );
}

export interface Principals {
  /** `"Principal": "*"` or `{"AWS": "*"}`, which IAM treats alike: anyone, federated users included. */
  readonly any: boolean;
  /** OIDC provider ARNs. */
  readonly federated: readonly string[];
  /** IAM ARNs (role, user, assumed-role session or `arn:aws:iam::ACCOUNT:root`). */
  readonly aws: readonly string[];
  /** Service principals (`pods.eks.amazonaws.com`). */
  readonly service: readonly string[];
}

export interface Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly principals: Principals;
  /** Action patterns; with `notAction` the statement covers every action they do not match. */
  readonly actions: readonly string[];
  readonly notAction: boolean;
  readonly conditions: readonly Condition[];
}

export interface TrustPolicy {
  readonly version: PolicyVersion;
  readonly statements: readonly Statement[];
}

/** A bare account id in an AWS principal means the account's root. */
function awsPrincipal(value: string): string {
  return isAccountId(value) ? `arn:aws:iam::${value}:root` : value;
}

function parsePrincipal(value: unknown, where: string): Principals {
  const none = { any: false, federated: [], aws: [], service: [] };
  if (value === '*') return { ...none, any: true };
  if (!isJsonObject(value)) {
    throw new Error(`${where} must be "*" or {"Federated": "arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH"}, {"AWS": "arn:..."} or {"Service": "NAME.amazonaws.com"}`);
  }
  refuseUnknownFields(value, ['Federated', 'AWS', 'Service'], where, ['CanonicalUser']);
  if (value.Federated === undefined && value.AWS === undefined && value.Service === undefined) throw new Error(`${where} must name Federated, AWS or Service principals`);
  const aws = value.AWS === undefined ? [] : stringList(value.AWS, `${where}.AWS`).map(awsPrincipal);
  return {
    // IAM reads {"AWS": "*"} as "*": every principal, web identity callers included.
    any: aws.includes('*'),
    federated: value.Federated === undefined ? [] : stringList(value.Federated, `${where}.Federated`),
    aws: aws.filter((entry) => entry !== '*'),
    service: value.Service === undefined ? [] : stringList(value.Service, `${where}.Service`),
  };
}

function parseStatement(value: unknown, where: string, version: PolicyVersion): Statement {
  if (!isJsonObject(value)) throw new Error(`${where} must be an object`);
  refuseUnknownFields(value, ['Sid', 'Effect', 'Principal', 'Action', 'NotAction', 'Condition'], where, ['NotPrincipal', 'Resource', 'NotResource']);
  if (value.Sid !== undefined && (typeof value.Sid !== 'string' || !/^[A-Za-z0-9]*$/.test(value.Sid))) throw new Error(`${where}.Sid must be letters and digits`);
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') throw new Error(`${where}.Effect must be Allow or Deny`);
  if (value.Principal === undefined) throw new Error(`${where}.Principal is missing`);
  if ((value.Action === undefined) === (value.NotAction === undefined)) throw new Error(`${where} needs exactly one of Action and NotAction`);
  const notAction = value.NotAction !== undefined;
  return {
    sid: value.Sid as string | undefined,
    effect: value.Effect,
    principals: parsePrincipal(value.Principal, `${where}.Principal`),
    actions: stringList(notAction ? value.NotAction : value.Action, `${where}.${notAction ? 'NotAction' : 'Action'}`),
    notAction,
    conditions: parseConditionBlock(value.Condition, `${where}.Condition`, { variables: version === '2012-10-17', checkKey: unsupportedKey }),
  };
}

/** Parses a trust policy given as an object or as its JSON text (repeated keys refused, with their path). */
export function parseTrustPolicy(document: unknown): Parsed<TrustPolicy> {
  try {
    const envelope = readPolicyEnvelope(document, MAX_TRUST_POLICY_CHARS);
    const parsed = envelope.statements.map((statement, index) => parseStatement(statement, `Statement[${index}]`, envelope.version));
    refuseRepeatedSids(parsed.map((statement) => statement.sid));
    return { ok: true, value: { version: envelope.version, statements: parsed } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export interface TrustRequest {
  readonly action: string;
  /** Who asks: a federated provider ARN, the ARNs an AWS caller is known by (role, session, account root), or a service. */
  readonly principal: { readonly type: 'Federated' | 'AWS' | 'Service'; readonly ids: readonly string[] };
  readonly context: RequestContext;
}

export interface StatementVerdict {
  readonly index: number;
  /** `statement Sid` or `statement 2`. */
  readonly label: string;
  readonly statement: Statement;
  readonly actionMatches: boolean;
  readonly principalMatches: boolean;
  /** Every condition's verdict (all are evaluated, for explanations), in policy order. */
  readonly conditions: readonly ConditionVerdict[];
  readonly applies: boolean;
}

function principalMatches(principals: Principals, request: TrustRequest): boolean {
  if (principals.any) return true;
  const listed = request.principal.type === 'Federated' ? principals.federated : request.principal.type === 'AWS' ? principals.aws : principals.service;
  return listed.some((entry) => request.principal.ids.includes(entry));
}

export function evaluateStatement(statement: Statement, index: number, request: TrustRequest): StatementVerdict {
  const listed = statement.actions.some((action) => matchesParts(wildcardParts(action), request.action, true));
  const actionMatches = statement.notAction ? !listed : listed;
  const principal = principalMatches(statement.principals, request);
  const conditions = statement.conditions.map((condition) => evaluateCondition(condition, request.context));
  return {
    index,
    label: statement.sid ? `statement ${statement.sid}` : `statement ${index}`,
    statement,
    actionMatches,
    principalMatches: principal,
    conditions,
    applies: actionMatches && principal && conditions.every((verdict) => verdict.met),
  };
}

export type TrustDecision = ({ readonly allowed: true; readonly statement: number } | { readonly allowed: false; readonly reason: string }) & {
  readonly statements: readonly StatementVerdict[];
};

function whyNot(verdict: StatementVerdict, request: TrustRequest): string {
  if (!verdict.actionMatches) return `action ${request.action} not in ${verdict.statement.notAction ? 'what NotAction leaves' : verdict.statement.actions.join(', ')}`;
  if (!verdict.principalMatches) return `principal ${request.principal.ids.join(' / ')} not listed`;
  const failed = verdict.conditions.find((condition) => !condition.met)!;
  return `condition ${failed.condition.source} not met (value: ${failed.contextValues ? failed.contextValues.join(', ') : 'absent'})`;
}

/** IAM evaluation: an applicable Deny wins, otherwise an applicable Allow allows, otherwise deny. */
export function evaluateTrustPolicy(policy: TrustPolicy, request: TrustRequest): TrustDecision {
  const statements = policy.statements.map((statement, index) => evaluateStatement(statement, index, request));
  const denied = statements.find((verdict) => verdict.applies && verdict.statement.effect === 'Deny');
  if (denied) return { allowed: false, reason: `explicitly denied by ${denied.label}`, statements };
  const allowed = statements.find((verdict) => verdict.applies);
  if (allowed) return { allowed: true, statement: allowed.index, statements };
  const reasons = statements.filter((verdict) => verdict.statement.effect === 'Allow').map((verdict) => `${verdict.label}: ${whyNot(verdict, request)}`);
  return { allowed: false, reason: reasons.length > 0 ? `no statement allows it (${reasons.join('; ')})` : 'no Allow statement', statements };
}
