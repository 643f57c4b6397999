import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCertificates } from '../../../src/shared/certs/generate.js';
import type { KubeObject } from './kube-client.js';
import type { Pod } from './pods.js';

export const SIDECAR_LABEL = 'e2e.pod-identity-webhook.io/sidecar';
/** With SIDECAR_LABEL: the injector also renames the volume aws-iam-token (and its mounts) to RENAMED_TOKEN_VOLUME. */
export const RENAME_TOKEN_LABEL = 'e2e.pod-identity-webhook.io/rename-token-volume';
export const RENAMED_TOKEN_VOLUME = 'renamed-token';

/** The ops renaming the volume aws-iam-token and every mount of it, as a webhook that renames volumes would. */
function renameTokenVolume(pod: Pod): unknown[] {
  const ops: unknown[] = [];
  (pod.spec.volumes ?? []).forEach((volume, index) => {
    if (volume.name === 'aws-iam-token') ops.push({ op: 'replace', path: `/spec/volumes/${index}/name`, value: RENAMED_TOKEN_VOLUME });
  });
  for (const group of ['containers', 'initContainers'] as const) {
    (pod.spec[group] ?? []).forEach((container, index) => {
      (container.volumeMounts ?? []).forEach((mount, at) => {
        if (mount.name === 'aws-iam-token') ops.push({ op: 'replace', path: `/spec/${group}/${index}/volumeMounts/${at}/name`, value: RENAMED_TOKEN_VOLUME });
      });
    });
  }
  return ops;
}

/**
 * Another mutating webhook, as a sidecar injector would be: it adds a container named `sidecar` to
 * pods labelled SIDECAR_LABEL=true (and renames the token volume of those also labelled RENAME_TOKEN_LABEL=true). Registered under a name sorting after pod-identity-webhook, it
 * runs after ours, so only reinvocation (reinvocationPolicy: IfNeeded) can give that container the identity.
 */
export class SidecarWebhook {
  /** The pods (namespace/name) of every review received, in order. */
  readonly reviewed: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly caCert: string,
  ) {}

  static async start(): Promise<SidecarWebhook> {
    const certificates = generateCertificates({ service: 'sidecar-injector', namespace: 'default', hosts: ['127.0.0.1'] });
    let webhook: SidecarWebhook | undefined;
    const server = createServer({ cert: certificates.cert, key: certificates.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string; namespace: string; object: Pod } };
        const pod = review.request.object;
        webhook?.reviewed.push(`${review.request.namespace}/${pod.metadata?.name ?? ''}`);
        const hasSidecar = pod.spec.containers.some((container) => container.name === 'sidecar');
        const ops = [
          ...(pod.metadata?.labels?.[RENAME_TOKEN_LABEL] === 'true' ? renameTokenVolume(pod) : []),
          ...(hasSidecar ? [] : [{ op: 'add', path: '/spec/containers/-', value: { name: 'sidecar', image: 'registry.k8s.io/pause:3.9' } }]),
        ];
        const patch = ops.length > 0 ? ops : undefined;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: review.request.uid,
              allowed: true,
              ...(patch ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}),
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    webhook = new SidecarWebhook(server, certificates.caCert);
    return webhook;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/inject`;
  }

  configuration(): KubeObject {
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'zz-e2e-sidecar-injector' },
      webhooks: [
        {
          name: 'inject.sidecar.e2e.pod-identity-webhook.io',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Fail',
          reinvocationPolicy: 'Never',
          clientConfig: { url: this.url, caBundle: Buffer.from(this.caCert).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          objectSelector: { matchLabels: { [SIDECAR_LABEL]: 'true' } },
        },
      ],
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
