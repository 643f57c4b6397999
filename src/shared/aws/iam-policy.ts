import { isJsonObject } from '../json.js';
import type { Parsed } from '../result.js';
import { parseJsonText } from '../yaml.js';
import { isAccountId } from './arn.js';
import { matchesParts, type PatternPart, wildcardParts } from './wildcard.js';

/**
 * IAM trust policies, as far as the lab's STS actions need them: Version, Statement (Sid, Effect,
 * Principal, Action or NotAction, Condition). What this module does not implement is refused when
 * the lab config loads, never ignored: other elements, misspelt fields, unknown operators,
 * condition keys the lab never puts in a request, and policy variables it cannot substitute. A
 * policy therefore never silently means less than it says (a Deny on a key that is never filled
 * would never apply).
 */
export type StringOperator = 'StringEquals' | 'StringNotEquals' | 'StringLike' | 'StringNotLike' | 'StringEqualsIgnoreCase' | 'StringNotEqualsIgnoreCase';
export type ArnOperator = 'ArnEquals' | 'ArnLike' | 'ArnNotEquals' | 'ArnNotLike';
export type ConditionOperator = StringOperator | ArnOperator | 'Null';

const OPERATORS: readonly ConditionOperator[] = [
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
];

export const POLICY_VERSIONS = ['2012-10-17', '2008-10-17'] as const;
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

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

/** A policy value: plain text, or (Version 2012-10-17) text with `${key}` variables to substitute. */
export type ValuePart = PatternPart | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

export interface PolicyValue {
  /** As written, for messages. */
  readonly written: string;
  readonly parts: readonly ValuePart[];
}

export interface Condition {
  readonly operator: ConditionOperator;
  readonly qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  /** Context key, lower-cased (IAM keys are case-insensitive). */
  readonly key: string;
  readonly values: readonly PolicyValue[];
  /** As written (`StringEquals oidc.example.com:sub`), for messages. */
  readonly source: string;
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

function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')) {
    throw new Error(`${where} must be a string or a non-empty list of strings`);
  }
  return list.map(String);
}

/** Splits a value into text, wildcards (when `wildcards`) and `${…}` variables (when `variables`). */
function parseValue(written: string, where: string, options: { readonly wildcards: boolean; readonly variables: boolean }): PolicyValue {
  const text = (literal: string): PatternPart[] => (options.wildcards ? wildcardParts(literal) : literal === '' ? [] : [{ kind: 'text', text: literal }]);
  if (!options.variables || !written.includes('${')) return { written, parts: text(written) };
  const parts: ValuePart[] = [];
  let from = 0;
  for (;;) {
    const open = written.indexOf('${', from);
    if (open < 0) break;
    const close = written.indexOf('}', open + 2);
    if (close < 0) throw new Error(`${where}: "${written.slice(0, 100)}" has an unclosed \${`);
    parts.push(...text(written.slice(from, open)));
    const inner = written.slice(open + 2, close).trim();
    if (inner === '*' || inner === '?' || inner === '$') {
      // ${*}, ${?} and ${$} stand for the characters themselves, never for wildcards.
      parts.push({ kind: 'text', text: inner });
    } else {
      const comma = inner.indexOf(',');
      const key = (comma < 0 ? inner : inner.slice(0, comma)).trim();
      const rawFallback = comma < 0 ? undefined : inner.slice(comma + 1).trim();
      if (rawFallback !== undefined && !/^'[^']*'$/.test(rawFallback)) {
        throw new Error(`${where}: the default of \${${key}} must be a quoted string, as in \${${key}, 'value'}`);
      }
      const problem = unsupportedKey(key);
      if (problem) throw new Error(`${where}: policy variable \${${key.slice(0, 100)}}: ${problem}`);
      parts.push({ kind: 'variable', key: key.toLowerCase(), fallback: rawFallback?.slice(1, -1) });
    }
    from = close + 1;
  }
  parts.push(...text(written.slice(from)));
  return { written, parts };
}

function parseCondition(block: unknown, where: string, version: PolicyVersion): Condition[] {
  if (block === undefined) return [];
  if (!isJsonObject(block)) throw new Error(`${where} must be an object`);
  const conditions: Condition[] = [];
  for (const [written, keys] of Object.entries(block)) {
    const match = /^(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?$/.exec(written);
    const operator = match?.[2] as ConditionOperator | undefined;
    if (!match || !operator || !OPERATORS.includes(operator) || (operator === 'Null' && (match[1] || match[3]))) {
      throw new Error(`${where}: unsupported condition operator "${written.slice(0, 100)}" (supported: ${OPERATORS.join(', ')}, with ForAnyValue:/ForAllValues: and IfExists)`);
    }
    if (!isJsonObject(keys)) throw new Error(`${where}.${written} must map condition keys to values`);
    const seen = new Map<string, string>();
    for (const [key, values] of Object.entries(keys)) {
      const at = `${where}.${written}.${key}`;
      const problem = unsupportedKey(key);
      if (problem) throw new Error(`${at}: ${problem}`);
      const lower = key.toLowerCase();
      // Key names are case-insensitive: "x:sub" and "x:SUB" in one block are the same key twice.
      if (seen.has(lower)) throw new Error(`${where}.${written}: the condition key ${key} appears twice (as ${seen.get(lower)} too)`);
      seen.set(lower, key);
      const listed = stringList(values, at);
      if (operator === 'Null' && !listed.every((value) => value === 'true' || value === 'false')) throw new Error(`${at}: Null takes "true" or "false"`);
      const wildcards = operator.endsWith('Like') || operator.startsWith('Arn');
      conditions.push({
        operator,
        qualifier: match[1] as Condition['qualifier'],
        ifExists: match[3] !== undefined,
        key: lower,
        values: listed.map((value) => parseValue(value, at, { wildcards, variables: version === '2012-10-17' && operator !== 'Null' })),
        source: `${written} ${key}`,
      });
    }
  }
  return conditions;
}

function refuseUnknownFields(value: Record<string, unknown>, allowed: readonly string[], where: string, unsupported: readonly string[] = []): void {
  for (const key of Object.keys(value)) {
    if (unsupported.includes(key)) throw new Error(`${where}: ${key} is not supported in a trust policy here`);
    if (!allowed.includes(key)) throw new Error(`${where}: unknown field "${key.slice(0, 100)}" (allowed: ${allowed.join(', ')})`);
  }
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
    conditions: parseCondition(value.Condition, `${where}.Condition`, version),
  };
}

/** Parses a trust policy given as an object or as its JSON text (repeated keys refused, with their path). */
export function parseTrustPolicy(document: unknown): Parsed<TrustPolicy> {
  try {
    let value: unknown = document;
    if (typeof document === 'string') {
      const parsed = parseJsonText(document);
      if (!parsed.ok) return parsed;
      value = parsed.value;
    }
    if (!isJsonObject(value)) throw new Error('must be an object');
    refuseUnknownFields(value, ['Version', 'Id', 'Statement'], 'the policy');
    const version = value.Version ?? '2008-10-17';
    if (!POLICY_VERSIONS.includes(version as PolicyVersion)) {
      throw new Error(`Version must be ${POLICY_VERSIONS.join(' or ')}, got ${JSON.stringify(version).slice(0, 40)}`);
    }
    const statements = Array.isArray(value.Statement) ? value.Statement : [value.Statement];
    if (value.Statement === undefined || statements.length === 0) throw new Error('has no Statement');
    const parsed = statements.map((statement, index) => parseStatement(statement, `Statement[${index}]`, version as PolicyVersion));
    const sids = parsed.flatMap((statement) => (statement.sid ? [statement.sid] : []));
    const repeated = sids.find((sid, index) => sids.indexOf(sid) !== index);
    if (repeated !== undefined) throw new Error(`the Sid ${repeated} is used by two statements`);
    return { ok: true, value: { version: version as PolicyVersion, statements: parsed } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

export type RequestContext = ReadonlyMap<string, readonly string[]>;

/** The value's parts with its variables replaced by the request's values; undefined when one has none. */
function resolve(value: PolicyValue, context: RequestContext): PatternPart[] | undefined {
  const parts: PatternPart[] = [];
  for (const part of value.parts) {
    if (part.kind !== 'variable') {
      parts.push(part);
      continue;
    }
    const values = context.get(part.key);
    // Only a single-valued key can stand in a value; a multi-valued or absent one without a default cannot.
    const text = values?.length === 1 ? values[0]! : part.fallback;
    if (text === undefined) return undefined;
    parts.push({ kind: 'text', text });
  }
  return parts;
}

/** IAM compares ARNs component by component (partition, service, region, account, resource). */
function arnComponents(text: string): string[] | undefined {
  const components: string[] = [];
  let from = 0;
  for (let index = 0; index < 5; index += 1) {
    const colon = text.indexOf(':', from);
    if (colon < 0) return undefined;
    components.push(text.slice(from, colon));
    from = colon + 1;
  }
  components.push(text.slice(from));
  return components[0] === 'arn' ? components : undefined;
}

function splitParts(parts: readonly PatternPart[]): PatternPart[][] | undefined {
  const components: PatternPart[][] = [[]];
  for (const part of parts) {
    if (part.kind !== 'text') {
      components[components.length - 1]!.push(part);
      continue;
    }
    const pieces = part.text.split(':');
    pieces.forEach((piece, index) => {
      if (index > 0) {
        if (components.length === 6) components[5]!.push({ kind: 'text', text: ':' });
        else components.push([]);
      }
      if (piece !== '') components[components.length - 1]!.push({ kind: 'text', text: piece });
    });
  }
  return components.length === 6 ? components : undefined;
}

function arnMatches(parts: readonly PatternPart[], value: string): boolean {
  const actual = arnComponents(value);
  const wanted = splitParts(parts);
  if (!actual || !wanted) return matchesParts(parts, value);
  return wanted.every((component, index) => matchesParts(component, actual[index]!));
}

function matchesOne(operator: ConditionOperator, parts: readonly PatternPart[], contextValue: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'StringLike':
    case 'StringNotLike':
      return matchesParts(parts, contextValue);
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return matchesParts(parts, contextValue, true);
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return arnMatches(parts, contextValue);
    case 'Null':
      return false;
  }
}

export interface ConditionVerdict {
  readonly condition: Condition;
  /** What the request carried for the key (undefined: absent). */
  readonly contextValues: readonly string[] | undefined;
  readonly met: boolean;
  /** Why it is not met, in words, when it is not. */
  readonly why: string | undefined;
}

/** One condition against the request context (key → values; single-valued keys hold one value). */
export function evaluateCondition(condition: Condition, context: RequestContext): ConditionVerdict {
  const values = context.get(condition.key);
  const absent = values === undefined || values.length === 0;
  const verdict = (met: boolean, why: string): ConditionVerdict => ({ condition, contextValues: values, met, why: met ? undefined : why });
  if (condition.operator === 'Null') {
    const wantsAbsent = condition.values.some((value) => value.written === 'true');
    const wantsPresent = condition.values.some((value) => value.written === 'false');
    return verdict((absent && wantsAbsent) || (!absent && wantsPresent), absent ? 'the key is absent' : 'the key is present');
  }
  const resolved = condition.values.map((value) => resolve(value, context));
  if (resolved.includes(undefined)) return verdict(false, 'a policy variable has no value in this request');
  const patterns = resolved as PatternPart[][];
  const negated = condition.operator.includes('Not');
  const matches = (contextValue: string): boolean => patterns.some((parts) => matchesOne(condition.operator, parts, contextValue));
  if (absent) {
    if (condition.qualifier === 'ForAllValues') return verdict(true, '');
    if (condition.qualifier === 'ForAnyValue') return verdict(false, 'the key is absent');
    return verdict(negated || condition.ifExists, 'the key is absent');
  }
  let met: boolean;
  switch (condition.qualifier) {
    case 'ForAnyValue':
      met = values.some((value) => (negated ? !matches(value) : matches(value)));
      break;
    case 'ForAllValues':
      met = values.every((value) => (negated ? !matches(value) : matches(value)));
      break;
    default:
      met = negated ? !values.some(matches) : values.some(matches);
  }
  return verdict(met, negated ? 'the value matches' : 'the value does not match');
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
