import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { join } from 'node:path';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { ROOT } from '../helpers/paths.js';
import { helmBinary, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { runCommand } from './support/processes.js';

const CHART = join(ROOT, 'charts', 'pod-identity-webhook');
const NAMESPACE = 'modes';
const NAME = 'pod-identity-webhook';
const CONFIGURATION = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`;
/** A watch's events are few (one upgrade); more than this many bytes is a bug. */
const MAX_WATCH_BYTES = 4 * 1024 * 1024;

type WebhookConfiguration = KubeObject & { webhooks?: Array<{ name: string; clientConfig: { caBundle?: string } }> };

/** The caBundle of the chart's webhook, decoded ('' when there is none). */
function bundleOf(configuration: WebhookConfiguration): string {
  const encoded = configuration.webhooks?.find((webhook) => webhook.name === 'mutate.pod-identity-webhook.io')?.clientConfig.caBundle;
  return encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
}

/** The SHA-256 fingerprints of a PEM bundle's certificates, in order. */
function fingerprints(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((match) => new X509Certificate(match[0]).fingerprint256);
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/**
 * Every version of the configuration the API server stores from `resourceVersion` on, as a watch
 * sees it (one real watch, closed by `stop`): what the API server had at each moment of an upgrade.
 */
function watchConfiguration(cp: ControlPlane, resourceVersion: string): { stop: () => Promise<Array<{ type: string; object: WebhookConfiguration }>> } {
  const events: Array<{ type: string; object: WebhookConfiguration }> = [];
  const credentials = cp.admin.credentials as { clientCertificate: { cert: string; key: string } };
  let buffered = '';
  let received = 0;
  let failure: Error | undefined;
  const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?watch=1&fieldSelector=metadata.name%3D${NAME}&resourceVersion=${resourceVersion}&timeoutSeconds=120`;
  const req = request(new URL(path, cp.server), { ca: cp.admin.caCert, cert: credentials.clientCertificate.cert, key: credentials.clientCertificate.key, agent: false }, (res) => {
    if (res.statusCode !== 200) failure = new Error(`watch: HTTP ${res.statusCode}`);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      received += chunk.length;
      if (received > MAX_WATCH_BYTES) return req.destroy(new Error('watch: too much data'));
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') events.push(JSON.parse(line) as { type: string; object: WebhookConfiguration });
      }
    });
  });
  req.on('error', (error) => {
    if (!req.destroyed || failure === undefined) failure ??= error;
  });
  req.end();
  return {
    stop: async () => {
      // The watch delivers an update within milliseconds; give the last one time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      req.destroy();
      if (failure && !/socket hang up|aborted/.test(failure.message)) throw failure;
      return events;
    },
  };
}

for (const release of kubernetesReleases()) {
  describe(`the chart's caBundle across certificate-mode switches and --force, on a real kube-apiserver ${release.version}`, function () {
    this.timeout(240_000);
    let cp: ControlPlane | undefined;

    before(async () => {
      cp = await ControlPlane.create(release);
    });
    after(async () => {
      await cp?.stop();
    });

    function helm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return runCommand(helmBinary(), [...args, '--namespace', NAMESPACE, '--kubeconfig', cp!.adminKubeconfig], { timeoutMs: 60_000 });
    }

    async function configuration(): Promise<WebhookConfiguration> {
      return (await cp!.admin.expect(200, 'GET', CONFIGURATION)) as WebhookConfiguration;
    }

    /** Runs `helm args` while watching the configuration; every caBundle the API server held meanwhile, then the last. */
    async function bundlesDuring(args: readonly string[]): Promise<{ seen: string[]; last: string }> {
      const before = await configuration();
      const watch = watchConfiguration(cp!, before.metadata!.resourceVersion!);
      const result = await helm(args);
      const events = await watch.stop();
      assert.equal(result.code, 0, `helm ${args.join(' ')}: ${result.stderr}`);
      assert.ok(events.every((event) => event.type === 'MODIFIED'), events.map((event) => event.type).join(', '));
      return { seen: [bundleOf(before), ...events.map((event) => bundleOf(event.object))], last: bundleOf(await configuration()) };
    }

    const manual = (certificates: { caCert: string; cert: string; key: string }): string[] => [
      '--set', 'certificates.mode=manual',
      '--set-string', `certificates.manual.caBundle=${certificates.caCert}`,
      '--set-string', `certificates.manual.tlsCrt=${certificates.cert}`,
      '--set-string', `certificates.manual.tlsKey=${certificates.key}`,
    ];

    /** A fresh release (any earlier one uninstalled) with `values`; the configuration's caBundle then. */
    async function install(values: readonly string[]): Promise<string> {
      const removed = await helm(['uninstall', 'piw', '--ignore-not-found', '--wait']);
      assert.equal(removed.code, 0, removed.stderr);
      const installed = await helm(['install', 'piw', CHART, '--create-namespace', ...values]);
      assert.equal(installed.code, 0, installed.stderr);
      return bundleOf(await configuration());
    }

    /** What the self-managed webhook does once it runs: its CA, written into the configuration. */
    async function webhookTakesOver(): Promise<string> {
      const own = generateCertificates({ service: NAME, namespace: NAMESPACE });
      const live = await configuration();
      for (const webhook of live.webhooks!) webhook.clientConfig.caBundle = Buffer.from(own.caCert).toString('base64');
      await cp!.admin.expect(200, 'PUT', CONFIGURATION, live);
      return own.caCert;
    }

    it('manual → self-managed: the manual caBundle at every moment (no webhook runs: the chart carried it), the manual Secret left behind', async () => {
      const first = generateCertificates({ service: NAME, namespace: NAMESPACE });
      assert.deepEqual(fingerprints(await install(manual(first))), [fingerprint(first.caCert)]);

      const switched = await bundlesDuring(['upgrade', 'piw', CHART, '--set', 'certificates.mode=self-managed']);
      for (const bundle of switched.seen) assert.deepEqual(fingerprints(bundle), [fingerprint(first.caCert)], 'the manual CA, at every moment of the switch');
      assert.deepEqual(fingerprints(switched.last), [fingerprint(first.caCert)]);
      // The manual Secret stays for the old replicas (helm.sh/resource-policy: keep); the self-managed one is created empty.
      assert.equal((await cp!.admin.request('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${NAME}-tls`)).status, 200, 'the manual Secret is left behind');
      const certs = (await cp!.admin.expect(200, 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${NAME}-certs`)) as KubeObject & { data?: unknown };
      assert.equal(certs.data, undefined);
    });

    it('helm upgrade --force (every object replaced) and an ordinary upgrade keep the caBundle the self-managed webhook wrote', async () => {
      assert.equal(await install([]), '', 'a fresh self-managed release renders no caBundle');
      const own = await webhookTakesOver();
      const forced = await bundlesDuring(['upgrade', 'piw', CHART, '--reuse-values', '--force']);
      for (const bundle of forced.seen) assert.deepEqual(fingerprints(bundle), [fingerprint(own)], 'the webhook\'s CA, at every moment of --force');
      assert.deepEqual(fingerprints(forced.last), [fingerprint(own)]);
      const again = await bundlesDuring(['upgrade', 'piw', CHART, '--reuse-values', '--set', 'replicas=3']);
      for (const bundle of again.seen) assert.deepEqual(fingerprints(bundle), [fingerprint(own)], 'and of an ordinary upgrade');
    });

    it('self-managed → manual: the self-managed CA stays beside the manual one until the next upgrade; manual --force keeps the given bundle', async () => {
      assert.equal(await install([]), '');
      const own = await webhookTakesOver();
      const second = generateCertificates({ service: NAME, namespace: NAMESPACE });
      const back = await bundlesDuring(['upgrade', 'piw', CHART, ...manual(second)]);
      for (const bundle of back.seen) assert.ok(fingerprints(bundle).includes(fingerprint(own)), 'the self-managed CA, at every moment of the switch');
      assert.deepEqual(fingerprints(back.last), [fingerprint(second.caCert), fingerprint(own)]);
      // The next upgrade (manual → manual) renders the given bundle alone.
      const next = await bundlesDuring(['upgrade', 'piw', CHART, '--reuse-values']);
      for (const bundle of next.seen) assert.ok(fingerprints(bundle).includes(fingerprint(second.caCert)));
      assert.deepEqual(fingerprints(next.last), [fingerprint(second.caCert)]);
      const forced = await bundlesDuring(['upgrade', 'piw', CHART, '--reuse-values', '--force']);
      for (const bundle of forced.seen) assert.deepEqual(fingerprints(bundle), [fingerprint(second.caCert)]);
    });
  });
}
