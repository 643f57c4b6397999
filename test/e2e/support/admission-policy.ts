import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateCertificates } from '../../../src/shared/certs/generate.js';
import { writeCertificateFiles } from '../../../src/shared/certs/files.js';
import { renderAdmissionPolicies } from '../../../src/webhook/admission-policy/policies.js';
import { formatPodIdentities } from '../../../src/webhook/pod-identity/identities.js';
import type { MutationOptions } from '../../../src/webhook/engine/types.js';
import { CliProcess } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';
import type { ControlPlane } from './control-plane.js';
import type { KubeObject } from './kube-client.js';
import { type Pod, createPod } from './pods.js';
import { stopProcess, track } from './processes.js';

/** Namespaces of one option set carry this label; its webhook configuration and policy bindings select it. */
export const OPTION_SET_LABEL = 'e2e.pod-identity-webhook.io/options';

/** The `serve` flags that give the webhook `options`. */
export function mutationFlags(options: MutationOptions): string[] {
  const credentials = options.containerCredentials;
  return [
    `--annotation-prefix=${options.annotationPrefix}`,
    `--token-audience=${options.tokenAudience}`,
    `--token-expiration=${options.tokenExpirationSeconds}`,
    `--token-mount-path=${options.tokenMountPath}`,
    ...(options.awsDefaultRegion ? [`--aws-default-region=${options.awsDefaultRegion}`] : []),
    `--sts-regional-endpoint=${String(options.stsRegionalEndpoints)}`,
    ...(options.stsEndpointUrl ? [`--sts-endpoint-url=${options.stsEndpointUrl}`] : []),
    `--container-credentials-audience=${credentials.audience}`,
    `--container-credentials-token-mount-path=${credentials.tokenMountPath}`,
    `--container-credentials-token-volume-name=${credentials.tokenVolumeName}`,
    `--container-credentials-token-path=${credentials.tokenPath}`,
    `--container-credentials-full-uri=${credentials.fullUri}`,
  ];
}

export interface OptionSet {
  readonly id: string;
  readonly options: MutationOptions;
  /** `namespace/name` of the ServiceAccounts given Pod Identity. */
  readonly podIdentities: ReadonlySet<string>;
  /** Every ServiceAccount of the set (the webhook's local-mode source). */
  readonly serviceAccounts: readonly KubeObject[];
}

/**
 * The webhook in local mode (`serve --service-accounts DIR`) with one option set's flags and Pod
 * Identity file, on 127.0.0.1, and its MutatingWebhookConfiguration selecting the set's namespaces.
 */
export class OptionSetWebhook {
  private constructor(
    readonly process: CliProcess,
    readonly url: string,
    readonly caCert: string,
  ) {}

  static async start(dir: string, set: OptionSet): Promise<OptionSetWebhook> {
    const setDir = join(dir, set.id);
    mkdirSync(join(setDir, 'service-accounts'), { recursive: true });
    writeFileSync(join(setDir, 'service-accounts', 'all.yaml'), set.serviceAccounts.map((account) => stringify(account)).join('---\n'));
    const identities = join(setDir, 'identities.json');
    writeFileSync(identities, formatPodIdentities([...set.podIdentities].map((key) => ({ namespace: key.split('/')[0]!, serviceAccount: key.split('/')[1]! }))));
    const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(join(setDir, 'certs'), certificates);
    const process = CliProcess.start([
      'serve',
      '--service-accounts',
      join(setDir, 'service-accounts'),
      '--watch-container-credentials-config',
      identities,
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--tls-cert',
      join(setDir, 'certs', 'tls.crt'),
      '--tls-key',
      join(setDir, 'certs', 'tls.key'),
      ...mutationFlags(set.options),
    ]);
    track(process.child);
    try {
      const listening = await process.line('listening', 30_000);
      return new OptionSetWebhook(process, String(listening.address), certificates.caCert);
    } catch (error) {
      await stopProcess(process.child);
      throw new Error(`${String(error)}\nwebhook stderr: ${process.stderr.slice(-2000)}`);
    }
  }

  configuration(set: OptionSet): KubeObject {
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: `piw-${set.id}` },
      webhooks: [
        {
          name: 'mutate.pod-identity-webhook.io',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          // Fail: a webhook that cannot answer must show up as a failed creation, not as a difference.
          failurePolicy: 'Fail',
          reinvocationPolicy: 'IfNeeded',
          timeoutSeconds: 10,
          clientConfig: { url: `${this.url}/mutate`, caBundle: Buffer.from(this.caCert).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          objectSelector: { matchExpressions: [{ key: 'pod-identity-webhook.io/skip', operator: 'NotIn', values: ['true'] }] },
          namespaceSelector: { matchLabels: { [OPTION_SET_LABEL]: set.id } },
        },
      ],
    };
  }

  async stop(): Promise<void> {
    await stopProcess(this.process.child);
  }
}

/** The set's policies and bindings as `manifests --mode admission-policy` renders them, bound to the set's namespaces. */
export function optionSetPolicies(set: OptionSet): KubeObject[] {
  const objects = renderAdmissionPolicies({ mutation: set.options, podIdentities: set.podIdentities, name: `piw-${set.id}`, failurePolicy: 'Fail' });
  return objects.map((object) => {
    if (object.kind !== 'MutatingAdmissionPolicyBinding') return object as KubeObject;
    const spec = object.spec as Record<string, unknown>;
    return { ...object, spec: { ...spec, matchResources: { namespaceSelector: { matchLabels: { [OPTION_SET_LABEL]: set.id } } } } } as KubeObject;
  });
}

const POLICIES = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies';
const BINDINGS = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings';

/** Creates policies and bindings (real objects), failing with the API server's message. */
export async function createPolicyObjects(controlPlane: ControlPlane, objects: readonly KubeObject[]): Promise<void> {
  for (const object of objects) await controlPlane.admin.create(object.kind === 'MutatingAdmissionPolicy' ? POLICIES : BINDINGS, object);
}

/** Waits until a dry-run pod of `serviceAccount` in `namespace` comes back with an AWS_ variable (the API server's informers have the new objects). */
export async function waitForInjection(controlPlane: ControlPlane, namespace: string, serviceAccount: string, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const pod = await createPod(controlPlane.admin, namespace, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe' }, spec: { serviceAccountName: serviceAccount, containers: [{ name: 'probe', image: 'registry.k8s.io/pause:3.9' }] } }, true);
      return (pod.spec.containers[0]?.env ?? []).some((entry) => entry.name.startsWith('AWS_'));
    },
    30_000,
    200,
  );
}

/** The stored pod without what differs between any two creations (uid, times, the API token volume's random suffix). */
export function comparable(pod: Pod): unknown {
  const text = JSON.stringify(pod).replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-*');
  const copy = JSON.parse(text) as Pod & { status?: unknown };
  const metadata = copy.metadata ?? {};
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation']) delete (metadata as Record<string, unknown>)[field];
  delete copy.status;
  return copy;
}
