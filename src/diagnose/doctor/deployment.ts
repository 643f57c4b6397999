import { isJsonObject, type JsonObject } from '../../shared/json.js';
import type { Finding } from '../report.js';
import { unreadFinding } from './configuration.js';
import type { WorkloadFacts } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

/** At most this many pods get a finding each; the rest are counted. */
const MAX_POD_FINDINGS = 10;
/** At most this many Deployments are judged (a Service's selector matches one). */
const MAX_DEPLOYMENTS = 5;

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const objectOf = (value: unknown): JsonObject => (isJsonObject(value) ? value : {});
const listOf = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);
const count = (value: unknown): number => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The string entries of a labels or annotations map. */
function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(objectOf(value)).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

const matches = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(selector).every(([key, value]) => labels[key] === value);

const ownedBy = (object: JsonObject, kind: string, owner: JsonObject): boolean =>
  listOf(objectOf(object.metadata).ownerReferences).some((reference) => reference.kind === kind && reference.name === owner.name && (reference.uid === undefined || owner.uid === undefined || reference.uid === owner.uid));

/** A condition's `type status reason: message`, for details. */
function conditionText(condition: JsonObject): string {
  const message = text(condition.message);
  return `${text(condition.type)} ${text(condition.status)}${condition.reason ? ` ${text(condition.reason)}` : ''}${message ? `: ${shown(message, 300)}` : ''}`;
}

/** The conditions worth reporting of a Deployment or ReplicaSet that is not ready: failures, not the healthy ones. */
function troubleConditions(object: JsonObject): string[] {
  return listOf(objectOf(object.status).conditions)
    .filter((condition) => (condition.type === 'ReplicaFailure' && condition.status === 'True') || ((condition.type === 'Available' || condition.type === 'Progressing') && condition.status === 'False'))
    .map(conditionText);
}

interface PodJudgement {
  readonly ready: boolean;
  readonly finding?: Finding;
}

/** The last termination of a container, as `reason, exit code N at T: message`. */
function lastTermination(status: JsonObject): string {
  const terminated = objectOf(objectOf(status.lastState).terminated);
  if (Object.keys(terminated).length === 0) return 'no last termination recorded';
  const message = text(terminated.message);
  return `last terminated: ${text(terminated.reason) || 'no reason'}, exit code ${String(terminated.exitCode ?? '?')}${terminated.finishedAt ? ` at ${text(terminated.finishedAt)}` : ''}${message ? `: ${shown(message, 300)}` : ''}`;
}

/** One webhook pod: ready, or why not (unscheduled, image pull, crash loop, not ready), with a fix naming it. */
function judgePod(pod: JsonObject, namespace: string): PodJudgement {
  const metadata = objectOf(pod.metadata);
  const name = text(metadata.name) || '?';
  const object = `${namespace}/${name}`;
  const spec = objectOf(pod.spec);
  const status = objectOf(pod.status);
  const phase = text(status.phase) || 'no phase';
  const conditions = listOf(status.conditions);
  if (conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True')) return { ready: true };
  const describe = `kubectl -n ${namespace} describe pod ${name}`;
  const containers = [...listOf(status.initContainerStatuses), ...listOf(status.containerStatuses)];
  const waiting = containers
    .map((container) => ({ container, waiting: objectOf(objectOf(container.state).waiting) }))
    .filter((entry) => Object.keys(entry.waiting).length > 0);

  const pull = waiting.find((entry) => IMAGE_PULL_REASONS.has(text(entry.waiting.reason)));
  if (pull) {
    const detail = `${phase}: container ${text(pull.container.name)} (image ${shown(pull.container.image)}): ${text(pull.waiting.reason)}${pull.waiting.message ? `: ${shown(pull.waiting.message, 300)}` : ''}`;
    return { ready: false, finding: coded('WEBHOOK_POD_IMAGE_PULL_FAILING', object, detail, `check the image name and tag, the registry's reachability from the nodes and the imagePullSecrets (${describe})`) };
  }
  const crash = waiting.find((entry) => entry.waiting.reason === 'CrashLoopBackOff');
  if (crash) {
    const container = text(crash.container.name);
    const detail = `${phase}: container ${container}: CrashLoopBackOff, ${plural(count(crash.container.restartCount), 'restart')}; ${lastTermination(crash.container)}`;
    return { ready: false, finding: coded('WEBHOOK_POD_CRASH_LOOPING', object, detail, `read the previous container's log: kubectl -n ${namespace} logs ${name} -c ${container} --previous`) };
  }
  const scheduled = conditions.find((condition) => condition.type === 'PodScheduled');
  if (phase === 'Pending' && scheduled?.status === 'False') {
    return { ready: false, finding: coded('WEBHOOK_POD_UNSCHEDULED', object, `Pending, unscheduled: ${text(scheduled.reason) || 'no reason'}: ${shown(text(scheduled.message), 300)}`, `act on the scheduler's message (resources, node selectors, taints, affinity): ${describe}`) };
  }
  if (phase === 'Pending' && scheduled === undefined && !spec.nodeName) {
    return {
      ready: false,
      finding: coded('WEBHOOK_POD_UNSCHEDULED', object, 'Pending, unscheduled: no node assigned and no PodScheduled condition: no scheduler has looked at it', `check that kube-scheduler runs (and that spec.schedulerName, ${shown(text(spec.schedulerName) || 'default-scheduler')}, names one that does)`),
    };
  }
  const reasons = waiting.map((entry) => `container ${text(entry.container.name)} waiting: ${text(entry.waiting.reason) || 'no reason'}${entry.waiting.message ? `: ${shown(entry.waiting.message, 200)}` : ''}`);
  const readyCondition = conditions.find((condition) => condition.type === 'Ready');
  if (reasons.length === 0 && readyCondition) reasons.push(conditionText(readyCondition));
  const where = spec.nodeName ? ` on node ${text(spec.nodeName)}` : '';
  const detail = `${phase}${where}, not Ready${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`;
  return { ready: false, finding: coded('WEBHOOK_POD_NOT_READY', object, detail, `${describe} (its events name what it waits for); a container that runs but fails /readyz: kubectl -n ${namespace} logs ${name}`) };
}

/** The ReplicaSets of a Deployment, the newest (highest revision) first. */
function replicaSetsOf(deployment: JsonObject, replicaSets: readonly JsonObject[]): JsonObject[] {
  const revision = (replicaSet: JsonObject): number => Number(stringMap(objectOf(replicaSet.metadata).annotations)['deployment.kubernetes.io/revision'] ?? 0) || 0;
  return replicaSets.filter((replicaSet) => ownedBy(replicaSet, 'Deployment', objectOf(deployment.metadata))).sort((a, b) => revision(b) - revision(a));
}

function replicaSetSummary(replicaSet: JsonObject): string {
  const metadata = objectOf(replicaSet.metadata);
  const status = objectOf(replicaSet.status);
  const desired = count(objectOf(replicaSet.spec).replicas);
  const trouble = troubleConditions(replicaSet);
  return `ReplicaSet ${text(metadata.name)}: ${count(status.replicas)} of ${desired} pods created, ${count(status.readyReplicas)} ready${trouble.length > 0 ? ` (${trouble.join('; ')})` : ''}`;
}

/**
 * The webhook-deployment check, for a service clientConfig: the Deployments whose pod template the
 * Service's selector matches, their readiness (ready/desired) and ReplicaSets, and each pod the
 * selector matches that is not ready, with why (Pending and unscheduled, image pull, crash loop,
 * waiting, failing readiness).
 */
export function checkWorkload(workload: WorkloadFacts, namespace: string, serviceName: string): Finding[] {
  const findings: Finding[] = [];
  const selectorText = Object.entries(workload.selector).map(([key, value]) => `${key}=${value}`).join(',');
  for (const [fetched, what] of [
    [workload.deployments, `the Deployments of namespace ${namespace}`],
    [workload.replicaSets, `the ReplicaSets of namespace ${namespace}`],
    [workload.pods, `the pods of namespace ${namespace}`],
  ] as const) {
    const unread = unreadFinding(fetched, what, `namespace/${namespace}`, 'webhook-deployment');
    if (unread) findings.push(unread);
  }
  const items = (fetched: WorkloadFacts['pods']): JsonObject[] => (fetched.status === 'ok' ? listOf(fetched.value.items) : []);
  const replicaSets = items(workload.replicaSets);
  // Pods being deleted are on their way out: not judged.
  const pods = items(workload.pods).filter((pod) => !objectOf(pod.metadata).deletionTimestamp);
  const judged = new Map(pods.map((pod) => [pod, judgePod(pod, namespace)]));
  const deployments = items(workload.deployments).filter((deployment) => matches(workload.selector, stringMap(objectOf(objectOf(objectOf(deployment.spec).template).metadata).labels)));

  if (workload.deployments.status === 'ok') {
    if (deployments.length === 0 && pods.length === 0 && workload.pods.status === 'ok') {
      findings.push(
        coded(
          'WEBHOOK_DEPLOYMENT_MISSING',
          `service/${namespace}/${serviceName}`,
          `no Deployment in namespace ${namespace} has a pod template with the Service's selector labels (${selectorText}), and no pod has them`,
          `install the webhook again (docs/install.md), or make the Service's selector match the webhook's pod labels (kubectl -n ${namespace} get deployments,pods --show-labels)`,
        ),
      );
    } else if (deployments.length === 0) {
      findings.push(noted('webhook-deployment', `service/${namespace}/${serviceName}`, `no Deployment in namespace ${namespace} has a pod template with the Service's selector labels (${selectorText}); ${plural(pods.length, 'pod')} ha${pods.length === 1 ? 's' : 've'} them`));
    }
  }

  for (const deployment of deployments.slice(0, MAX_DEPLOYMENTS)) {
    const metadata = objectOf(deployment.metadata);
    const name = text(metadata.name);
    const object = `deployment/${namespace}/${name}`;
    const spec = objectOf(deployment.spec);
    const status = objectOf(deployment.status);
    const desired = spec.replicas === undefined ? 1 : count(spec.replicas);
    const ready = count(status.readyReplicas);
    const owned = replicaSetsOf(deployment, replicaSets);
    const podsOwned = pods.filter((pod) => owned.some((replicaSet) => ownedBy(pod, 'ReplicaSet', objectOf(replicaSet.metadata))));
    const trouble = troubleConditions(deployment);
    const conditions = trouble.length > 0 ? `; conditions: ${trouble.join('; ')}` : '';
    const describe = `kubectl -n ${namespace} describe deployment ${name}`;
    const readiness = `${ready}/${desired} ready`;
    if (desired === 0) {
      findings.push(coded('WEBHOOK_DEPLOYMENT_SCALED_TO_ZERO', object, `${readiness}: spec.replicas is 0`, `kubectl -n ${namespace} scale deployment/${name} --replicas=2`));
      continue;
    }
    if (owned.length === 0 && workload.replicaSets.status === 'ok') {
      findings.push(
        coded(
          'WEBHOOK_DEPLOYMENT_NO_REPLICASET',
          object,
          `${readiness}, no ReplicaSet: the deployment controller has not created one, so no pod was created${conditions}`,
          `check that kube-controller-manager runs, and read the Deployment's conditions and events: ${describe}`,
        ),
      );
      continue;
    }
    const current = owned.slice(0, 2).map(replicaSetSummary).join('; ');
    const podsNote = `${plural(podsOwned.length, 'pod')} of it found, ${podsOwned.filter((pod) => judged.get(pod)?.ready).length} ready`;
    if (ready === 0) {
      findings.push(coded('WEBHOOK_DEPLOYMENT_UNAVAILABLE', object, `${readiness} (${current}; ${podsNote})${conditions}`, `read the pod findings below, then ${describe} and kubectl -n ${namespace} describe pods -l ${selectorText}`));
    } else if (ready < desired) {
      findings.push(coded('WEBHOOK_DEPLOYMENT_DEGRADED', object, `${readiness} (${current}; ${podsNote})${conditions}`, `read the pod findings below; ${describe}`));
    } else {
      findings.push(passed('webhook-deployment', object, `${readiness} (${current})`));
    }
  }
  if (deployments.length > MAX_DEPLOYMENTS) findings.push(noted('webhook-deployment', `service/${namespace}/${serviceName}`, `${deployments.length} Deployments match the Service's selector: the first ${MAX_DEPLOYMENTS} were judged`));

  const notReady = [...judged.values()].filter((judgement) => judgement.finding !== undefined);
  for (const judgement of notReady.slice(0, MAX_POD_FINDINGS)) findings.push(judgement.finding!);
  if (notReady.length > MAX_POD_FINDINGS) findings.push(noted('webhook-deployment', `service/${namespace}/${serviceName}`, `${notReady.length - MAX_POD_FINDINGS} more pods not ready, not listed`));
  if (workload.pods.status === 'ok' && pods.length > 0) {
    const readyCount = pods.length - notReady.length;
    const capped = workload.pods.value.truncated ? ' (the list was capped)' : '';
    const line = `${readyCount} of ${plural(pods.length, 'pod')} the Service's selector (${selectorText}) matches ${readyCount === 1 ? 'is' : 'are'} Ready${capped}`;
    findings.push(readyCount > 0 ? passed('webhook-deployment', `service/${namespace}/${serviceName}`, line) : noted('webhook-deployment', `service/${namespace}/${serviceName}`, line));
  }
  return findings;
}
