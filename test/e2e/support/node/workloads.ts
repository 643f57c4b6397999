import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, KubeObject } from '../kube-client.js';

export const WORKLOAD_IMAGE = 'docker.io/library/piw-workload:e2e';

/** What a caller (sts-caller.mjs or sts-caller) printed: the identity, or the error and its code. */
export interface CallerAnswer {
  readonly arn?: string;
  readonly account?: string;
  readonly userId?: string;
  readonly error?: string;
  readonly code?: string;
}

export interface PodStatus {
  readonly phase?: string;
  readonly conditions?: readonly { type: string; status: string; reason?: string; message?: string }[];
  readonly containerStatuses?: readonly ContainerStatus[];
  readonly initContainerStatuses?: readonly ContainerStatus[];
}

interface ContainerStatus {
  readonly name: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
  readonly state?: { terminated?: { exitCode: number; reason?: string; message?: string }; waiting?: { reason?: string; message?: string } };
}

export type PodObject = KubeObject & { status?: PodStatus; spec?: Record<string, unknown> };

/** The JavaScript SDK's caller, then the Go SDK's, as one container's command. */
export const JS_CALLER = ['/nodejs/bin/node', '/app/sts-caller.mjs'];
export const GO_CALLER = ['/usr/local/bin/sts-caller'];

/** Waits until every container of the pod (init and regular) has terminated (restartPolicy Never). */
export async function waitForPodCompletion(client: KubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<PodObject> {
  const deadline = Date.now() + timeoutMs;
  let pod: PodObject | undefined;
  for (;;) {
    pod = (await client.get(`/api/v1/namespaces/${namespace}/pods/${name}`)) as PodObject;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return pod;
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} did not complete in ${timeoutMs} ms: ${JSON.stringify(pod.status)}`);
    await sleep(500);
  }
}

/** Waits until the pod is Ready (its containers running and ready). */
export async function waitForPodReady(client: KubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<PodObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = (await client.get(`/api/v1/namespaces/${namespace}/pods/${name}`)) as PodObject;
    if (pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')) return pod;
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} not Ready in ${timeoutMs} ms: ${JSON.stringify(pod.status)}`);
    await sleep(500);
  }
}

/** Parses the one JSON line a caller printed (the last line of the container's log). */
export function callerAnswer(log: string): CallerAnswer {
  const line = log.trim().split('\n').filter((entry) => entry.startsWith('{')).at(-1);
  if (!line) throw new Error(`the caller printed no JSON line:\n${log}`);
  return JSON.parse(line) as CallerAnswer;
}
