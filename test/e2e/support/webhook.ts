import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeCertificateFiles } from '../../../src/shared/certs/files.js';
import { type GeneratedCertificates, generateCertificates } from '../../../src/shared/certs/generate.js';
import { httpsRequest } from '../../helpers/https-client.js';
import { ROOT } from '../../helpers/paths.js';
import { CliProcess } from '../../helpers/process.js';
import { waitFor } from '../../helpers/wait.js';
import type { ControlPlane } from './control-plane.js';
import type { KubeObject } from './kube-client.js';
import { stopProcess, track } from './processes.js';

export const MANIFESTS = join(ROOT, 'manifests');
export const WEBHOOK_NAMESPACE = 'pod-identity-webhook';
export const WEBHOOK_SERVICE_ACCOUNT = 'pod-identity-webhook';

/** `kubectl apply -f <file>` for real (not a dry run), failing with kubectl's message. */
export async function applyManifest(controlPlane: ControlPlane, file: string): Promise<void> {
  const result = await controlPlane.kubectl(['apply', '-f', file]);
  assert.equal(result.code, 0, `kubectl apply -f ${file}: ${result.stderr}`);
}

/** A token for a ServiceAccount from the TokenRequest API (no controller-manager mints Secrets here). */
export async function serviceAccountToken(controlPlane: ControlPlane, namespace: string, name: string, spec: Record<string, unknown> = {}): Promise<string> {
  const request = await controlPlane.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600, ...spec },
  });
  const token = (request.status as { token?: unknown } | undefined)?.token;
  assert.ok(typeof token === 'string' && token.length > 0, `TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** The webhook in cluster mode (`serve --kubeconfig`) as its own process, on 127.0.0.1. */
export class ClusterWebhook {
  private constructor(
    readonly process: CliProcess,
    readonly url: string,
    readonly metricsUrl: string,
    readonly caCert: string,
  ) {}

  /**
   * Applies the project's namespace, ServiceAccount and RBAC manifests and runs the webhook with a
   * token of that ServiceAccount, so it has exactly the permissions manifests/rbac.yaml grants.
   * `server` points its kubeconfig elsewhere (a proxy of the API server).
   */
  static async start(controlPlane: ControlPlane, options: { server?: string; args?: readonly string[]; certificates?: GeneratedCertificates } = {}): Promise<ClusterWebhook> {
    for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) await applyManifest(controlPlane, join(MANIFESTS, 'base', file));
    const token = await serviceAccountToken(controlPlane, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT);
    const kubeconfig = controlPlane.writeKubeconfig('webhook', { token }, options.server);
    const certsDir = join(controlPlane.dir, 'webhook-certs');
    // The API server refuses a serving certificate without an IP SAN for the URL's 127.0.0.1.
    const certificates = options.certificates ?? generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, hosts: ['127.0.0.1'] });
    await writeCertificateFiles(certsDir, certificates);
    const process = CliProcess.start([
      'serve',
      '--kubeconfig',
      kubeconfig,
      '--bind-address',
      '127.0.0.1',
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--tls-cert',
      join(certsDir, 'tls.crt'),
      '--tls-key',
      join(certsDir, 'tls.key'),
      ...(options.args ?? []),
    ]);
    track(process.child);
    try {
      const listening = await process.line('listening', 30_000);
      const url = String(listening.address);
      const webhook = new ClusterWebhook(process, url, String(listening.metrics), certificates.caCert);
      await waitFor(
        'the webhook /readyz (ServiceAccount cache synced)',
        async () => (await httpsRequest(`${url}/readyz`, { ca: certificates.caCert, timeoutMs: 2000 })).status === 200,
        30_000,
        100,
      );
      return webhook;
    } catch (error) {
      await stopProcess(process.child);
      throw new Error(`${String(error)}\nwebhook stderr: ${process.stderr.slice(-2000)}\nstdout: ${process.stdoutText.slice(-2000)}`);
    }
  }

  /** manifests/mutatingwebhookconfiguration.yaml with a url clientConfig for this process and its caBundle. */
  configuration(overrides: { name?: string; admissionReviewVersions?: readonly string[] } = {}): KubeObject {
    const manifest = parse(readFileSync(join(MANIFESTS, 'base', 'mutatingwebhookconfiguration.yaml'), 'utf8')) as KubeObject & { webhooks: Array<Record<string, unknown>> };
    assert.equal(manifest.webhooks.length, 1, 'the manifest registers one webhook');
    const [webhook] = manifest.webhooks;
    webhook!.clientConfig = { url: `${this.url}/mutate`, caBundle: Buffer.from(this.caCert).toString('base64') };
    if (overrides.admissionReviewVersions) webhook!.admissionReviewVersions = [...overrides.admissionReviewVersions];
    if (overrides.name) manifest.metadata = { ...manifest.metadata, name: overrides.name };
    return manifest;
  }

  /** The admission log lines about one pod, in order. */
  admissionLines(namespace: string, pod: string): Array<Record<string, unknown>> {
    return this.process.lines.filter((line) => line.event === 'admission' && line.namespace === namespace && line.pod === pod);
  }

  /** Waits for the webhook's `count`-th admission line about a pod (log lines are written in batches). */
  async admissionLine(namespace: string, pod: string, count = 1): Promise<Record<string, unknown>> {
    const lines = await waitFor(`${count} admission log line(s) for ${namespace}/${pod}`, () => {
      const found = this.admissionLines(namespace, pod);
      return found.length >= count ? found : undefined;
    }, 5000);
    return lines[count - 1]!;
  }

  /** One counter of the webhook's /metrics (summed over labels). */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }

  async stop(): Promise<void> {
    await stopProcess(this.process.child);
  }
}
