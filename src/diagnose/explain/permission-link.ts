import { parseRoleArn } from '../../shared/aws/arn.js';
import {
  evaluatePermissions,
  type LayerVerdict,
  type NamedPolicy,
  type PermissionDecision,
  type PermissionPolicy,
  type PermissionStatementVerdict,
  parsePermissionPolicy,
  type PolicyVerdict,
} from '../../shared/aws/iam-permissions.js';
import { podIdentityTags } from '../../shared/aws/trust-requests.js';
import type { InjectionPlan } from '../../webhook/engine/mutate.js';
import type { Link, PermissionAnswer } from '../report.js';
import type { ExplainCodeName } from './codes.js';
import { brokenLink } from './identity-links.js';
import type { ExplainInput, PermissionQuery, RolePermissions } from './input.js';

/**
 * What the pod's credentials may do: one call (`--action`, `--resource`) judged by the shared IAM
 * evaluator against the policies of the role the credentials are for: its identity policies ∩ its
 * permissions boundary ∩ the session policy the session carries (IAM user guide, "Policy evaluation
 * logic"). For Pod Identity that is the association's `policy`; with a target role, the target
 * role's policies and boundary, and the session policy, which EKS applies to the target role's
 * session only (EKS API, CreatePodIdentityAssociation). IRSA sessions carry none. IAM's policy
 * simulator takes no session policies, so this is where they are answered. Pure.
 */
const NAME = 'permission';

/** The role's identity policies when they are not known: the lab's stand-in (it allows what the role's sessions ask). */
const NOT_MODELLED: NamedPolicy = {
  id: 'identity-policies-not-known',
  policy: (parsePermissionPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) as { ok: true; value: PermissionPolicy }).value,
};

interface Credentials {
  /** The role the credentials are for; undefined when the association is not known (policies from files). */
  readonly roleArn: string | undefined;
  readonly lines: readonly string[];
  readonly sessionPolicy: NamedPolicy | undefined;
  /** The session's principal tags (Pod Identity's six, as far as they are known). */
  readonly tags: ReadonlyMap<string, string>;
}

function podIdentityCredentials(input: ExplainInput, query: PermissionQuery): Credentials {
  const facts = input.podIdentity;
  const cluster = facts?.cluster;
  const serviceAccount = input.podView.serviceAccountName;
  const association = facts?.associations?.find(
    (candidate) => candidate.namespace === input.namespace && candidate.serviceAccount === serviceAccount && (cluster === undefined || candidate.cluster === cluster.name),
  );
  const uid = (input.pod.metadata as { uid?: unknown } | undefined)?.uid;
  const tags = new Map<string, string>();
  if (association?.disableSessionTags !== true) {
    const all = podIdentityTags({
      clusterArn: cluster?.arn ?? '',
      clusterName: cluster?.name ?? '',
      namespace: input.namespace,
      serviceAccount,
      podName: typeof input.podView.name === 'string' ? input.podView.name : '',
      podUid: typeof uid === 'string' ? uid : '',
    });
    // Values explain does not know stay out of the context: a policy testing them is reported as missing a key.
    for (const tag of all) if (tag.value !== '') tags.set(tag.key, tag.value);
  }
  if (association === undefined) {
    const sessionPolicy = query.policies?.kind === 'files' ? query.policies.sessionPolicy : undefined;
    return {
      roleArn: undefined,
      lines: [`the pod's credentials: an EKS Pod Identity session of the associated role (not known here: the policies given are taken as its)${sessionPolicy ? `, with the session policy ${sessionPolicy.id}` : ''}`],
      sessionPolicy,
      tags,
    };
  }
  const target = association.targetRoleArn;
  const policyLine = association.sessionPolicy
    ? `the association's session policy limits ${target ? 'the target role only' : 'the session'}`
    : 'the association has no session policy';
  return {
    roleArn: target ?? association.roleArn,
    lines: [
      target
        ? `the pod's credentials: a session of the target role ${target}, chained from ${association.roleArn} (EKS Pod Identity); ${policyLine}`
        : `the pod's credentials: an EKS Pod Identity session of ${association.roleArn}; ${policyLine}`,
    ],
    sessionPolicy: association.sessionPolicy,
    tags,
  };
}

function credentialsOf(input: ExplainInput, plan: InjectionPlan, query: PermissionQuery): Credentials {
  if (plan.mode === 'pod-identity') return podIdentityCredentials(input, query);
  const ignored = query.policies?.kind === 'files' ? query.policies.sessionPolicy : undefined;
  return {
    roleArn: plan.roleArn,
    lines: [
      `the pod's credentials: an IRSA session of ${plan.roleArn ?? 'the annotated role'} (AssumeRoleWithWebIdentity from the SDK's default chain, which passes no session policy)`,
      ...(ignored ? [`the session policy ${ignored.id} is not applied: IRSA sessions carry none`] : []),
    ],
    sessionPolicy: undefined,
    tags: new Map(),
  };
}

function permissionsOf(query: PermissionQuery, roleArn: string | undefined): { role: RolePermissions; source: string } | string {
  const policies = query.policies;
  if (policies === undefined) return 'no permission policies given (--identity-policy, --permissions-boundary, --session-policy, or --lab-config with role policies)';
  if (policies.kind === 'files') return { role: policies.role, source: policies.source };
  if (roleArn === undefined) return 'the role the credentials are for is not known';
  const role = policies.roles.get(roleArn);
  return role === undefined ? `role ${roleArn} is not among the roles of ${policies.source}` : { role, source: policies.source };
}

/** The request context explain knows for a role session: who calls, and its session tags. */
function contextOf(credentials: Credentials): Map<string, string[]> {
  const context = new Map<string, string[]>([['aws:principaltype', ['AssumedRole']]]);
  const role = credentials.roleArn === undefined ? undefined : parseRoleArn(credentials.roleArn);
  if (role !== undefined && credentials.roleArn !== undefined) {
    context.set('aws:principalarn', [credentials.roleArn]);
    context.set('aws:principalaccount', [role.account]);
  }
  for (const [key, value] of credentials.tags) context.set(`aws:principaltag/${key}`, [value]);
  return context;
}

const TYPE_NAMES = { identity: 'identity policy', boundary: 'permissions boundary', session: 'session policy' } as const;

/** `withLines`: the policies are files the user gave, so a statement's line is one they can open. */
function statementLine(policy: PolicyVerdict, verdict: PermissionStatementVerdict, withLines: boolean): string[] {
  const { statement } = verdict;
  const where = withLines && statement.span ? ` (line ${statement.span.start.line})` : '';
  const what = !verdict.actionMatches
    ? `the action is not in ${statement.notAction ? 'what NotAction leaves' : statement.actions.join(', ')}`
    : verdict.resourceMatches ? `action and resource match${statement.conditions.length === 0 ? ', no conditions' : ''}`
    : `the resource is not in ${statement.notResource ? 'what NotResource leaves' : statement.resources.map((value) => value.written).join(', ')}`;
  const lines = [`${TYPE_NAMES[policy.type]} ${policy.id} ${verdict.label}${where} (${statement.effect}): ${what}: ${verdict.applies ? 'applies' : 'does not apply'}`];
  if (!verdict.actionMatches) return lines;
  for (const condition of verdict.conditions) {
    const values = condition.contextValues === undefined || condition.contextValues.length === 0 ? 'absent' : condition.contextValues.join(', ');
    lines.push(`  ${condition.condition.source} [${condition.condition.values.map((value) => value.written).join(', ')}] with ${values}: ${condition.met ? 'met' : `not met${condition.why ? ` (${condition.why})` : ''}`}`);
  }
  return lines;
}

function layerLine(name: string, layer: LayerVerdict | undefined): string | undefined {
  if (layer === undefined) return undefined;
  const by = (statements: LayerVerdict['allows']): string => statements.map((statement) => `${statement.policyId} ${statement.sid ? `statement ${statement.sid}` : `statement ${statement.index}`}`).join(', ');
  if (layer.decision === 'explicitDeny') return `${name}: explicitly deny (${by(layer.denies)})`;
  if (layer.decision === 'allowed') return `${name}: allow (${by(layer.allows)})`;
  return `${name}: no statement allows it`;
}

function codeOf(decision: PermissionDecision): ExplainCodeName | undefined {
  if (decision.decision === 'explicitDeny') return 'PERMISSION_EXPLICIT_DENY';
  if (decision.decision === 'allowed') return undefined;
  if (decision.identity.decision !== 'allowed') return 'PERMISSION_NOT_GRANTED';
  if (decision.boundary && decision.boundary.decision !== 'allowed') return 'PERMISSION_BOUNDARY_LIMITS';
  return 'PERMISSION_SESSION_POLICY_LIMITS';
}

function answerOf(query: PermissionQuery, roleArn: string | undefined, decision: PermissionDecision): PermissionAnswer {
  return {
    action: query.action,
    resource: query.resource,
    roleArn,
    decision: decision.decision,
    matchedStatements: decision.matchedStatements.map(({ policyId, policyType, index, sid, effect }) => ({ policyId, policyType, index, ...(sid ? { sid } : {}), effect })),
    missingContextValues: decision.missingContextValues,
  };
}

/** The permission the pod's credentials have for the asked call (see the module comment). */
export function permissionLink(input: ExplainInput, plan: InjectionPlan, query: PermissionQuery): Link {
  const credentials = credentialsOf(input, plan, query);
  const call = `call: ${query.action} on ${query.resource}`;
  const found = permissionsOf(query, credentials.roleArn);
  if (typeof found === 'string') return { name: NAME, status: 'not-checked', detail: [...credentials.lines, call, found] };
  const identityPolicies = found.role.identityPolicies ?? [NOT_MODELLED];
  const boundary = found.role.boundary;
  const decision = evaluatePermissions(
    { identityPolicies, ...(boundary ? { boundary } : {}), ...(credentials.sessionPolicy ? { sessionPolicies: [credentials.sessionPolicy] } : {}) },
    { action: query.action, resource: query.resource, context: contextOf(credentials) },
  );
  const detail = [
    ...credentials.lines,
    call,
    `policies${query.policies?.kind === 'roles' ? ` (${found.source})` : ''}: identity ${found.role.identityPolicies === undefined ? 'not known (taken to allow everything, as the lab does)' : identityPolicies.map((policy) => policy.id).join(', ') || 'none'}; ` +
      `boundary ${boundary?.id ?? 'none'}; session policy ${credentials.sessionPolicy?.id ?? 'none'}`,
  ];
  // The statements for this action, and every Allow of a kind of policy that allows nothing here (why not).
  const short = new Set([decision.identity, decision.boundary, decision.session].filter((layer) => layer !== undefined && layer.decision !== 'allowed'));
  const layerOf = (policy: PolicyVerdict): LayerVerdict | undefined => (policy.type === 'identity' ? decision.identity : policy.type === 'boundary' ? decision.boundary : decision.session);
  for (const policy of decision.policies) {
    if (policy.id === NOT_MODELLED.id) continue;
    const layer = layerOf(policy);
    for (const verdict of policy.statements) {
      if (verdict.actionMatches || (layer !== undefined && short.has(layer) && verdict.statement.effect === 'Allow')) detail.push(...statementLine(policy, verdict, query.policies?.kind === 'files'));
    }
  }
  for (const line of [layerLine('identity policies', decision.identity), layerLine('permissions boundary', decision.boundary), layerLine('session policy', decision.session)]) {
    if (line !== undefined) detail.push(line);
  }
  if (decision.missingContextValues.length > 0) detail.push(`context keys the statements test that explain does not know: ${decision.missingContextValues.join(', ')} (the answer may differ when the call carries them)`);
  detail.push(`decision ${decision.decision}: ${decision.reason.replace(/^implicitly denied: /, '')}`);
  const code = codeOf(decision);
  const answer = answerOf(query, credentials.roleArn, decision);
  if (code !== undefined) return { ...brokenLink(NAME, code, detail), permission: answer };
  const unsure = found.role.identityPolicies === undefined || decision.missingContextValues.length > 0;
  return { name: NAME, status: unsure ? 'warning' : 'ok', detail, permission: answer };
}
