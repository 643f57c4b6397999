import { parseRoleArn } from '../../shared/aws/arn.js';
import { evaluateTrustPolicy, type TrustPolicy } from '../../shared/aws/iam-policy.js';
import { oidcProviderArn, oidcProviderId, webIdentityRequest } from '../../shared/aws/trust-requests.js';
import { isJsonObject } from '../../shared/json.js';
import { ECR_MATCH_IMAGES, ECR_ROLE_ARN_ANNOTATION, ECR_TOKEN_AUDIENCE, imageMatches } from '../../shared/k8s/credential-provider.js';
import { NODE_AUDIENCE_VERB } from '../../shared/k8s/node-audience-rbac.js';
import { trimTrailing } from '../../shared/text.js';
import { ANNOTATION } from '../../webhook/engine/defaults.js';
import { annotationKeys, quoteValue } from '../../webhook/engine/identity.js';
import type { PodView } from '../../webhook/engine/types.js';
import type { Link } from '../report.js';
import { brokenLink, roleArnProblem } from './identity-links.js';
import type { ExplainInput } from './input.js';
import { statementLines } from './trust-link.js';

const MAX_CONTAINERS = 100;

/** Every image of the pod (containers, init and ephemeral containers), as written. */
function podImages(pod: Readonly<Record<string, unknown>>): string[] {
  const spec = isJsonObject(pod.spec) ? pod.spec : {};
  const images: string[] = [];
  for (const group of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[group];
    if (!Array.isArray(list)) continue;
    for (const container of list.slice(0, MAX_CONTAINERS)) {
      if (isJsonObject(container) && typeof container.image === 'string' && container.image !== '') images.push(container.image);
    }
  }
  return [...new Set(images)];
}

/** A projected token of the audience in the pod lets its node mint that audience without RBAC (NodeRestriction's podReferencesAudience). */
function mountsAudience(pod: PodView, audience: string): boolean {
  return (pod.volumes ?? []).some((volume) => volume.serviceAccountTokens.some((token) => token.audience === audience));
}

const sameIssuer = (left: string, right: string): boolean => trimTrailing(left, '/') === trimTrailing(right, '/');

/** The ECR role's trust policy when known: the lab config's roles, or the --trust-policy file when the ECR role is the application's. */
function ecrTrustPolicy(input: ExplainInput, roleArn: string, appRole: string | undefined): { policy: TrustPolicy; source: string } | 'not-among-roles' | undefined {
  const trust = input.trust;
  if (trust === undefined) return undefined;
  if (trust.kind === 'file') return roleArn === appRole ? { policy: trust.policy, source: trust.source } : undefined;
  const policy = trust.policies.get(roleArn);
  return policy === undefined ? 'not-among-roles' : { policy, source: trust.source };
}

/**
 * What STS would say to ecr-credential-provider's AssumeRoleWithWebIdentity with the pod's
 * sts.amazonaws.com token: an OIDC provider for the cluster's issuer accepting the audience, and the
 * ECR role's trust policy. Undefined when it holds or cannot be known (then `detail` says so).
 */
function ecrTrust(input: ExplainInput, roleArn: string, appRole: string | undefined, detail: string[]): Link | undefined {
  const issuer = input.issuer;
  if (issuer === undefined) {
    detail.push('the issuer is unknown (give --issuer-url or --lab-config): the ECR role\'s OIDC provider and trust policy are not checked');
    return undefined;
  }
  if (input.providers !== undefined) {
    const provider = input.providers.find((candidate) => sameIssuer(candidate.issuer, issuer));
    if (provider === undefined || !provider.audiences.includes(ECR_TOKEN_AUDIENCE)) {
      return brokenLink('image pull', 'ECR_AUDIENCE_NOT_ALLOWED', [
        ...detail,
        provider === undefined ? `no OIDC provider is registered for ${issuer}: STS answers No OpenIDConnect provider found` : `the OIDC provider for ${issuer} accepts ${provider.audiences.join(', ')}, not ${ECR_TOKEN_AUDIENCE}: STS answers Incorrect token audience`,
      ]);
    }
    detail.push(`OIDC provider ${provider.issuer} accepts ${ECR_TOKEN_AUDIENCE}`);
  }
  const found = ecrTrustPolicy(input, roleArn, appRole);
  if (found === undefined) {
    detail.push('the ECR role\'s trust policy is not known here (give --lab-config, or --trust-policy when it is the application\'s role)');
    return undefined;
  }
  if (found === 'not-among-roles') return brokenLink('image pull', 'ECR_ROLE_NOT_TRUSTED', [...detail, `role ${roleArn} is not among the roles of ${input.trust?.source ?? ''}`]);
  const role = parseRoleArn(roleArn)!;
  const providerId = oidcProviderId(issuer);
  const subject = `system:serviceaccount:${input.namespace}:${input.podView.serviceAccountName}`;
  const request = webIdentityRequest({ providerId, providerArn: oidcProviderArn(role.partition, role.account, providerId), subject, audience: ECR_TOKEN_AUDIENCE, sessionName: undefined });
  const decision = evaluateTrustPolicy(found.policy, request);
  const lines = [`role ${roleArn} from ${found.source}: ${request.action} with sub ${subject}, aud ${ECR_TOKEN_AUDIENCE}`, ...decision.statements.flatMap((verdict) => statementLines(verdict, request, providerId))];
  if (!decision.allowed) return brokenLink('image pull', 'ECR_ROLE_NOT_TRUSTED', [...detail, ...lines, 'not allowed']);
  detail.push(...lines, `allowed by ${decision.statements[decision.statement]?.label ?? 'a statement'}`);
  return undefined;
}

/**
 * Image pulls from ECR: which identity the kubelet's ecr-credential-provider uses for this pod's
 * ECR images. With pod ServiceAccount tokens (KEP-4412), the provider assumes the role of the
 * ServiceAccount's eks.amazonaws.com/ecr-role-arn with a token for sts.amazonaws.com; without it,
 * $AWS_ECR_ROLE_ARN, then the node's own credentials (cloud-provider-aws #1281). The pod's
 * role-arn plays no part (cloud-provider-aws#1264 asks for it, open). `asRun`: the pod as it runs
 * (the stored pod, or the one the webhook will make).
 */
export function imagePullLink(input: ExplainInput, asRun: PodView): Link {
  const link = ecrPullLink(input, asRun);
  // What is wrong with the ServiceAccount's ECR role does not break a pod that pulls nothing from ECR.
  if (link.status !== 'broken' || podImages(input.pod).some((image) => ECR_MATCH_IMAGES.some((pattern) => imageMatches(pattern, image)))) return link;
  return { name: link.name, status: 'warning', detail: [...link.detail, `${link.code ?? ''} for the ServiceAccount's other pods: this one pulls nothing from ECR`] };
}

function ecrPullLink(input: ExplainInput, asRun: PodView): Link {
  const name = 'image pull';
  const account = input.serviceAccount;
  if (account === undefined) return { name, status: 'not-checked', detail: ['the ServiceAccount was not found (see service account)'] };
  const images = podImages(input.pod);
  const fromEcr = images.filter((image) => ECR_MATCH_IMAGES.some((pattern) => imageMatches(pattern, image)));
  const detail: string[] = [fromEcr.length === 0 ? `no image is in ECR (${images.length === 0 ? 'no image' : images.map(quoteValue).join(', ')}): ecr-credential-provider is not called for this pod` : `ECR images: ${fromEcr.map(quoteValue).join(', ')}`];
  const raw = account.annotations[ECR_ROLE_ARN_ANNOTATION]?.trim();
  const roleKey = annotationKeys(input.options.annotationPrefix)(ANNOTATION.roleArn);
  const appRole = account.annotations[roleKey]?.trim();
  if (raw) {
    if (parseRoleArn(raw) === undefined) return brokenLink(name, 'ECR_ROLE_ARN_INVALID', [...detail, `${ECR_ROLE_ARN_ANNOTATION}=${quoteValue(raw)}: ${roleArnProblem(raw)}`]);
    detail.push(
      `${ECR_ROLE_ARN_ANNOTATION}=${raw}: where the kubelet's credential provider config passes this annotation (image-pull-config), ecr-credential-provider assumes this role with a pod token for ${ECR_TOKEN_AUDIENCE} (AssumeRoleWithWebIdentity): its trust policy must trust the cluster's OIDC provider for system:serviceaccount:${account.namespace}:${account.name}`,
    );
    detail.push(
      mountsAudience(asRun, ECR_TOKEN_AUDIENCE)
        ? `the pod mounts a token for ${ECR_TOKEN_AUDIENCE}, so its node may request one without RBAC`
        : `the pod mounts no token for ${ECR_TOKEN_AUDIENCE}: its node needs RBAC verb ${NODE_AUDIENCE_VERB} on ${ECR_TOKEN_AUDIENCE} (image-pull-config --rbac; doctor checks it)`,
    );
    if (appRole && appRole !== raw) detail.push(`the application's role ${roleKey}=${quoteValue(appRole)} is a different role: it does not pull images`);
    return ecrTrust(input, raw, appRole, detail) ?? { name, status: 'ok', detail };
  }
  if (fromEcr.length === 0) return { name, status: 'ok', detail };
  detail.push(`no ${ECR_ROLE_ARN_ANNOTATION}: ecr-credential-provider uses its $AWS_ECR_ROLE_ARN, else the node's own credentials (its instance role)`);
  if (appRole) detail.push(`the ServiceAccount's ${roleKey} does not drive image pulls: the provider reads only ${ECR_ROLE_ARN_ANNOTATION} (cloud-provider-aws#1264 asks for it to fall back to role-arn; open)`);
  return { name, status: 'ok', detail };
}
