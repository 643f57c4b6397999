import { isIP } from 'node:net';
import { canonicalize, parseRoleArn, parseUserArn } from '../../shared/aws/arn.js';
import { readDate, readNumber } from '../../shared/aws/iam-conditions.js';
import { evaluatePermissions, type MatchedStatement, type NamedPolicy, type PermissionDecision, parsePermissionPolicy, type PolicySet } from '../../shared/aws/iam-permissions.js';
import type { SignatureClaims, SignedRequest } from '../../shared/aws/sigv4.js';
import type { LabConfig, LabRole } from './config.js';
import { StsError } from './errors.js';
import { authorizeSession } from './permissions.js';
import type { XmlTree, XmlValue } from './responses.js';
import type { Session } from './sessions.js';

/**
 * The lab's IAM Query API, on the STS port: `SimulatePrincipalPolicy` (IAM API reference), evaluated
 * by the shared IAM evaluator with the lab config's role policies and boundaries. Like AWS's
 * simulator it does not narrow by session policies; unlike it, it takes no resource policies.
 */
export const IAM_VERSION = '2010-05-08';

/** The simulator's input limits (IAM API reference, SimulatePrincipalPolicy). */
const MAX_POLICY_INPUT_CHARS = 131072;
const MAX_LIST_MEMBERS = 1000;
/** Action × resource pairs one request may ask for: each is a full evaluation. */
const MAX_PAIRS = 1000;
const DEFAULT_MAX_ITEMS = 100;
const ACTION_NAME = /^[A-Za-z0-9-]+:[A-Za-z0-9]+$/;
const CONTEXT_TYPES = ['string', 'numeric', 'boolean', 'ip', 'binary', 'date'] as const;
type ContextType = (typeof CONTEXT_TYPES)[number];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface LabIamOptions {
  readonly config: LabConfig;
  readonly now: () => Date;
  /** The session of a request signed for `service`, as the STS verifies it. */
  readonly authenticate: (request: SignedRequest, service: 'iam') => { session: Session; claims: SignatureClaims };
}

const invalidInput = (message: string): StsError => new StsError('InvalidInput', message);

/** `NAME.member.1`, `NAME.member.2`… of the Query protocol, in order; refused past `max` members. */
function memberList(params: ReadonlyMap<string, string>, name: string, max = MAX_LIST_MEMBERS): string[] {
  const values: string[] = [];
  for (let index = 1; params.has(`${name}.member.${index}`); index += 1) {
    if (index > max) throw invalidInput(`${name} has more than ${max} members`);
    values.push(params.get(`${name}.member.${index}`)!);
  }
  return values;
}

function checkContextValue(type: ContextType, value: string, key: string): void {
  const readable =
    type === 'numeric' ? readNumber(value) !== undefined
    : type === 'date' ? readDate(value) !== undefined
    : type === 'boolean' ? value === 'true' || value === 'false'
    : type === 'ip' ? isIP(value) !== 0
    : type === 'binary' ? BASE64.test(value)
    : true;
  if (!readable) throw invalidInput(`ContextKeyValues of ${key.slice(0, 256)}: "${value.slice(0, 100)}" is not a ${type} value`);
}

/** `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}` → the request context. */
function contextEntries(params: ReadonlyMap<string, string>): Map<string, string[]> {
  const context = new Map<string, string[]>();
  for (let index = 1; params.has(`ContextEntries.member.${index}.ContextKeyName`) || params.has(`ContextEntries.member.${index}.ContextKeyType`); index += 1) {
    if (index > MAX_LIST_MEMBERS) throw invalidInput(`ContextEntries has more than ${MAX_LIST_MEMBERS} members`);
    const prefix = `ContextEntries.member.${index}`;
    const name = params.get(`${prefix}.ContextKeyName`) ?? '';
    if (name.length < 5 || name.length > 256) throw invalidInput(`${prefix}.ContextKeyName must be 5 to 256 characters`);
    const rawType = params.get(`${prefix}.ContextKeyType`) ?? '';
    const list = rawType.endsWith('List');
    const type = (list ? rawType.slice(0, -4) : rawType) as ContextType;
    if (!CONTEXT_TYPES.includes(type)) throw invalidInput(`${prefix}.ContextKeyType "${rawType.slice(0, 40)}" must be one of ${CONTEXT_TYPES.flatMap((known) => [known, `${known}List`]).join(', ')}`);
    const values = memberList(params, `${prefix}.ContextKeyValues`);
    if (values.length === 0) throw invalidInput(`${prefix}.ContextKeyValues must have at least one value`);
    if (!list && values.length > 1) throw invalidInput(`${prefix}: a ${type} key takes one value; use ${type}List for several`);
    for (const value of values) checkContextValue(type, value, name);
    const key = name.toLowerCase();
    if (context.has(key)) throw invalidInput(`the context key ${name.slice(0, 256)} is given twice`);
    context.set(key, values);
  }
  return context;
}

function inputPolicies(params: ReadonlyMap<string, string>, name: string): NamedPolicy[] {
  return memberList(params, name, 100).map((text, index) => {
    const id = `${name}.${index + 1}`;
    if (text.length > MAX_POLICY_INPUT_CHARS) throw invalidInput(`${id} is longer than ${MAX_POLICY_INPUT_CHARS} characters`);
    const parsed = parsePermissionPolicy(text, { maxChars: MAX_POLICY_INPUT_CHARS });
    if (!parsed.ok) throw new StsError('MalformedPolicyDocument', `${id}: ${parsed.error}`);
    return { id, policy: parsed.value };
  });
}

/** The SourcePolicyType the simulator reports for each of the lab's policies. */
function sourcePolicyType(statement: MatchedStatement, inputs: ReadonlySet<string>): string {
  if (inputs.has(statement.policyId)) return 'IAM Policy';
  return statement.policyType === 'boundary' ? 'user-managed' : 'role';
}

function matchedStatements(decision: PermissionDecision, inputs: ReadonlySet<string>): XmlValue[] {
  return decision.matchedStatements.map((statement) => ({
    SourcePolicyId: statement.policyId,
    SourcePolicyType: sourcePolicyType(statement, inputs),
    ...(statement.span
      ? {
          StartPosition: { Line: String(statement.span.start.line), Column: String(statement.span.start.column) },
          EndPosition: { Line: String(statement.span.end.line), Column: String(statement.span.end.column) },
        }
      : {}),
  }));
}

export class LabIam {
  constructor(private readonly options: LabIamOptions) {}

  handle(action: string, params: ReadonlyMap<string, string>, request: SignedRequest): { result: XmlTree; details: Record<string, string> } {
    switch (action) {
      case 'SimulatePrincipalPolicy':
        return this.simulatePrincipalPolicy(params, request);
      default:
        throw new StsError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${IAM_VERSION} (the lab's IAM implements SimulatePrincipalPolicy)`);
    }
  }

  /** The role a PolicySourceArn names: a lab role, or an assumed-role session's role; NoSuchEntity otherwise. */
  private sourceRole(arn: string): LabRole {
    const role = this.options.config.roles.get(arn);
    if (role) return role;
    const identity = canonicalize(arn);
    const named = identity ? parseRoleArn(identity.canonicalArn) : parseRoleArn(arn);
    if (named) {
      for (const candidate of this.options.config.roles.values()) {
        if (candidate.partition === named.partition && candidate.account === named.account && candidate.name === named.name && (identity?.sessionName !== undefined || candidate.arn === arn)) return candidate;
      }
      throw new StsError('NoSuchEntity', `The role with name ${named.name} cannot be found.`);
    }
    const user = parseUserArn(arn);
    if (user) throw new StsError('NoSuchEntity', `The user with name ${user.name} cannot be found.`);
    if (/^arn:aws[\w-]*:iam::\d{12}:group\//.test(arn)) throw new StsError('NoSuchEntity', `The group ${arn.split('/').pop()!.slice(0, 128)} cannot be found.`);
    throw invalidInput(`Invalid ARN ${arn.slice(0, 2048)}: PolicySourceArn must be the ARN of a user, group or role (or an assumed-role session)`);
  }

  simulatePrincipalPolicy(params: ReadonlyMap<string, string>, request: SignedRequest): { result: XmlTree; details: Record<string, string> } {
    const { session, claims } = this.options.authenticate(request, 'iam');
    const sourceArn = params.get('PolicySourceArn');
    if (!sourceArn || sourceArn.length < 20 || sourceArn.length > 2048) throw invalidInput('PolicySourceArn is required: the ARN of a role (20 to 2048 characters)');
    for (const unsupported of ['ResourcePolicy', 'ResourceOwner', 'ResourceHandlingOption']) {
      if (params.has(unsupported)) throw invalidInput(`${unsupported} is not supported by the lab's IAM: it evaluates identity policies and permissions boundaries only`);
    }
    const callerArn = params.get('CallerArn');
    // AWS takes only an IAM user's ARN as CallerArn; it names the caller of resource policies, which the lab does not take.
    if (callerArn !== undefined && !parseUserArn(callerArn)) throw invalidInput('CallerArn must be the ARN of an IAM user');
    // Authorization comes before the lookup, as in AWS: a caller not allowed learns nothing of the roles.
    authorizeSession(this.options.config, session, { action: 'iam:SimulatePrincipalPolicy', resource: sourceArn, region: claims.region }, this.options.now());
    const role = this.sourceRole(sourceArn);

    const actions = memberList(params, 'ActionNames');
    if (actions.length === 0) throw invalidInput('ActionNames must list at least one action');
    const badAction = actions.find((action) => action.length < 3 || action.length > 128 || !ACTION_NAME.test(action));
    if (badAction !== undefined) throw invalidInput(`Action ${badAction.slice(0, 128)} is not a valid action name (service:Action)`);
    const resources = memberList(params, 'ResourceArns');
    const badResource = resources.find((resource) => resource.length < 1 || resource.length > 2048 || (resource !== '*' && !resource.startsWith('arn:')));
    if (badResource !== undefined) throw invalidInput(`Resource ${badResource.slice(0, 2048)} must be an ARN or *`);
    const pairs = actions.length * Math.max(resources.length, 1);
    if (pairs > MAX_PAIRS) throw invalidInput(`${actions.length} actions on ${resources.length} resources are ${pairs} evaluations, more than the lab's ${MAX_PAIRS}`);
    const extra = inputPolicies(params, 'PolicyInputList');
    const boundaries = inputPolicies(params, 'PermissionsBoundaryPolicyInputList');
    if (boundaries.length > 1) throw invalidInput('PermissionsBoundaryPolicyInputList takes one permissions boundary');
    const context = contextEntries(params);
    const maxItems = params.get('MaxItems') === undefined ? DEFAULT_MAX_ITEMS : Number(params.get('MaxItems'));
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) throw invalidInput('MaxItems must be a whole number from 1 to 1000');
    const marker = params.get('Marker');
    const start = marker === undefined ? 0 : /^\d{1,4}$/.test(marker) ? Number(marker) : -1;
    if (start < 0 || start > pairs) throw invalidInput('Marker is not one this simulator returned');

    // An input boundary replaces the role's, as in AWS's simulator; session policies never narrow a simulation.
    const boundary = boundaries[0] ?? (role.permissionsBoundary ? { id: 'permissions-boundary', policy: role.permissionsBoundary } : undefined);
    const set: PolicySet = { identityPolicies: [...(role.policies ?? []), ...extra], ...(boundary ? { boundary } : {}) };
    const inputs = new Set([...extra, ...boundaries].map((policy) => policy.id));
    const asked = resources.length === 0 ? ['*'] : resources;
    const results: XmlValue[] = [];
    for (let index = start; index < Math.min(pairs, start + maxItems); index += 1) {
      const action = actions[Math.floor(index / asked.length)]!;
      const resource = asked[index % asked.length]!;
      const decision = evaluatePermissions(set, { action, resource, context });
      const boundaryDetail = set.boundary ? { PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: String(decision.boundary?.decision === 'allowed') } } : {};
      results.push({
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: decision.decision,
        MatchedStatements: matchedStatements(decision, inputs),
        MissingContextValues: [...decision.missingContextValues],
        ...boundaryDetail,
        ...(resources.length > 1
          ? {
              ResourceSpecificResults: [
                {
                  EvalResourceName: resource,
                  EvalResourceDecision: decision.decision,
                  MatchedStatements: matchedStatements(decision, inputs),
                  MissingContextValues: [...decision.missingContextValues],
                  ...boundaryDetail,
                },
              ],
            }
          : {}),
      });
    }
    const next = start + maxItems;
    return {
      result: { EvaluationResults: results, IsTruncated: String(next < pairs), ...(next < pairs ? { Marker: String(next) } : {}) },
      details: { caller: session.arn, policySource: role.arn, evaluations: String(results.length) },
    };
  }
}
