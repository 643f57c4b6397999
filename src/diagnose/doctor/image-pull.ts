import { parseRoleArn } from '../../shared/aws/arn.js';
import { ECR_ROLE_ARN_ANNOTATION } from '../../shared/k8s/credential-provider.js';
import { NODE_AUDIENCE_VERB, NODE_USER_PREFIX } from '../../shared/k8s/node-audience-rbac.js';
import { resolveIdentity } from '../../webhook/engine/identity.js';
import type { MutationOptions } from '../../webhook/engine/types.js';
import { readServiceAccount } from '../../webhook/read-objects.js';
import type { Finding } from '../report.js';
import { unreadFinding } from './configuration.js';
import type { ImagePullFacts, ListResult } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';
import type { KnownServiceAccount } from './service-accounts.js';

export interface EcrAnnotated {
  readonly namespace: string;
  readonly name: string;
  readonly roleArn: string;
}

/** The ServiceAccounts carrying a non-empty eks.amazonaws.com/ecr-role-arn, in list order. */
export function ecrAnnotatedServiceAccounts(items: readonly unknown[]): EcrAnnotated[] {
  const found: EcrAnnotated[] = [];
  for (const item of items) {
    const read = readServiceAccount(item);
    const value = read.ok ? read.value.annotations[ECR_ROLE_ARN_ANNOTATION]?.trim() : undefined;
    if (read.ok && value) found.push({ namespace: read.value.namespace, name: read.value.name, roleArn: value });
  }
  return found;
}

/** Does the webhook give this ServiceAccount's pods a projected token of `audience` (IRSA)? Then NodeRestriction lets the kubelet mint it. */
function podsMountAudience(account: KnownServiceAccount | undefined, audience: string, options: MutationOptions): boolean {
  if (account === undefined || account.podIdentity || account.roleArn === undefined) return false;
  return resolveIdentity(account.view, {}, options).identity?.audience === audience;
}

/**
 * Image pulls with pod tokens (KEP-4412): each eks.amazonaws.com/ecr-role-arn is a role ARN, and
 * the kubelets may mint the ECR provider's audience for those ServiceAccounts (the API server's
 * SubjectAccessReview answers, as NodeRestriction would ask it). What the kubelet's own credential
 * provider config says is on the nodes, out of doctor's reach (docs/image-pull.md).
 */
export function checkImagePull(list: ListResult, facts: ImagePullFacts | undefined, byKey: ReadonlyMap<string, KnownServiceAccount>, options: MutationOptions): Finding[] {
  const annotated = ecrAnnotatedServiceAccounts(list.items);
  if (annotated.length === 0) return [noted('image-pull', undefined, `no ServiceAccount has ${ECR_ROLE_ARN_ANNOTATION}: ecr-credential-provider pulls with its AWS_ECR_ROLE_ARN or the nodes' own credentials`)];
  const findings: Finding[] = [];
  for (const account of annotated) {
    if (parseRoleArn(account.roleArn) === undefined) findings.push(coded('ECR_ROLE_ARN_INVALID', `${account.namespace}/${account.name}`, `${ECR_ROLE_ARN_ANNOTATION}=${shown(account.roleArn)} is not an IAM role ARN`));
  }
  if (facts === undefined) {
    findings.push(noted('image-pull', undefined, `${annotated.length} ServiceAccount${annotated.length === 1 ? '' : 's'} with ${ECR_ROLE_ARN_ANNOTATION}; whether nodes may request their token audience was not asked`));
    return findings;
  }
  const who = `${NODE_USER_PREFIX}${facts.node}${facts.nodeAssumed ? ' (no node could be read: a made-up name in group system:nodes)' : ''}`;
  let granted = 0;
  for (const [object, answer] of facts.reviews) {
    if (answer.status !== 'ok') {
      findings.push(unreadFinding(answer, `whether nodes may request ${facts.audience} tokens for ${object} (a SubjectAccessReview)`, object, 'image-pull') ?? noted('image-pull', object, 'not asked'));
      continue;
    }
    if (answer.value.allowed) {
      granted += 1;
      continue;
    }
    const denied = `${who} may not ${NODE_AUDIENCE_VERB} ${shown(facts.audience)} for ${object}`;
    if (podsMountAudience(byKey.get(object), facts.audience, options)) {
      findings.push(noted('image-pull', object, `${denied}; its pods get an IRSA token for ${shown(facts.audience)}, which lets their node request one (NodeRestriction)`));
    } else {
      findings.push(coded('NODE_AUDIENCE_NOT_GRANTED', object, `${denied}: the kubelet's token request for ecr-credential-provider is refused, and the pull with it`));
    }
  }
  const asked = facts.reviews.size;
  if (granted > 0) findings.push(passed('image-pull', undefined, `${who} may request ${shown(facts.audience)} tokens for ${granted} of ${asked} ServiceAccount${asked === 1 ? '' : 's'} with ${ECR_ROLE_ARN_ANNOTATION}${annotated.length > asked ? ` (the first ${asked} of ${annotated.length} asked)` : ''}`));
  return findings;
}
