import { parseRoleArn } from '../../shared/aws/arn.js';
import { ANNOTATION, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE } from '../../webhook/engine/defaults.js';
import { annotationKeys, quoteValue } from '../../webhook/engine/identity.js';
import type { ContainerPlan, InjectionPlan } from '../../webhook/engine/mutate.js';
import type { ContainerView, PodView } from '../../webhook/engine/types.js';
import { misplacedTokenFiles } from '../token-file.js';
import type { Link } from '../report.js';
import { EXPLAIN_CODES, type ExplainCodeName } from './codes.js';
import type { ExplainInput } from './input.js';

export function brokenLink(name: string, code: ExplainCodeName, detail: readonly string[]): Link {
  return { name, status: 'broken', detail, code, fix: EXPLAIN_CODES[code].fix };
}

/** Annotation keys that look like a misspelt role annotation (another domain, case, underscores). */
function nearMissKeys(annotations: Readonly<Record<string, string>>, wanted: string): string[] {
  const normal = (key: string): string => key.toLowerCase().replaceAll('_', '-');
  return Object.keys(annotations).filter((key) => {
    if (key === wanted) return false;
    const name = normal(key).split('/').at(-1) ?? '';
    return name === 'role-arn' || name === 'rolearn' || name === 'role' || normal(key) === normal(wanted) || /^arn:aws[a-z-]*:iam::/.test(annotations[key] ?? '');
  });
}

/** Why an annotation value is not a role ARN, in the words a user can act on. */
export function roleArnProblem(value: string): string {
  if (/\s/.test(value)) return 'it contains white space';
  if (!value.startsWith('arn:')) return 'it does not start with arn: (a role name alone is not enough)';
  if (/:iam::\d{12}:user\//.test(value)) return 'it names a user, not a role';
  if (!/:iam::\d{12}:/.test(value)) return 'the account is not 12 digits (arn:PARTITION:iam::ACCOUNT:role/NAME)';
  return 'it is not arn:PARTITION:iam::ACCOUNT:role/NAME';
}

/** Does the ServiceAccount name an identity the webhook can inject? */
export function serviceAccountLink(input: ExplainInput): Link {
  const name = 'service account';
  const { podView, serviceAccount, options } = input;
  const asked = `${input.namespace}/${podView.serviceAccountName}`;
  const runsAs = podView.serviceAccountName === 'default' ? `${asked} (spec.serviceAccountName is unset or default)` : asked;
  if (serviceAccount === undefined) return brokenLink(name, 'SERVICE_ACCOUNT_NOT_FOUND', [`the pod runs as ${runsAs}`, `not found in ${input.serviceAccountSource}`]);
  const key = annotationKeys(options.annotationPrefix)(ANNOTATION.roleArn);
  const raw = serviceAccount.annotations[key]?.trim();
  const detail = [`the pod runs as ${runsAs}`];
  if (input.podIdentityListed) {
    detail.push(`listed in the webhook's Pod Identity identities: it injects AWS_CONTAINER_CREDENTIALS_FULL_URI=${options.containerCredentials.fullUri} and a token for ${options.containerCredentials.audience}`);
    if (raw) detail.push(`its ${key}=${quoteValue(raw)} is not used in Pod Identity mode (as the Go webhook)`);
    return { name, status: 'ok', detail };
  }
  if (!raw) {
    const misses = nearMissKeys(serviceAccount.annotations, key);
    if (misses.length > 0) detail.push(`near misses: ${misses.map((miss) => `${miss}=${quoteValue(serviceAccount.annotations[miss] ?? '')}`).join(', ')} (the webhook reads exactly ${key})`);
    else detail.push(`no ${key} annotation`);
    const podKey = Object.keys(podView.annotations ?? {}).find((candidate) => candidate === key);
    if (podKey !== undefined) detail.push(`the pod itself carries ${key}: a pod cannot choose its role, only its ServiceAccount can`);
    return brokenLink(name, 'SA_NOT_ANNOTATED', detail);
  }
  if (parseRoleArn(raw) === undefined) {
    return brokenLink(name, 'ROLE_ARN_INVALID', [...detail, `${key}=${quoteValue(raw)}: ${roleArnProblem(raw)}`]);
  }
  detail.push(`${key}=${raw}`);
  return { name, status: 'ok', detail };
}

/** The first env entry of that name (the kubelet uses the first). */
function envValue(container: ContainerView, name: string): { readonly value: string | undefined } | undefined {
  const found = container.env?.find((variable) => variable.name === name);
  return found === undefined ? undefined : { value: found.value };
}

/** The role the webhook wrote on the pod when it mutated it (the marker), if any. */
export function injectedRoleArn(pod: PodView, input: ExplainInput): string | undefined {
  return pod.annotations?.[annotationKeys(input.options.annotationPrefix)(ANNOTATION.injectedRoleArn)];
}

/** True when the stored pod carries anything the webhook adds: the marker, the label, the token volume. */
export function carriesInjection(pod: PodView, input: ExplainInput): boolean {
  const volumes = (pod.volumes ?? []).map((volume) => volume.name);
  return (
    injectedRoleArn(pod, input) !== undefined ||
    pod.labels?.[POD_IDENTITY_LABEL] === POD_IDENTITY_LABEL_VALUE ||
    volumes.includes('aws-iam-token') ||
    volumes.includes(input.options.containerCredentials.tokenVolumeName)
  );
}

function containerOf(pod: PodView, plan: ContainerPlan): ContainerView {
  return plan.group === 'containers' ? pod.containers[plan.index]! : pod.initContainers![plan.index]!;
}

/**
 * The identity variables a container sets itself, other than the webhook's: on a pod that exists,
 * an AWS_ROLE_ARN equal to the marker annotation is what the webhook injected at creation.
 */
export function ownOverrides(container: ContainerPlan, input: ExplainInput): ContainerPlan['overridden'] {
  const marker = input.running ? injectedRoleArn(input.podView, input) : undefined;
  return container.overridden.filter((variable) => !(marker !== undefined && variable.name === 'AWS_ROLE_ARN' && variable.theirs === marker));
}

/** The containers asked about: the one named by --container, or all. */
export function consideredContainers(plan: InjectionPlan, input: ExplainInput): ContainerPlan[] {
  return plan.containers.filter((container) => input.container === undefined || container.name === input.container);
}

/**
 * What the engine does with the pod's containers: the same plan `mutatePod` builds its patch from.
 * For a pod that exists, an identity variable equal to what the webhook wrote at creation (the
 * marker annotation) is the webhook's own, not an override; the running-pod link compares it.
 */
export function injectionLink(input: ExplainInput, plan: InjectionPlan, warnings: readonly string[]): Link {
  const name = 'injection';
  const detail: string[] = [
    plan.mode === 'irsa'
      ? `IRSA: role ${plan.roleArn ?? ''}, token for ${plan.audience} (${plan.expirationSeconds} s) in volume ${plan.volumeName} at ${plan.mountPath}`
      : `EKS Pod Identity: token for ${plan.audience} (${plan.expirationSeconds} s) in volume ${plan.volumeName} at ${plan.mountPath}`,
  ];
  const considered = consideredContainers(plan, input);
  // A running pod's container whose token variable points into the volume in the way: the running-pod link says why.
  const misplaced = new Set(input.running ? misplacedTokenFiles(input.podView, plan, considered).map((entry) => entry.container) : []);
  const skipped: string[] = [];
  const conflicts: string[] = [];
  const overrides: string[] = [];
  for (const container of considered) {
    const label = `${container.group === 'initContainers' ? 'init container' : 'container'} ${quoteValue(container.name)}`;
    if (container.outcome === 'skipped') {
      skipped.push(container.name);
      detail.push(`${label}: skipped (named in ${input.options.annotationPrefix}/${ANNOTATION.skipContainers})`);
      continue;
    }
    if (container.outcome === 'mount-path-occupied' && misplaced.has(container)) {
      detail.push(`${label}: volume ${quoteValue(container.occupant?.name ?? '')} is mounted at ${quoteValue(container.occupant?.mountPath ?? '')}, the token mount path, and its ${plan.tokenFileVariable} points into it (see running pod)`);
      continue;
    }
    if (container.outcome === 'mount-path-occupied') {
      conflicts.push(container.name);
      detail.push(`${label}: volume ${quoteValue(container.occupant?.name ?? '')} is mounted at ${quoteValue(container.occupant?.mountPath ?? '')}, the token mount path: left alone`);
      continue;
    }
    // On a running pod, a token variable pointing at no token is the running-pod link's finding, not an override.
    const own = ownOverrides(container, input).filter((variable) => !(misplaced.has(container) && variable.name === plan.tokenFileVariable));
    if (own.length > 0) {
      overrides.push(container.name);
      for (const variable of own) {
        detail.push(`${label}: sets ${variable.name}${variable.theirs === undefined ? ' from valueFrom' : `=${quoteValue(variable.theirs)}`}, which wins over the webhook's ${quoteValue(variable.ours)}`);
      }
      continue;
    }
    detail.push(`${label}: gets ${container.identityEnv.map((variable) => `${variable.name}=${variable.value}`).join(', ')}`);
  }
  for (const warning of warnings) detail.push(`engine warning: ${warning}`);
  // With every container considered, a skipped one among others is a choice the pod made; one asked about, or all, is the break.
  const allSkipped = skipped.length === considered.length;
  if (conflicts.length > 0) return brokenLink(name, 'MOUNT_PATH_CONFLICT', detail);
  if (overrides.length > 0) return brokenLink(name, 'ENV_OVERRIDES_IDENTITY', detail);
  if (skipped.length > 0 && (input.container !== undefined || allSkipped)) return brokenLink(name, 'CONTAINER_SKIPPED', detail);
  const status = skipped.length > 0 || misplaced.size > 0 || warnings.length > 0 ? 'warning' : 'ok';
  return { name, status, detail };
}

/**
 * For a pod that exists: does it carry what the webhook would inject now? (It mutates only at
 * creation: a pod created while it was down, or before the annotation, keeps running without.)
 */
export function runningPodLink(input: ExplainInput, plan: InjectionPlan): Link {
  const name = 'running pod';
  if (!input.running) return { name, status: 'not-checked', detail: ['a pod not created yet (no metadata.uid or status): the chain describes what it will get'] };
  const pod = input.podView;
  const misplaced = misplacedTokenFiles(pod, plan, consideredContainers(plan, input));
  if (misplaced.length > 0) return brokenLink(name, 'TOKEN_FILE_NOT_A_TOKEN', misplaced.map((entry) => entry.detail));
  const considered = consideredContainers(plan, input).filter((container) => container.outcome === 'inject');
  if (!carriesInjection(pod, input)) {
    return brokenLink(name, 'POD_NOT_MUTATED', [
      'the pod carries no token volume, identity variables or marker: it was admitted without the webhook',
      plan.mode === 'irsa' ? `the webhook would inject role ${plan.roleArn ?? ''} now` : 'the webhook would inject EKS Pod Identity now',
    ]);
  }
  const detail: string[] = [];
  const stale: string[] = [];
  const marker = injectedRoleArn(pod, input);
  if (plan.mode === 'irsa') {
    if (marker !== undefined && marker !== plan.roleArn) stale.push(`mutated for role ${marker}; the ServiceAccount names ${plan.roleArn ?? ''} now`);
    if (pod.labels?.[POD_IDENTITY_LABEL] === POD_IDENTITY_LABEL_VALUE) stale.push('mutated for EKS Pod Identity; the ServiceAccount is not listed for it now');
  } else if (pod.labels?.[POD_IDENTITY_LABEL] !== POD_IDENTITY_LABEL_VALUE) {
    stale.push(`mutated for IRSA${marker ? ` (role ${marker})` : ''}; the ServiceAccount is listed for EKS Pod Identity now`);
  }
  for (const container of considered) {
    const view = containerOf(pod, container);
    for (const variable of container.identityEnv) {
      const found = envValue(view, variable.name);
      if (found === undefined) stale.push(`container ${quoteValue(container.name)} has no ${variable.name}`);
      else if (found.value !== variable.value && !(variable.name === 'AWS_ROLE_ARN' && found.value === marker && marker !== plan.roleArn)) {
        stale.push(`container ${quoteValue(container.name)} has ${variable.name}=${quoteValue(found.value ?? '(valueFrom)')}, the webhook would inject ${quoteValue(variable.value)}`);
      }
    }
    if (!container.tokenVolumeMounted) stale.push(`container ${quoteValue(container.name)} does not mount ${plan.volumeName}`);
  }
  if (stale.length > 0) return brokenLink(name, 'POD_STALE', [...new Set(stale)]);
  detail.push('the pod carries what the webhook would inject now');
  return { name, status: 'ok', detail };
}
