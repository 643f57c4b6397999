import { parseRoleArn } from '../../shared/aws/arn.js';
import { isJsonObject } from '../../shared/json.js';
import { ECR_MATCH_IMAGES, ECR_ROLE_ARN_ANNOTATION, ECR_TOKEN_AUDIENCE, imageMatches } from '../../shared/k8s/credential-provider.js';
import { NODE_AUDIENCE_VERB } from '../../shared/k8s/node-audience-rbac.js';
import { ANNOTATION } from '../../webhook/engine/defaults.js';
import { annotationKeys, quoteValue } from '../../webhook/engine/identity.js';
import type { PodView } from '../../webhook/engine/types.js';
import type { Link } from '../report.js';
import { brokenLink, roleArnProblem } from './identity-links.js';
import type { ExplainInput } from './input.js';

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

/**
 * Image pulls from ECR: which identity the kubelet's ecr-credential-provider uses for this pod's
 * ECR images. With pod ServiceAccount tokens (KEP-4412), the provider assumes the role of the
 * ServiceAccount's eks.amazonaws.com/ecr-role-arn with a token for sts.amazonaws.com; without it,
 * $AWS_ECR_ROLE_ARN, then the node's own credentials (cloud-provider-aws #1281). The pod's
 * role-arn plays no part (cloud-provider-aws#1264 asks for it, open). `asRun`: the pod as it runs
 * (the stored pod, or the one the webhook will make).
 */
export function imagePullLink(input: ExplainInput, asRun: PodView): Link {
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
    return { name, status: 'ok', detail };
  }
  if (fromEcr.length === 0) return { name, status: 'ok', detail };
  detail.push(`no ${ECR_ROLE_ARN_ANNOTATION}: ecr-credential-provider uses its $AWS_ECR_ROLE_ARN, else the node's own credentials (its instance role)`);
  if (appRole) detail.push(`the ServiceAccount's ${roleKey} does not drive image pulls: the provider reads only ${ECR_ROLE_ARN_ANNOTATION} (cloud-provider-aws#1264 asks for it to fall back to role-arn; open)`);
  return { name, status: 'ok', detail };
}
