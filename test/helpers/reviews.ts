import { randomUUID } from 'node:crypto';
import type { PatchOperation } from '../../src/webhook/engine/types.js';

export interface ReviewOptions {
  readonly apiVersion?: string;
  readonly uid?: string;
  readonly operation?: string;
  readonly kind?: { group: string; version: string; kind: string };
  readonly resource?: { group: string; version: string; resource: string };
  readonly subResource?: string;
  readonly namespace?: string;
  readonly dryRun?: boolean;
}

/** An AdmissionReview as the kube-apiserver sends it for a pod CREATE (fields overridable). */
export function admissionReview(object: unknown, options: ReviewOptions = {}): Record<string, unknown> {
  const name = (object as { metadata?: { name?: string } } | null)?.metadata?.name;
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? randomUUID(),
      kind: options.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      resource: options.resource ?? { group: '', version: 'v1', resource: 'pods' },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: options.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      requestResource: options.resource ?? { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace: options.namespace ?? 'default',
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object,
      oldObject: null,
      dryRun: options.dryRun ?? false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

export function pod(serviceAccountName: string, extra: { namespace?: string; containers?: unknown[]; annotations?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d9f8',
      ...(extra.namespace ? { namespace: extra.namespace } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      serviceAccountName,
      containers: extra.containers ?? [{ name: 'app', image: 'busybox' }],
    },
  };
}

interface ReviewResponseBody {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[]; status?: { code: number; message: string } };
}

export function responseOf(body: unknown): ReviewResponseBody['response'] {
  return (body as ReviewResponseBody).response;
}

export function decodePatch(body: unknown): PatchOperation[] {
  const patch = responseOf(body).patch;
  return patch ? (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as PatchOperation[]) : [];
}
