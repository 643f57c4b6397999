import { isJsonObject, type Parsed } from '../../k8s/objects.js';

/**
 * IAM trust policies, as far as the lab's STS actions need them: Effect, Principal (Federated, AWS
 * or "*"), Action (with wildcards) and string conditions. Any other element, and any field this
 * module does not know (a misspelt `Conditions`, say), is refused when the lab config loads, so a
 * policy never silently means less than it says.
 */
export type StringOperator = 'StringEquals' | 'StringNotEquals' | 'StringLike' | 'StringNotLike' | 'StringEqualsIgnoreCase' | 'StringNotEqualsIgnoreCase';

const OPERATORS: readonly StringOperator[] = [
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
];

export interface Condition {
  readonly operator: StringOperator;
  readonly qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  /** Context key, lower-cased (IAM keys are case-insensitive). */
  readonly key: string;
  readonly values: readonly string[];
  /** As written, for logs. */
  readonly source: string;
}

export interface Principals {
  /** `"Principal": "*"`. */
  readonly any: boolean;
  /** OIDC provider ARNs. */
  readonly federated: readonly string[];
  /** IAM ARNs (role, user, assumed-role session or `arn:aws:iam::ACCOUNT:root`), or `*`. */
  readonly aws: readonly string[];
}

export interface Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly principals: Principals;
  readonly actions: readonly string[];
  readonly conditions: readonly Condition[];
}

export interface TrustPolicy {
  readonly statements: readonly Statement[];
}

function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')) {
    throw new Error(`${where} must be a string or a list of strings`);
  }
  return list.map(String);
}

function parseCondition(block: unknown, where: string): Condition[] {
  if (block === undefined) return [];
  if (!isJsonObject(block)) throw new Error(`${where} must be an object`);
  const conditions: Condition[] = [];
  for (const [written, keys] of Object.entries(block)) {
    const match = /^(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?$/.exec(written);
    const operator = match?.[2] as StringOperator | undefined;
    if (!match || !operator || !OPERATORS.includes(operator)) {
      throw new Error(`${where}: unsupported condition operator "${written}" (supported: ${OPERATORS.join(', ')}, with ForAnyValue:/ForAllValues: and IfExists)`);
    }
    if (!isJsonObject(keys)) throw new Error(`${where}.${written} must map condition keys to values`);
    for (const [key, values] of Object.entries(keys)) {
      conditions.push({
        operator,
        qualifier: match[1] as Condition['qualifier'],
        ifExists: match[3] !== undefined,
        key: key.toLowerCase(),
        values: stringList(values, `${where}.${written}.${key}`),
        source: `${written} ${key}`,
      });
    }
  }
  return conditions;
}

function refuseUnknownFields(value: Record<string, unknown>, allowed: readonly string[], where: string, unsupported: readonly string[] = []): void {
  for (const key of Object.keys(value)) {
    if (unsupported.includes(key)) throw new Error(`${where}: ${key} is not supported in a trust policy here`);
    if (!allowed.includes(key)) throw new Error(`${where}: unknown field "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

/** A bare account id in an AWS principal means the account's root. */
function awsPrincipal(value: string): string {
  return /^\d{12}$/.test(value) ? `arn:aws:iam::${value}:root` : value;
}

function parsePrincipal(value: unknown, where: string): Principals {
  if (value === '*') return { any: true, federated: [], aws: [] };
  if (!isJsonObject(value)) {
    throw new Error(`${where} must be "*" or {"Federated": "arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH"} or {"AWS": "arn:..."}`);
  }
  refuseUnknownFields(value, ['Federated', 'AWS'], where);
  if (value.Federated === undefined && value.AWS === undefined) throw new Error(`${where} must name Federated or AWS principals`);
  return {
    any: false,
    federated: value.Federated === undefined ? [] : stringList(value.Federated, `${where}.Federated`),
    aws: value.AWS === undefined ? [] : stringList(value.AWS, `${where}.AWS`).map(awsPrincipal),
  };
}

function parseStatement(value: unknown, where: string): Statement {
  if (!isJsonObject(value)) throw new Error(`${where} must be an object`);
  refuseUnknownFields(value, ['Sid', 'Effect', 'Principal', 'Action', 'Condition'], where, ['NotPrincipal', 'NotAction', 'Resource', 'NotResource']);
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') throw new Error(`${where}.Effect must be Allow or Deny`);
  if (value.Principal === undefined) throw new Error(`${where}.Principal is missing`);
  if (value.Action === undefined) throw new Error(`${where}.Action is missing`);
  return {
    sid: typeof value.Sid === 'string' ? value.Sid : undefined,
    effect: value.Effect,
    principals: parsePrincipal(value.Principal, `${where}.Principal`),
    actions: stringList(value.Action, `${where}.Action`),
    conditions: parseCondition(value.Condition, `${where}.Condition`),
  };
}

/** Parses a trust policy given as an object or as its JSON text. */
export function parseTrustPolicy(document: unknown): Parsed<TrustPolicy> {
  try {
    const value: unknown = typeof document === 'string' ? JSON.parse(document) : document;
    if (!isJsonObject(value)) throw new Error('must be an object');
    refuseUnknownFields(value, ['Version', 'Id', 'Statement'], 'the policy');
    const statements = Array.isArray(value.Statement) ? value.Statement : [value.Statement];
    if (value.Statement === undefined || statements.length === 0) throw new Error('has no Statement');
    return { ok: true, value: { statements: statements.map((statement, index) => parseStatement(statement, `Statement[${index}]`)) } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** IAM wildcards: `*` any run of characters, `?` exactly one. */
function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function matchesOne(operator: StringOperator, policyValue: string, contextValue: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return policyValue === contextValue;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return policyValue.toLowerCase() === contextValue.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return wildcardMatch(policyValue, contextValue);
  }
}

function isNegated(operator: StringOperator): boolean {
  return operator.includes('Not');
}

/** One condition against the request context (key → values; single-valued keys hold one value). */
export function evaluateCondition(condition: Condition, context: ReadonlyMap<string, readonly string[]>): boolean {
  const values = context.get(condition.key);
  const negated = isNegated(condition.operator);
  const matches = (contextValue: string): boolean => condition.values.some((policyValue) => matchesOne(condition.operator, policyValue, contextValue));
  if (values === undefined || values.length === 0) {
    if (condition.qualifier === 'ForAllValues') return true;
    if (condition.qualifier === 'ForAnyValue') return false;
    return negated || condition.ifExists;
  }
  switch (condition.qualifier) {
    case 'ForAnyValue':
      return values.some((value) => (negated ? !matches(value) : matches(value)));
    case 'ForAllValues':
      return values.every((value) => (negated ? !matches(value) : matches(value)));
    default:
      return negated ? !values.some(matches) : values.some(matches);
  }
}

export interface TrustRequest {
  readonly action: string;
  /** Who asks: a federated provider ARN, or the ARNs an AWS caller is known by (role, session, account root). */
  readonly principal: { readonly type: 'Federated' | 'AWS'; readonly ids: readonly string[] };
  readonly context: ReadonlyMap<string, readonly string[]>;
}

function principalMatches(principals: Principals, request: TrustRequest): boolean {
  if (principals.any) return true;
  const listed = request.principal.type === 'Federated' ? principals.federated : principals.aws;
  return listed.some((entry) => (request.principal.type === 'AWS' && entry === '*') || request.principal.ids.includes(entry));
}

export type TrustDecision = { readonly allowed: true; readonly statement: number } | { readonly allowed: false; readonly reason: string };

function statementApplies(statement: Statement, request: TrustRequest): { applies: boolean; why: string } {
  if (!statement.actions.some((action) => wildcardMatch(action, request.action, true))) {
    return { applies: false, why: `action ${request.action} not in ${statement.actions.join(', ')}` };
  }
  if (!principalMatches(statement.principals, request)) {
    return { applies: false, why: `principal ${request.principal.ids.join(' / ')} not listed` };
  }
  const failed = statement.conditions.find((condition) => !evaluateCondition(condition, request.context));
  if (failed) {
    const actual = request.context.get(failed.key);
    return { applies: false, why: `condition ${failed.source} not met (value: ${actual ? actual.join(', ') : 'absent'})` };
  }
  return { applies: true, why: '' };
}

/** IAM evaluation: an applicable Deny wins, otherwise an applicable Allow allows, otherwise deny. */
export function evaluateTrustPolicy(policy: TrustPolicy, request: TrustRequest): TrustDecision {
  const reasons: string[] = [];
  let allowedBy: number | undefined;
  for (const [index, statement] of policy.statements.entries()) {
    const { applies, why } = statementApplies(statement, request);
    const label = statement.sid ? `statement ${statement.sid}` : `statement ${index}`;
    if (applies && statement.effect === 'Deny') return { allowed: false, reason: `explicitly denied by ${label}` };
    if (applies) allowedBy ??= index;
    else if (statement.effect === 'Allow') reasons.push(`${label}: ${why}`);
  }
  if (allowedBy !== undefined) return { allowed: true, statement: allowedBy };
  return { allowed: false, reason: reasons.length > 0 ? `no statement allows it (${reasons.join('; ')})` : 'no Allow statement' };
}
