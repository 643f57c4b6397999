import { parseRoleArn } from '../../shared/aws/arn.js';
import { type ConditionVerdict, evaluateTrustPolicy, type StatementVerdict, type TrustDecision, type TrustPolicy, type TrustRequest } from '../../shared/aws/iam-policy.js';
import { oidcProviderArn, oidcProviderId, PODS_SERVICE_PRINCIPAL, podIdentityTags, serviceRequests, webIdentityRequest } from '../../shared/aws/trust-requests.js';
import type { InjectionPlan } from '../../webhook/engine/mutate.js';
import type { Link } from '../report.js';
import type { ExplainCodeName } from './codes.js';
import { brokenLink } from './identity-links.js';
import type { ExplainInput } from './input.js';
import type { TokenFacts } from './token-link.js';

const NAME = 'trust policy';

function policyFor(input: ExplainInput, roleArn: string): { readonly policy: TrustPolicy; readonly source: string } | undefined {
  const trust = input.trust;
  if (trust === undefined) return undefined;
  if (trust.kind === 'file') return { policy: trust.policy, source: trust.source };
  const policy = trust.policies.get(roleArn);
  return policy === undefined ? undefined : { policy, source: trust.source };
}

const valuesOf = (verdict: ConditionVerdict): string => (verdict.contextValues === undefined || verdict.contextValues.length === 0 ? 'absent' : verdict.contextValues.join(', '));

/** Hints for a condition that is not met: the mistakes of the IRSA failure catalogue. */
function conditionHints(verdict: ConditionVerdict, providerId: string | undefined): string[] {
  const { condition } = verdict;
  const hints: string[] = [];
  const written = condition.values.map((value) => value.written);
  const keySuffix = [':sub', ':aud', ':amr', ':azp'].find((suffix) => condition.key.endsWith(suffix));
  if (keySuffix !== undefined && providerId !== undefined && verdict.contextValues === undefined) {
    const prefix = condition.source.slice(condition.source.indexOf(' ') + 1, -keySuffix.length);
    hints.push(`the key's provider ${JSON.stringify(prefix)} is not the issuer's ${JSON.stringify(providerId)}${/^https?:\/\//.test(prefix) ? ' (no https:// in condition keys)' : prefix.includes('oidc-provider/') ? ' (no oidc-provider/ in condition keys)' : ''}`);
  }
  if ((condition.operator === 'StringEquals' || condition.operator === 'StringNotEquals') && written.some((value) => /[*?]/.test(value))) {
    hints.push(`${condition.operator} compares * and ? literally: use StringLike for a wildcard`);
  }
  const actual = verdict.contextValues ?? [];
  if (!verdict.met && actual.some((value) => written.some((candidate) => candidate.toLowerCase() === value.toLowerCase() && candidate !== value))) {
    hints.push('the values differ only in case: IAM compares values case-sensitively');
  }
  const subject = actual.length === 1 && condition.key.endsWith(':sub') ? actual[0]!.split(':') : undefined;
  if (!verdict.met && subject?.length === 4 && subject[0] === 'system' && subject[1] === 'serviceaccount') {
    for (const candidate of written) {
      const parts = candidate.split(':');
      if (parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount' || /[*?$]/.test(candidate)) continue;
      const differs = [parts[2] !== subject[2] ? `namespace ${JSON.stringify(parts[2])} (the pod's is ${JSON.stringify(subject[2])})` : '', parts[3] !== subject[3] ? `ServiceAccount ${JSON.stringify(parts[3])} (the pod's is ${JSON.stringify(subject[3])})` : ''].filter(Boolean);
      if (differs.length > 0) hints.push(`${candidate} names ${differs.join(' and ')}`);
    }
  }
  return hints;
}

export function statementLines(verdict: StatementVerdict, request: TrustRequest, providerId: string | undefined): string[] {
  const { statement } = verdict;
  const lines = [
    `${verdict.label} (${statement.effect}): principal ${verdict.principalMatches ? 'matches' : 'does not match'}, action ${request.action} ${verdict.actionMatches ? 'matches' : 'does not match'}` +
      (statement.conditions.length === 0 ? ', no conditions' : ''),
  ];
  for (const condition of verdict.conditions) {
    lines.push(`  ${condition.condition.source} [${condition.condition.values.map((value) => value.written).join(', ')}] with ${valuesOf(condition)}: ${condition.met ? 'met' : `not met (${condition.why ?? ''})`}`);
    if (!condition.met) for (const hint of conditionHints(condition, providerId)) lines.push(`    ${hint}`);
  }
  return lines;
}

interface Classified {
  readonly code: ExplainCodeName | undefined;
  readonly lines: readonly string[];
}

/** Which code a denied decision is, from the statements' verdicts. */
function classify(decision: TrustDecision, request: TrustRequest, otherPrincipals: (verdict: StatementVerdict) => readonly string[]): Classified {
  if (decision.allowed) return { code: undefined, lines: [`allowed by statement ${decision.statements[decision.statement]?.label.replace(/^statement /, '') ?? decision.statement}`] };
  const deny = decision.statements.find((verdict) => verdict.applies && verdict.statement.effect === 'Deny');
  if (deny) return { code: 'TRUST_POLICY_DENY', lines: [`explicitly denied by ${deny.label}`] };
  const allows = decision.statements.filter((verdict) => verdict.statement.effect === 'Allow');
  if (allows.some((verdict) => verdict.actionMatches && verdict.principalMatches)) return { code: 'TRUST_POLICY_CONDITION_FAILED', lines: ['the statements for this principal and action have a condition that is not met'] };
  const others = allows.filter((verdict) => verdict.actionMatches).flatMap(otherPrincipals);
  if (others.length > 0) return { code: 'ISSUER_NOT_TRUSTED', lines: [`the role trusts ${[...new Set(others)].join(', ')} for ${request.action}, not ${request.principal.ids.join(', ')}`] };
  return { code: 'TRUST_POLICY_NO_STATEMENT', lines: [`no Allow statement has Principal ${request.principal.type} ${request.principal.ids.join(', ')} with Action ${request.action}`] };
}

function lintLines(decision: TrustDecision, providerId: string): string[] {
  if (!decision.allowed) return [];
  const statement = decision.statements[decision.statement]!.statement;
  const keys = statement.conditions.map((condition) => condition.key);
  const lines: string[] = [];
  if (!keys.includes(`${providerId.toLowerCase()}:sub`)) lines.push(`the allowing statement has no ${providerId}:sub condition: every ServiceAccount of the cluster can assume the role`);
  if (!keys.includes(`${providerId.toLowerCase()}:aud`)) lines.push(`the allowing statement has no ${providerId}:aud condition (the EKS docs add one)`);
  if (keys.includes('sts:rolesessionname')) lines.push('a condition on sts:RoleSessionName depends on the name the SDK chooses (not known here)');
  return lines;
}

function irsaTrust(input: ExplainInput, plan: InjectionPlan, token: TokenFacts): Link {
  const roleArn = plan.roleArn!;
  const role = parseRoleArn(roleArn)!;
  if (input.trust === undefined) return { name: NAME, status: 'not-checked', detail: [`role ${roleArn}: no trust policy given (--trust-policy or --lab-config)`] };
  const found = policyFor(input, roleArn);
  if (found === undefined) return brokenLink(NAME, 'TRUST_POLICY_MISSING', [`role ${roleArn} is not among the roles of ${input.trust.source}`]);
  if (token.issuer === undefined) return { name: NAME, status: 'not-checked', detail: [`role ${roleArn} from ${found.source}`, 'the issuer is unknown: give --issuer-url or --token'] };
  const providerId = oidcProviderId(token.issuer);
  const providerArn = oidcProviderArn(role.partition, role.account, providerId);
  const request = webIdentityRequest({ providerId, providerArn, subject: token.subject, audience: token.audience, sessionName: undefined });
  const decision = evaluateTrustPolicy(found.policy, request);
  const detail = [
    `role ${roleArn} from ${found.source}`,
    `request: ${request.action} by Federated ${providerArn}, ${providerId}:sub=${token.subject}, ${providerId}:aud=${token.audience}`,
    ...decision.statements.flatMap((verdict) => statementLines(verdict, request, providerId)),
  ];
  const classified = classify(decision, request, (verdict) => verdict.statement.principals.federated.filter((arn) => arn !== providerArn));
  detail.push(...classified.lines);
  if (classified.code !== undefined) return brokenLink(NAME, classified.code, detail);
  const lint = lintLines(decision, providerId);
  return { name: NAME, status: lint.length > 0 ? 'warning' : 'ok', detail: [...detail, ...lint] };
}

/** Context keys whose values explain cannot know without the cluster's facts. */
const CLUSTER_KEYS = ['aws:sourceaccount', 'aws:sourcearn', 'aws:requesttag/eks-cluster-arn', 'aws:requesttag/eks-cluster-name'];

function podIdentityTrust(input: ExplainInput): Link {
  const namespace = input.namespace;
  const serviceAccount = input.podView.serviceAccountName;
  const facts = input.podIdentity;
  const cluster = facts?.cluster;
  const association = facts?.associations?.find(
    (candidate) => candidate.namespace === namespace && candidate.serviceAccount === serviceAccount && (cluster === undefined || candidate.cluster === cluster.name),
  );
  if (facts?.associations !== undefined && association === undefined) {
    return brokenLink(NAME, 'POD_IDENTITY_ASSOCIATION_MISSING', [`no Pod Identity association for ${namespace}/${serviceAccount}${cluster ? ` in cluster ${cluster.name}` : ''}`]);
  }
  if (input.trust === undefined) return { name: NAME, status: 'not-checked', detail: ['EKS Pod Identity: no trust policy given (--trust-policy or --lab-config)'] };
  if (association === undefined && input.trust.kind === 'roles') return { name: NAME, status: 'not-checked', detail: ['the associated role is not known'] };
  const roleArn = association?.roleArn ?? '(the associated role)';
  const found = association === undefined ? (input.trust.kind === 'file' ? { policy: input.trust.policy, source: input.trust.source } : undefined) : policyFor(input, association.roleArn);
  if (found === undefined) return brokenLink(NAME, 'TRUST_POLICY_MISSING', [`role ${roleArn} is not among the roles of ${input.trust.source}`]);
  const podName = typeof input.podView.name === 'string' ? input.podView.name : `${input.podView.generateName ?? ''}(generated)`;
  const uid = (input.pod.metadata as { uid?: unknown } | undefined)?.uid;
  const tags = association?.disableSessionTags
    ? []
    : podIdentityTags({
        clusterArn: cluster?.arn ?? '',
        clusterName: cluster?.name ?? '',
        namespace,
        serviceAccount,
        podName,
        podUid: typeof uid === 'string' ? uid : '(assigned at creation)',
      }).filter((tag) => tag.value !== '');
  const requests = serviceRequests({
    service: PODS_SERVICE_PRINCIPAL,
    sessionName: undefined,
    tags,
    transitiveTagKeys: tags.map((tag) => tag.key),
    sourceAccount: cluster?.account,
    sourceArn: cluster?.arn,
  });
  const detail = [
    `role ${roleArn} from ${found.source}${association?.targetRoleArn ? `; then target role ${association.targetRoleArn} with its credentials (not evaluated here)` : ''}`,
    `request: sts:AssumeRole${requests.tagSession ? ' and sts:TagSession' : ''} by Service ${PODS_SERVICE_PRINCIPAL}, session tags ${tags.map((tag) => `${tag.key}=${tag.value}`).join(', ') || 'none (disableSessionTags)'}`,
  ];
  if (cluster === undefined) detail.push('the cluster is not known (give --lab-config): aws:SourceAccount, aws:SourceArn and the eks-cluster-* tags are absent from the request');
  for (const request of [requests.assume, requests.tagSession]) {
    if (request === undefined) continue;
    const decision = evaluateTrustPolicy(found.policy, request);
    detail.push(...decision.statements.flatMap((verdict) => statementLines(verdict, request, undefined)));
    const classified = classify(decision, request, (verdict) => verdict.statement.principals.service.filter((service) => service !== PODS_SERVICE_PRINCIPAL));
    detail.push(...classified.lines.map((line) => `${request.action}: ${line}`));
    if (classified.code === undefined) continue;
    // A condition on what only the cluster knows cannot be judged without it.
    const failing = decision.statements.filter((verdict) => verdict.actionMatches && verdict.principalMatches).flatMap((verdict) => verdict.conditions.filter((condition) => !condition.met));
    if (cluster === undefined && classified.code === 'TRUST_POLICY_CONDITION_FAILED' && failing.every((condition) => CLUSTER_KEYS.includes(condition.condition.key))) {
      return { name: NAME, status: 'not-checked', detail: [...detail, 'the failing conditions test what only the cluster knows'] };
    }
    return brokenLink(NAME, classified.code === 'ISSUER_NOT_TRUSTED' ? 'TRUST_POLICY_NO_STATEMENT' : classified.code, detail);
  }
  return { name: NAME, status: 'ok', detail };
}

/** The role's trust policy, statement by statement, against the request STS (or EKS Auth) would make. */
export function trustLink(input: ExplainInput, plan: InjectionPlan, token: TokenFacts): Link {
  return plan.mode === 'irsa' ? irsaTrust(input, plan, token) : podIdentityTrust(input);
}
