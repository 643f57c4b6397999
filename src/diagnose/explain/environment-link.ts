import { quoteValue } from '../../webhook/engine/identity.js';
import type { InjectionPlan } from '../../webhook/engine/mutate.js';
import type { ContainerView, PodView } from '../../webhook/engine/types.js';
import type { Link } from '../report.js';
import { brokenLink, consideredContainers, ownOverrides } from './identity-links.js';
import type { ExplainInput } from './input.js';

const NAME = 'environment';

/** The container's variables as its process sees them: the first entry of each name (valueFrom: value unknown). */
function effectiveEnv(container: ContainerView): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const variable of container.env ?? []) {
    if (variable.name !== undefined && !env.has(variable.name)) env.set(variable.name, variable.value);
  }
  return env;
}

const shown = (env: ReadonlyMap<string, string | undefined>, name: string): string => {
  const value = env.get(name);
  return value === undefined ? `${name} (from valueFrom)` : `${name}=${quoteValue(value)}`;
};

interface Verdicts {
  readonly shadowed: string[];
  readonly warnings: string[];
}

/** The credential sources every SDK's default chain tries before web identity or container credentials. */
function earlierSources(env: ReadonlyMap<string, string | undefined>, label: string, injected: string, verdicts: Verdicts): void {
  if (env.has('AWS_ACCESS_KEY_ID')) {
    verdicts.shadowed.push(`${label}: ${shown(env, 'AWS_ACCESS_KEY_ID')}: static keys in the environment come first in every SDK's chain, before ${injected}`);
  }
  for (const name of ['AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']) {
    if (env.has(name)) verdicts.shadowed.push(`${label}: ${shown(env, name)}: a profile from the shared files is resolved before ${injected} by the JS v3 and Java SDKs (and used by all when it names credentials)`);
  }
}

/** What each container's SDK will see after admission, and which credential source wins. */
export function environmentLink(input: ExplainInput, plan: InjectionPlan, mutated: PodView): Link {
  const considered = consideredContainers(plan, input).filter((container) => container.outcome === 'inject' && ownOverrides(container, input).length === 0);
  if (considered.length === 0) return { name: NAME, status: 'not-checked', detail: ['no container gets the identity (see injection)'] };
  const verdicts: Verdicts = { shadowed: [], warnings: [] };
  const regionMissing: string[] = [];
  const detail: string[] = [];
  for (const planned of considered) {
    const container = planned.group === 'containers' ? mutated.containers[planned.index] : mutated.initContainers?.[planned.index];
    if (container === undefined) continue;
    const env = effectiveEnv(container);
    const label = `container ${quoteValue(planned.name)}`;
    if (plan.mode === 'irsa') {
      earlierSources(env, label, 'web identity', verdicts);
      for (const name of ['AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) {
        if (env.has(name)) verdicts.warnings.push(`${label}: ${shown(env, name)} is never used: the SDKs try web identity before container credentials`);
      }
    } else {
      earlierSources(env, label, 'container credentials (EKS Pod Identity)', verdicts);
      if (env.has('AWS_ROLE_ARN') && env.has('AWS_WEB_IDENTITY_TOKEN_FILE')) {
        verdicts.shadowed.push(`${label}: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are set: the SDKs use web identity (IRSA) before container credentials, so EKS Pod Identity is never used`);
      } else if (env.has('AWS_ROLE_ARN')) {
        verdicts.warnings.push(`${label}: AWS_ROLE_ARN is set without AWS_WEB_IDENTITY_TOKEN_FILE (ignored by the SDKs)`);
      }
      if (env.has('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')) {
        verdicts.shadowed.push(`${label}: ${shown(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')}: the SDKs use the relative URI (ECS) instead of AWS_CONTAINER_CREDENTIALS_FULL_URI`);
      }
    }
    const region = env.has('AWS_REGION');
    const defaultRegion = env.has('AWS_DEFAULT_REGION');
    if (!region && !defaultRegion) regionMissing.push(planned.name);
    else if (!defaultRegion) verdicts.warnings.push(`${label}: only AWS_REGION is set: the AWS CLI v1 and boto3 read only AWS_DEFAULT_REGION`);
    else if (!region) verdicts.warnings.push(`${label}: only AWS_DEFAULT_REGION is set: the JS v3 and Java v2 SDKs read only AWS_REGION`);
    if (plan.mode === 'irsa' && env.get('AWS_STS_REGIONAL_ENDPOINTS') !== 'regional') {
      detail.push(`${label}: AWS_STS_REGIONAL_ENDPOINTS is not regional: SDKs whose default is the global endpoint (older botocore and the CLI v1) call sts.amazonaws.com`);
    }
    const names = [...env.keys()].filter((name) => name.startsWith('AWS_'));
    detail.push(`${label}: ${names.map((name) => shown(env, name)).join(', ') || 'no AWS_ variables'}`);
  }
  for (const mount of considered.flatMap((planned) => {
    const container = planned.group === 'containers' ? mutated.containers[planned.index] : mutated.initContainers?.[planned.index];
    return (container?.volumeMounts ?? []).filter((candidate) => /(^|\/)\.aws(\/|$)/.test(candidate.mountPath ?? '')).map((candidate) => ({ planned, candidate }));
  })) {
    verdicts.warnings.push(`container ${quoteValue(mount.planned.name)}: mounts ${quoteValue(mount.candidate.name ?? '')} at ${quoteValue(mount.candidate.mountPath ?? '')}: a shared credentials file there is read by the default chains`);
  }
  if (verdicts.shadowed.length > 0) return brokenLink(NAME, 'CREDENTIAL_SOURCE_SHADOWED', [...verdicts.shadowed, ...verdicts.warnings, ...detail]);
  if (regionMissing.length > 0) {
    return brokenLink(NAME, 'REGION_MISSING', [
      `${regionMissing.map((name) => `container ${quoteValue(name)}`).join(', ')}: neither AWS_REGION nor AWS_DEFAULT_REGION (the webhook injects both only with --aws-default-region)`,
      ...verdicts.warnings,
      ...detail,
    ]);
  }
  return { name: NAME, status: verdicts.warnings.length > 0 ? 'warning' : 'ok', detail: [...verdicts.warnings, ...detail] };
}
