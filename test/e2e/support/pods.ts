import assert from 'node:assert/strict';
import type { ControlPlane } from './control-plane.js';
import type { KubeClient, KubeObject } from './kube-client.js';
import { waitFor } from '../../helpers/wait.js';

export const ROLE_PREFIX = 'arn:aws:iam::111122223333:role/';
export const TOKEN_DIR = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
export const INJECTED_ROLE_ANNOTATION = 'eks.amazonaws.com/injected-role-arn';
/** Never pulled: no kubelet runs, pods stay Pending. */
const IMAGE = 'registry.k8s.io/pause:3.9';

export interface Container {
  name: string;
  image?: string;
  env?: Array<{ name: string; value?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  projected?: { sources: Array<{ serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string } }> };
}

export type Pod = KubeObject & {
  spec: { serviceAccountName?: string; containers: Container[]; initContainers?: Container[]; volumes?: Volume[] };
};

export function podManifest(name: string, serviceAccountName: string, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { serviceAccountName, containers: [{ name: 'app', image: IMAGE }] },
  };
}

export function serviceAccountManifest(name: string, roleArn?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, annotations: roleArn ? { 'eks.amazonaws.com/role-arn': roleArn } : {} },
  };
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function createServiceAccount(client: KubeClient, namespace: string, name: string, roleArn?: string): Promise<KubeObject> {
  return client.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, serviceAccountManifest(name, roleArn));
}

/**
 * What the admission and explain suites start from: `namespace` and the probe's namespace, the
 * probe's ServiceAccount (role `…probe`), `app` with `roleArn` and `no-role` without one.
 */
export async function createAppServiceAccounts(client: KubeClient, namespace: string, roleArn: string, probe: Probe): Promise<void> {
  for (const name of [namespace, probe.namespace]) await createNamespace(client, name);
  await createServiceAccount(client, probe.namespace, probe.serviceAccount, `${ROLE_PREFIX}probe`);
  await createServiceAccount(client, namespace, 'app', roleArn);
  await createServiceAccount(client, namespace, 'no-role');
}

export async function createPod(client: KubeClient, namespace: string, pod: Pod, dryRun = false): Promise<Pod> {
  return (await client.create(`/api/v1/namespaces/${namespace}/pods${dryRun ? '?dryRun=All' : ''}`, pod)) as Pod;
}

export async function getPod(client: KubeClient, namespace: string, name: string): Promise<Pod> {
  return (await client.get(`/api/v1/namespaces/${namespace}/pods/${name}`)) as Pod;
}

function occurrences<T>(items: readonly T[] | undefined, match: (item: T) => boolean): number {
  return (items ?? []).filter(match).length;
}

/** The identity as stored: annotation, token volume, and in each container exactly one of each env var and the mount. */
export function assertIdentity(
  pod: Pod,
  roleArn: string,
  containers = pod.spec.containers.map((container) => container.name),
  expirationSeconds = 86400,
): void {
  const where = `pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
  assert.equal(pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION], roleArn, `${where}: ${INJECTED_ROLE_ANNOTATION}`);
  const tokenVolumes = (pod.spec.volumes ?? []).filter((volume) => volume.name === 'aws-iam-token');
  assert.equal(tokenVolumes.length, 1, `${where}: one aws-iam-token volume in ${JSON.stringify(pod.spec.volumes)}`);
  assert.deepEqual(tokenVolumes[0]!.projected?.sources, [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds, path: 'token' } }]);
  for (const name of containers) {
    const container = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((candidate) => candidate.name === name);
    assert.ok(container, `${where}: container ${name}`);
    const env = container.env ?? [];
    assert.equal(occurrences(env, (entry) => entry.name === 'AWS_ROLE_ARN' && entry.value === roleArn), 1, `${where}/${name}: AWS_ROLE_ARN once in ${JSON.stringify(env)}`);
    assert.equal(
      occurrences(env, (entry) => entry.name === 'AWS_WEB_IDENTITY_TOKEN_FILE' && entry.value === `${TOKEN_DIR}/token`),
      1,
      `${where}/${name}: AWS_WEB_IDENTITY_TOKEN_FILE once in ${JSON.stringify(env)}`,
    );
    assert.equal(occurrences(env, (entry) => entry.name.startsWith('AWS_')), 2, `${where}/${name}: only the two AWS_ variables`);
    const mounts = (container.volumeMounts ?? []).filter((mount) => mount.name === 'aws-iam-token');
    assert.deepEqual(mounts, [{ name: 'aws-iam-token', mountPath: TOKEN_DIR, readOnly: true }], `${where}/${name}: the token mount`);
  }
}

/** No trace of the webhook: no annotation, no token volume, no AWS_ variable, no token mount. */
export function assertNoIdentity(pod: Pod): void {
  const where = `pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
  assert.equal(pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION], undefined, `${where}: no ${INJECTED_ROLE_ANNOTATION}`);
  assert.equal(occurrences(pod.spec.volumes, (volume) => volume.name === 'aws-iam-token'), 0, `${where}: no aws-iam-token volume`);
  for (const container of pod.spec.containers) {
    assert.equal(occurrences(container.env, (entry) => entry.name.startsWith('AWS_')), 0, `${where}/${container.name}: no AWS_ variables`);
    assert.equal(occurrences(container.volumeMounts, (mount) => mount.name === 'aws-iam-token'), 0, `${where}/${container.name}: no token mount`);
  }
}

/** Mutating webhook configurations the tests register carry this label, so they can be swapped as a set. */
const E2E_LABEL = 'e2e.pod-identity-webhook.io/registered';

export interface Probe {
  readonly namespace: string;
  readonly serviceAccount: string;
}

async function probeMutated(controlPlane: ControlPlane, probe: Probe): Promise<boolean> {
  const pod = await createPod(controlPlane.admin, probe.namespace, podManifest('probe', probe.serviceAccount), true);
  return pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION] !== undefined;
}

/**
 * Replaces the test-registered MutatingWebhookConfigurations with `configurations`. The API server
 * picks a change up through its own informer, so the swap is confirmed with dry-run pods of a
 * ServiceAccount with a role: unmutated once the old set is gone, mutated once the new one is live.
 */
export async function setWebhookConfigurations(controlPlane: ControlPlane, configurations: readonly KubeObject[], probe: Probe): Promise<void> {
  const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
  await controlPlane.admin.expect(200, 'DELETE', `${path}?labelSelector=${encodeURIComponent(E2E_LABEL)}`);
  await waitFor('the API server to stop calling the previous webhooks', async () => !(await probeMutated(controlPlane, probe)), 20_000, 200);
  for (const configuration of configurations) {
    const metadata = configuration.metadata ?? {};
    await controlPlane.admin.create(path, { ...configuration, metadata: { ...metadata, labels: { ...metadata.labels, [E2E_LABEL]: 'true' } } });
  }
  if (configurations.length > 0) await waitFor('the API server to call the new webhooks', () => probeMutated(controlPlane, probe), 20_000, 200);
}
