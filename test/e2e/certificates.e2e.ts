import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { parse } from 'yaml';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { httpsRequest } from '../helpers/https-client.js';
import { opensslCertificate, type OpensslKeyType } from '../helpers/openssl.js';
import { CliProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { createNamespace, createPod, createServiceAccount, INJECTED_ROLE_ANNOTATION, podManifest, ROLE_PREFIX } from './support/pods.js';
import { stopProcess, track } from './support/processes.js';
import { applyManifest, MANIFESTS, serviceAccountToken, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT } from './support/webhook.js';

const CONFIGURATION = 'pod-identity-webhook';
const SECRET = `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets/pod-identity-webhook-certs`;
const CONFIGURATION_PATH = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${CONFIGURATION}`;
const ROLE = `${ROLE_PREFIX}self-managed`;

/** The leaf certificate a TLS server on 127.0.0.1:port presents (not verified: that is what is being checked). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const peer: PeerCertificate = socket.getPeerCertificate();
      socket.end();
      resolve(peer.fingerprint256);
    });
    socket.on('error', reject);
  });
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;
const decoded = (value: unknown): string => Buffer.from(String(value ?? ''), 'base64').toString('utf8');

/**
 * The self-managed certificate mode on a real API server: two replicas with the manifests' own
 * RBAC (that one Secret and that one configuration, by name) agree on one certificate, write the
 * caBundle, become ready only then, and rotate a short-lived certificate under a steady stream of
 * pod creations without one call failing (with failurePolicy Ignore a failed call would show as a
 * pod admitted without its identity).
 */
for (const release of kubernetesReleases()) {
  describe(`self-managed certificates on a real kube-apiserver ${release.version}`, function () {
    this.timeout(240_000);
    let controlPlane: ControlPlane | undefined;
    const replicas: CliProcess[] = [];

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      const cp = controlPlane;
      for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) await applyManifest(cp, join(MANIFESTS, 'base', file));
      await applyManifest(cp, join(MANIFESTS, 'self-managed', 'certificates.yaml'));
      await createNamespace(cp.admin, 'apps');
      await createServiceAccount(cp.admin, 'apps', 'app', ROLE);
    });
    after(async () => {
      await Promise.all(replicas.map((replica) => stopProcess(replica.child)));
      await controlPlane?.stop();
    });

    async function startReplica(cp: ControlPlane, name: string): Promise<{ process: CliProcess; port: number }> {
      const token = await serviceAccountToken(cp, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT);
      const kubeconfig = cp.writeKubeconfig(`webhook-${name}`, { token });
      const process = CliProcess.start([
        'serve',
        '--kubeconfig', kubeconfig,
        '--bind-address', '127.0.0.1',
        '--port', '0',
        '--metrics-port', '0',
        '--certificate-mode', 'self-managed',
        '--webhook-configuration', CONFIGURATION,
        // The API server calls https://127.0.0.1:PORT: the certificate must name it.
        '--certificate-hosts', '127.0.0.1',
        '--certificate-validity', '60',
        '--certificate-check-interval', '1',
      ]);
      track(process.child);
      replicas.push(process);
      const listening = await process.line('listening', 30_000).catch((error: unknown) => assert.fail(`${String(error)}\n${process.stderr}`));
      return { process, port: Number(new URL(String(listening.address)).port) };
    }

    const readiness = async (port: number): Promise<number> =>
      (await httpsRequest(`https://127.0.0.1:${port}/readyz`, { rejectUnauthorized: false, timeoutMs: 2000 }).catch(() => ({ status: 0 }))).status;

    it('two replicas agree on one certificate, write the caBundle, and only then are ready; pods get their identity', async () => {
      const cp = controlPlane!;
      // Both start at once against the empty Secret: one write wins, the other takes it.
      const [a, b] = await Promise.all([startReplica(cp, 'a'), startReplica(cp, 'b')]);
      const secret = (await cp.admin.get(SECRET)) as KubeObject & { data?: Record<string, string> };
      const cert = decoded(secret.data?.['tls.crt']);
      assert.ok(cert.includes('BEGIN CERTIFICATE'), 'the Secret holds the certificate');
      assert.equal(await servedFingerprint(a.port), fingerprintOf(cert));
      assert.equal(await servedFingerprint(b.port), fingerprintOf(cert), 'both replicas serve the one certificate');
      const issued = [...a.process.lines, ...b.process.lines].filter((line) => line.event === 'certificate-issued');
      assert.equal(issued.length, 1, 'exactly one replica issued it');

      // No configuration yet: nothing to verify the certificate, so not ready.
      const readyBefore = await Promise.all([readiness(a.port), readiness(b.port)]);
      assert.ok(readyBefore.every((status) => status === 503), `ready without a caBundle: ${readyBefore.join(', ')}`);

      // The manifests' configuration, pointed at replica a by URL, with no caBundle: the webhook writes it.
      const manifest = parse(readFileSync(join(MANIFESTS, 'base', 'mutatingwebhookconfiguration.yaml'), 'utf8')) as KubeObject & { webhooks: Array<Record<string, unknown>> };
      manifest.webhooks[0]!.clientConfig = { url: `https://127.0.0.1:${a.port}/mutate` };
      await cp.admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', manifest);
      const written = await waitFor('the caBundle written', async () => {
        const configuration = (await cp.admin.get(CONFIGURATION_PATH)) as { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
        return configuration.webhooks[0]?.clientConfig.caBundle;
      }, 20_000, 200);
      assert.equal(decoded(written), decoded(secret.data?.['ca.crt']), 'the caBundle is the Secret\'s CA');
      await waitFor('both replicas ready', async () => (await readiness(a.port)) === 200 && (await readiness(b.port)) === 200, 20_000, 200);

      const pod = await waitFor('a mutated pod', async () => {
        const created = await createPod(cp.admin, 'apps', podManifest('first', 'app'), true);
        return created.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION] === ROLE ? created : undefined;
      }, 20_000, 200);
      assert.equal(pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION], ROLE);
    });

    it('renews a short-lived certificate under load without a single call failing', async () => {
      const cp = controlPlane!;
      const secretBefore = (await cp.admin.get(SECRET)) as KubeObject & { data?: Record<string, string> };
      const first = decoded(secretBefore.data?.['tls.crt']);
      const renewAt = new Date(new X509Certificate(first).validTo).getTime() - 20_000;
      let created = 0;
      const unmutated: string[] = [];
      // Pod creations (dry runs) one after another from before the renewal until well after it.
      const deadline = renewAt + 12_000;
      while (Date.now() < deadline) {
        const pod = await createPod(cp.admin, 'apps', podManifest(`load-${created}`, 'app'), true);
        created += 1;
        if (pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION] !== ROLE) unmutated.push(String(pod.metadata?.name));
      }
      const secretAfter = (await cp.admin.get(SECRET)) as KubeObject & { data?: Record<string, string> };
      const second = decoded(secretAfter.data?.['tls.crt']);
      assert.notEqual(fingerprintOf(second), fingerprintOf(first), 'the certificate was renewed');
      assert.equal(decoded(secretAfter.data?.['ca.crt']), decoded(secretBefore.data?.['ca.crt']), 'under the same CA');
      const [a, b] = replicas;
      await waitFor('both replicas serving the renewed certificate', async () => {
        const ports = [a!, b!].map((replica) => Number(new URL(String(replica.lines.find((line) => line.event === 'listening')?.address)).port));
        const served = await Promise.all(ports.map(servedFingerprint));
        return served.every((fingerprint) => fingerprint === fingerprintOf(second));
      }, 10_000, 200);
      assert.ok(created > 20, `only ${created} pods were created during the renewal`);
      assert.deepEqual(unmutated, [], `${unmutated.length} of ${created} pods were admitted without identity during the renewal`);
    });

    it('files mode (cert-manager, manual): not ready while the caBundle does not verify the certificate, ready once it does', async () => {
      const cp = controlPlane!;
      await Promise.all(replicas.splice(0).map((replica) => stopProcess(replica.child)));
      const dir = join(cp.dir, 'files-mode');
      const served = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, hosts: ['127.0.0.1'] });
      const other = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, hosts: ['127.0.0.1'] });
      await writeCertificateFiles(dir, served);
      const token = await serviceAccountToken(cp, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT);
      // A stale caBundle: another CA's, as after a CA rotation that did not reach the configuration.
      const configuration = (await cp.admin.get(CONFIGURATION_PATH)) as KubeObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> };
      configuration.webhooks[0]!.clientConfig.caBundle = Buffer.from(other.caCert).toString('base64');
      await cp.admin.expect(200, 'PUT', CONFIGURATION_PATH, configuration);
      const process = CliProcess.start([
        'serve', '--kubeconfig', cp.writeKubeconfig('webhook-files', { token }), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0',
        '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--webhook-configuration', CONFIGURATION, '--certificate-check-interval', '1',
      ]);
      track(process.child);
      replicas.push(process);
      const port = Number(new URL(String((await process.line('listening', 30_000)).address)).port);
      await waitFor('a caBundle check', () => process.lines.some((line) => line.event === 'ca-bundle-check-failed' || line.event === 'ca-bundle-ready') || undefined, 3000).catch(() => undefined);
      const stale = await httpsRequest(`https://127.0.0.1:${port}/readyz`, { ca: served.caCert });
      assert.equal(stale.status, 503, stale.body);
      assert.equal((JSON.parse(stale.body) as { checks: Record<string, boolean> }).checks.caBundle, false);
      const fresh = (await cp.admin.get(CONFIGURATION_PATH)) as typeof configuration;
      fresh.webhooks[0]!.clientConfig.caBundle = Buffer.from(served.caCert).toString('base64');
      await cp.admin.expect(200, 'PUT', CONFIGURATION_PATH, fresh);
      await waitFor('ready once the caBundle verifies the certificate', async () => (await httpsRequest(`https://127.0.0.1:${port}/readyz`, { ca: served.caCert })).status === 200, 10_000, 200);
    });

    // The Secret holds a CA the webhook did not make. EC and Ed25519 CAs sign the serving certificate
    // (the API server, Go's crypto/x509, verifies it: pods get their identity); a CA it cannot sign
    // with (Ed448) is replaced by a new one, with a log line; either way the process stays up.
    const foreignCas: Array<{ name: string; keyType: OpensslKeyType; kept: boolean }> = [
      { name: 'an EC P-256 CA', keyType: 'ec-p256', kept: true },
      { name: 'an Ed25519 CA', keyType: 'ed25519', kept: true },
      { name: 'an Ed448 CA (unusable)', keyType: 'ed448', kept: false },
    ];
    for (const foreign of foreignCas) {
      it(`the Secret holds ${foreign.name}: ${foreign.kept ? 'it signs the serving certificate' : 'replaced, logged'}, the webhook serves, pods get their identity`, async () => {
        const cp = controlPlane!;
        await Promise.all(replicas.splice(0).map((replica) => stopProcess(replica.child)));
        const ca = opensslCertificate({ keyType: foreign.keyType });
        const secret = (await cp.admin.get(SECRET)) as KubeObject & { data?: Record<string, string> };
        secret.data = { 'ca.crt': Buffer.from(ca.certPem).toString('base64'), 'ca.key': Buffer.from(ca.keyPem).toString('base64') };
        await cp.admin.expect(200, 'PUT', SECRET, secret);
        const replica = await startReplica(cp, `foreign-${foreign.keyType}`);
        // The replica writes its caBundle into the same object meanwhile: read, change, write again on a conflict.
        for (let attempt = 1; ; attempt++) {
          const configuration = (await cp.admin.get(CONFIGURATION_PATH)) as KubeObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> };
          configuration.webhooks[0]!.clientConfig = { url: `https://127.0.0.1:${replica.port}/mutate` };
          const put = await cp.admin.request('PUT', CONFIGURATION_PATH, configuration);
          if (put.status === 200) break;
          assert.ok(put.status === 409 && attempt < 10, `PUT ${CONFIGURATION_PATH} answered ${put.status}: ${put.text}`);
        }

        const held = (await cp.admin.get(SECRET)) as KubeObject & { data?: Record<string, string> };
        const signingCa = decoded(held.data?.['ca.crt']);
        assert.equal(fingerprintOf(signingCa) === fingerprintOf(ca.certPem), foreign.kept, 'the CA first in ca.crt');
        assert.equal(replica.process.lines.some((line) => line.event === 'ca-unusable' && line.reason === 'unsupported-key'), !foreign.kept);
        assert.ok(new X509Certificate(decoded(held.data?.['tls.crt'])).verify(new X509Certificate(signingCa).publicKey));
        await waitFor('ready', async () => (await readiness(replica.port)) === 200, 20_000, 200);
        const pod = await waitFor('a mutated pod', async () => {
          const created = await createPod(cp.admin, 'apps', podManifest(`foreign-${foreign.keyType}`, 'app'), true);
          return created.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION] === ROLE ? created : undefined;
        }, 20_000, 200);
        assert.equal(pod.metadata?.annotations?.[INJECTED_ROLE_ANNOTATION], ROLE);
        assert.equal(replica.process.child.exitCode, null);
      });
    }
  });
}
