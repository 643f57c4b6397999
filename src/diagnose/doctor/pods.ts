import { isJsonObject } from '../../shared/json.js';
import { ANNOTATION, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, TOKEN_VOLUME_NAME } from '../../webhook/engine/defaults.js';
import { mutatePod, planInjection } from '../../webhook/engine/mutate.js';
import type { MutationOptions, PatchOperation, PodView } from '../../webhook/engine/types.js';
import { readPod } from '../../webhook/read-objects.js';
import type { Finding } from '../report.js';
import { misplacedTokenFiles } from '../token-file.js';
import { type PodSelector, selection } from './configuration.js';
import type { DoctorCode } from './codes.js';
import { coded, noted, passed, shown } from './findings.js';
import { type KnownServiceAccount, timestamp } from './service-accounts.js';

/** At most this many findings of one code are listed; the rest are counted. */
export const MAX_FINDINGS_PER_CODE = 100;
/** A ServiceAccount created this close to its pod may not have been in a webhook's cache yet. */
const RACE_WINDOW_MS = 10_000;

export interface PodContext {
  readonly options: MutationOptions;
  readonly serviceAccounts: ReadonlyMap<string, KnownServiceAccount>;
  /** Whether doctor knows which ServiceAccounts get Pod Identity (it was given the identities). */
  readonly identitiesKnown: boolean;
  /** The configuration's webhooks and the bound admission policies; undefined when neither could be read (the pods are judged without selectors). */
  readonly webhooks: readonly PodSelector[] | undefined;
  readonly configurationName: string;
  readonly configurationMissing: boolean;
  /** No webhook configuration, and admission policies give pods their identity. */
  readonly policyModeOnly?: boolean;
  readonly labelsOf: (namespace: string) => Readonly<Record<string, string>>;
}

interface Owner {
  readonly kind: string;
  readonly name: string;
}

function controller(metadata: Record<string, unknown>): Owner | undefined {
  const references = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences : [];
  const owners = references.filter((reference): reference is Record<string, unknown> => isJsonObject(reference) && typeof reference.kind === 'string' && typeof reference.name === 'string');
  const chosen = owners.find((reference) => reference.controller === true) ?? owners[0];
  return chosen ? { kind: String(chosen.kind), name: String(chosen.name) } : undefined;
}

/** How to recreate the pod, from its controller (a ReplicaSet's Deployment from the pod-template-hash suffix). */
export function recreateFix(namespace: string, name: string, metadata: Record<string, unknown>, labels: Readonly<Record<string, string>> | undefined): string {
  const owner = controller(metadata);
  const hash = labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return `kubectl -n ${namespace} rollout restart deployment/${owner.name.slice(0, -hash.length - 1)} (the pod belongs to ReplicaSet ${owner.name})`;
  }
  if (owner && ['StatefulSet', 'DaemonSet', 'Deployment'].includes(owner.kind)) return `kubectl -n ${namespace} rollout restart ${owner.kind.toLowerCase()}/${owner.name}`;
  if (owner?.kind === 'Job') return `kubectl -n ${namespace} delete pod ${name} (Job ${owner.name} starts a new one unless it has completed)`;
  if (owner) return `kubectl -n ${namespace} delete pod ${name} (its owner ${owner.kind} ${owner.name} creates it again)`;
  return `kubectl -n ${namespace} delete pod ${name}, then create it again from its manifest (it has no owner to recreate it)`;
}

/** What the patch would add, in words: which variables and mounts in which containers, the volume, the marker. */
function describePatch(patch: readonly PatchOperation[], pod: PodView): string {
  const parts: string[] = [];
  const perContainer = new Map<string, string[]>();
  for (const op of patch) {
    const match = /^\/spec\/(containers|initContainers)\/(\d+)\/(env|volumeMounts)/.exec(op.path);
    if (match) {
      const list = match[1] === 'containers' ? pod.containers : (pod.initContainers ?? []);
      const container = list[Number(match[2])]?.name ?? match[2]!;
      const values = Array.isArray(op.value) ? op.value : [op.value];
      const names = values.map((value) => (match[3] === 'env' ? String((value as { name?: unknown }).name) : 'the token mount'));
      perContainer.set(container, [...(perContainer.get(container) ?? []), ...names]);
    } else if (op.path.startsWith('/spec/volumes')) parts.push('the token volume');
    else if (op.path.startsWith('/metadata')) parts.push(op.op === 'replace' ? 'a changed marker' : 'the marker annotation or label');
  }
  for (const [container, names] of perContainer) parts.push(`container ${shown(container)}: ${names.join(', ')}`);
  return parts.join('; ');
}

/**
 * Check 5: pods whose ServiceAccount has an identity but which run without it (or with another).
 * Each pod is judged by the engine itself: `mutatePod` on the stored pod returns an empty patch
 * when it carries everything the webhook would inject now (the patch is idempotent), so a non-empty
 * patch says what is missing; the marker annotation, the Pod Identity label and the token volumes
 * say whether the webhook ever mutated it.
 */
export class PodChecker {
  private readonly findings: Finding[] = [];
  private readonly perCode = new Map<DoctorCode, number>();
  private scanned = 0;
  private withIdentity = 0;
  private carrying = 0;
  private namespaceExcluded = 0;
  private unknownServiceAccount = 0;
  private podIdentityUnjudged = 0;

  constructor(private readonly context: PodContext) {}

  private report(code: DoctorCode, object: string, detail: string, fix?: string): void {
    const count = (this.perCode.get(code) ?? 0) + 1;
    this.perCode.set(code, count);
    if (count <= MAX_FINDINGS_PER_CODE) this.findings.push({ ...coded(code, object, detail, fix), check: 'pods' });
  }

  check(item: unknown): void {
    const metadata = isJsonObject(item) && isJsonObject(item.metadata) ? item.metadata : {};
    const status = isJsonObject(item) && isJsonObject(item.status) ? item.status : {};
    // Pods on their way out, or done, run nothing that needs an identity.
    if (metadata.deletionTimestamp !== undefined || status.phase === 'Succeeded' || status.phase === 'Failed') return;
    this.scanned += 1;
    const read = readPod(item);
    const where = typeof metadata.name === 'string' ? `${String(metadata.namespace ?? '?')}/${metadata.name}` : 'a pod';
    if (!read.ok) {
      this.report('OBJECT_UNREADABLE', where, `pod ${where}: ${read.error}`);
      return;
    }
    const pod = read.value;
    const namespace = pod.namespace ?? 'default';
    const name = pod.name ?? '?';
    const object = `${namespace}/${name}`;
    const serviceAccount = this.context.serviceAccounts.get(`${namespace}/${pod.serviceAccountName}`);
    if (!serviceAccount) {
      this.unknownServiceAccount += 1;
      return;
    }
    const { options } = this.context;
    const markerKey = `${options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
    const marker = pod.annotations?.[markerKey];
    const podIdentityLabel = pod.labels?.[POD_IDENTITY_LABEL] === POD_IDENTITY_LABEL_VALUE;
    const volumes = (pod.volumes ?? []).map((volume) => volume.name);
    const irsaCarried = marker !== undefined || volumes.includes(TOKEN_VOLUME_NAME);
    const podIdentityCarried = podIdentityLabel || volumes.includes(options.containerCredentials.tokenVolumeName);
    const saName = `ServiceAccount ${namespace}/${serviceAccount.view.name}`;
    const fix = (): string => recreateFix(namespace, name, metadata, pod.labels);

    if (!this.context.identitiesKnown && podIdentityCarried && !irsaCarried) {
      // Given Pod Identity by the webhook, but doctor was not told the identities: cannot judge.
      this.podIdentityUnjudged += 1;
      return;
    }
    const podIdentity = serviceAccount.podIdentity;
    const wanted = podIdentity || serviceAccount.roleArn !== undefined;
    if (!wanted) {
      if (marker !== undefined) {
        this.report('POD_IDENTITY_STALE', object, `carries role ${shown(marker)}, but ${saName} ${serviceAccount.annotated ? 'now has an invalid role-arn' : 'names no role now'}`, fix());
      } else if (podIdentityCarried && this.context.identitiesKnown) {
        this.report('POD_IDENTITY_STALE', object, `was given Pod Identity, but ${saName} is no longer listed for it`, fix());
      }
      return;
    }
    this.withIdentity += 1;
    const identity = podIdentity ? 'is listed for Pod Identity' : `has role ${shown(serviceAccount.roleArn)}`;
    const { plan } = planInjection(pod, { ...serviceAccount.view, podIdentity }, options, 0);
    const misplaced = plan === undefined ? [] : misplacedTokenFiles(pod, plan);
    if (misplaced.length > 0) {
      this.report('POD_TOKEN_FILE_NOT_A_TOKEN', object, `${saName} ${identity}, but ${misplaced.map((entry) => entry.detail).join('; ')}`, fix());
      return;
    }
    const result = mutatePod(pod, { ...serviceAccount.view, podIdentity }, options, 0);
    if (result.patch.length === 0) {
      this.carrying += 1;
      return;
    }
    if (!irsaCarried && !podIdentityCarried) {
      this.unmutated(pod, object, metadata, saName, identity, serviceAccount, fix);
      return;
    }
    if (podIdentity && irsaCarried && !podIdentityCarried) {
      this.report('POD_IDENTITY_STALE', object, `was given IRSA${marker ? ` (role ${shown(marker)})` : ''}, but ${saName} is now listed for Pod Identity`, fix());
      return;
    }
    if (!podIdentity && podIdentityCarried && !irsaCarried) {
      this.report('POD_IDENTITY_STALE', object, `was given Pod Identity, but ${saName} is no longer listed for it and ${identity}`, fix());
      return;
    }
    if (!podIdentity && marker !== undefined && marker !== serviceAccount.roleArn) {
      this.report('POD_IDENTITY_STALE', object, `was given role ${shown(marker)}, but ${saName} now ${identity}`, fix());
      return;
    }
    this.report('POD_PARTIALLY_MUTATED', object, `${saName} ${identity}; the pod has it, but the webhook would still add: ${describePatch(result.patch, pod)}`);
  }

  private unmutated(pod: PodView, object: string, metadata: Record<string, unknown>, saName: string, identity: string, serviceAccount: KnownServiceAccount, fix: () => string): void {
    const { webhooks } = this.context;
    let notCalled: string | undefined;
    if (webhooks !== undefined) {
      const selected = selection(webhooks, this.context.labelsOf(pod.namespace ?? 'default'), pod.labels ?? {});
      if (!selected.called && selected.by === 'none') notCalled = selected.why;
      else if (!selected.called && selected.by === 'namespace') {
        // The namespace finding (NAMESPACE_EXCLUDED) covers its pods.
        this.namespaceExcluded += 1;
        return;
      }
      if (!selected.called && selected.by === 'object') {
        this.report('POD_NOT_SELECTED', object, `${saName} ${identity}, but the webhook is not called for this pod: ${selected.why}`);
        return;
      }
    }
    const created = timestamp(metadata.creationTimestamp);
    const at = created?.toISOString() ?? 'an unknown time';
    let why: string;
    if (this.context.policyModeOnly) {
      why = `created at ${at}, before the admission policies were installed or before the API server had seen its ServiceAccount (the binding's parameterNotFoundAction Allow admits such a pod unmutated)`;
    } else if (this.context.configurationMissing) {
      why = `no MutatingWebhookConfiguration ${this.context.configurationName}: the webhook is not called`;
    } else if (notCalled !== undefined) {
      why = `${notCalled} (${this.context.configurationName})`;
    } else if (serviceAccount.roleArnWrittenAt && created && serviceAccount.roleArnWrittenAt > created) {
      why = `the role-arn annotation was written at ${serviceAccount.roleArnWrittenAt.toISOString()} (managedFields), after the pod was created at ${at}: the webhook mutates pods only when they are created`;
    } else {
      why = `created at ${at}, when the webhook was not reachable (failurePolicy Ignore admitted it without its identity), not yet installed, or before the ServiceAccount got its identity`;
      if (serviceAccount.createdAt && created && Math.abs(created.getTime() - serviceAccount.createdAt.getTime()) <= RACE_WINDOW_MS) {
        const seconds = Math.round((created.getTime() - serviceAccount.createdAt.getTime()) / 1000);
        why += `; the ServiceAccount was created ${seconds >= 0 ? `${seconds} s before` : `${-seconds} s after`} it, so a webhook whose cache had not yet seen the ServiceAccount may also have admitted it unmutated`;
      }
    }
    this.report('POD_NOT_MUTATED', object, `${saName} ${identity}, but the pod has no injected identity (no ${serviceAccount.podIdentity ? 'Pod Identity label or token volume' : 'marker annotation, token volume or AWS_ROLE_ARN'}): ${why}`, fix());
  }

  /** The findings, with the counts of what was not listed and a summary line. */
  result(truncated: boolean, maxPods: number, failed = false): Finding[] {
    const findings = [...this.findings];
    for (const [code, count] of this.perCode) {
      if (count > MAX_FINDINGS_PER_CODE) findings.push(noted('pods', undefined, `and ${count - MAX_FINDINGS_PER_CODE} more pods with ${code} (only the first ${MAX_FINDINGS_PER_CODE} are listed)`));
    }
    const problems = [...this.perCode.values()].reduce((sum, count) => sum + count, 0);
    const summary = `${this.scanned} pod${this.scanned === 1 ? '' : 's'} scanned (not finished, not being deleted)${truncated ? ` (the first ${maxPods} only: --max-pods)` : ''}, ${this.withIdentity} whose ServiceAccount has an identity, ${this.carrying} of them carrying exactly what the webhook would inject`;
    if (failed && this.scanned === 0) return findings;
    findings.push(problems === 0 && !failed ? passed('pods', undefined, summary) : noted('pods', undefined, summary));
    if (truncated) findings.push(noted('pods', undefined, `stopped after ${maxPods} pods: the rest were not checked (raise --max-pods, or narrow with --namespace)`));
    if (this.namespaceExcluded > 0) findings.push(noted('pods', undefined, `${this.namespaceExcluded} pod${this.namespaceExcluded === 1 ? '' : 's'} without identity in namespaces the namespaceSelector excludes (see NAMESPACE_EXCLUDED)`));
    if (this.unknownServiceAccount > 0) findings.push(noted('pods', undefined, `${this.unknownServiceAccount} pod${this.unknownServiceAccount === 1 ? '' : 's'} whose ServiceAccount was not in the list read: not judged`));
    if (this.podIdentityUnjudged > 0) {
      findings.push(noted('pods', undefined, `${this.podIdentityUnjudged} pod${this.podIdentityUnjudged === 1 ? '' : 's'} with Pod Identity not judged: pass --watch-container-credentials-config or --watch-container-credentials-config-map as serve has them`));
    }
    return findings;
  }
}
