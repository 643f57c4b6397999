import { waitFor } from '../../../helpers/wait.js';
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
export function waitForPodCompletion(client: KubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<PodObject> {
  return waitFor(
    `pod ${namespace}/${name} to complete`,
    async () => {
      const pod = (await client.get(`/api/v1/namespaces/${namespace}/pods/${name}`)) as PodObject;
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod : undefined;
    },
    timeoutMs,
    500,
  );
}

/** The names of the variables a pod's first container was given, as stored. */
export function envNames(pod: PodObject): string[] {
  return ((pod.spec?.containers as { env?: { name: string }[] }[] | undefined)?.[0]?.env ?? []).map((variable) => variable.name);
}

/** Parses the one JSON line a caller printed (the last line of the container's log). */
export function callerAnswer(log: string): CallerAnswer {
  const line = log.trim().split('\n').filter((entry) => entry.startsWith('{')).at(-1);
  if (!line) throw new Error(`the caller printed no JSON line:\n${log}`);
  return JSON.parse(line) as CallerAnswer;
}
