import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DoctorReport, Finding } from '../../src/diagnose/report.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { crdFiles, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { assertIdentity, assertNoIdentity, createNamespace, createPod, createServiceAccount, type Pod, podManifest, type Probe, ROLE_PREFIX, setWebhookConfigurations } from './support/pods.js';
import { applyManifest, ClusterWebhook, MANIFESTS, serviceAccountToken, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT } from './support/webhook.js';

const NAMESPACE = 'apps';
const ROLE = `${ROLE_PREFIX}doctor-app`;
const PROBE: Probe = { namespace: NAMESPACE, serviceAccount: 'app' };
const CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const WEBHOOK = 'webhook/mutate.pod-identity-webhook.io';
const DAY = 86_400_000;
const SERVICE = 'service/pod-identity-webhook/pod-identity-webhook';
const DEPLOYMENT = 'deployment/pod-identity-webhook/pod-identity-webhook';
const CERTIFICATE = 'certificate/pod-identity-webhook/pod-identity-webhook';
/** A fix with a bare placeholder (doctor writes what it cannot know as <namespace>). */
const PLACEHOLDER = /\b(NS|NAME|NAMESPACE)\b/;

/** The warnings and errors of some checks, as `CODE object`, sorted. */
const raisedBy = (report: DoctorReport, ...checks: string[]): string[] =>
  report.findings
    .filter((finding) => checks.includes(finding.check) && (finding.severity === 'warning' || finding.severity === 'error'))
    .map((finding) => `${finding.code} ${finding.object ?? '-'}`)
    .sort();

interface DoctorRun {
  readonly code: number;
  readonly report: DoctorReport;
  readonly stderr: string;
}

/** The warnings and errors, as `CODE object`, sorted. */
const raised = (report: DoctorReport): string[] =>
  report.findings
    .filter((finding) => finding.severity === 'warning' || finding.severity === 'error')
    .map((finding) => `${finding.code} ${finding.object ?? '-'}`)
    .sort();

const described = (run: DoctorRun): string => JSON.stringify(run.report.findings, null, 1);

/**
 * `doctor` against a real kube-apiserver and etcd (no kubelet: pods stay Pending, which is all
 * doctor reads of them) with the webhook as its own process registered by url: healthy; a pod
 * created while the webhook was down (the API server fails open, as failurePolicy Ignore lets it);
 * a ServiceAccount annotated after its pod (the API server's own managedFields say when); a role
 * changed under a running pod; an invalid role ARN; a caBundle that does not verify the served
 * certificate; a certificate near expiry; a service clientConfig whose Service has no ready
 * endpoint, through the real service proxy; and credentials with too little RBAC.
 */
for (const release of kubernetesReleases()) {
  describe(`doctor on a real kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let cp: ControlPlane;
    let hook: ClusterWebhook | undefined;

    const doctor = async (...args: string[]): Promise<DoctorRun> => {
      const result = await runCli(['doctor', '--kubeconfig', cp.adminKubeconfig, '--output', 'json', ...args], { timeoutMs: 60_000 });
      assert.doesNotMatch(result.stderr, /unexpected error/, result.stderr);
      let report: DoctorReport;
      try {
        report = JSON.parse(result.stdout) as DoctorReport;
      } catch {
        assert.fail(`doctor printed no report (exit ${result.code}): ${result.stderr}`);
      }
      return { code: result.code, report, stderr: result.stderr };
    };

    /** The webhook (again) as a process, registered by url with its CA: the API server calls it once this returns. */
    async function startWebhook(certificates?: ReturnType<typeof generateCertificates>): Promise<ClusterWebhook> {
      hook = await ClusterWebhook.start(cp, { certificates });
      await setWebhookConfigurations(cp, [hook.configuration()], PROBE);
      return hook;
    }

    const deletePod = (name: string): Promise<KubeObject> => cp.admin.expect(200, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${name}?gracePeriodSeconds=0`);
    /** As a user does it: kubectl annotate (its field manager, kubectl-annotate, is what managedFields record). */
    const annotate = async (name: string, roleArn: string): Promise<void> => {
      const result = await cp.kubectl(['-n', NAMESPACE, 'annotate', '--overwrite', `serviceaccount/${name}`, `eks.amazonaws.com/role-arn=${roleArn}`]);
      assert.equal(result.code, 0, result.stderr);
    };
    /** Run after each test, whether it passed or not, so that one failure does not spill into the next. */
    const cleanups: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    const ok = (run: DoctorRun, check: string, pattern: RegExp): Finding | undefined => run.report.findings.find((finding) => finding.severity === 'ok' && finding.check === check && pattern.test(finding.detail));

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      cp = controlPlane;
      await createNamespace(cp.admin, NAMESPACE);
      await createServiceAccount(cp.admin, NAMESPACE, 'app', ROLE);
      await startWebhook();
    });
    after(async () => {
      await hook?.stop();
      await controlPlane?.stop();
    });

    it('a healthy installation: verdict ok, exit 0, each check made and said how', async () => {
      const pod = await createPod(cp.admin, NAMESPACE, podManifest('healthy', 'app'));
      assertIdentity(pod, ROLE);
      const run = await doctor();
      // The harness's issuer is https://127.0.0.1:PORT: a port, which IAM would not accept.
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration'], described(run));
      assert.equal(run.report.verdict, 'ok');
      assert.equal(run.code, 0);
      assert.ok(ok(run, 'webhook-certificate', /the caBundle verifies the certificate served at 127\.0\.0\.1:\d+ .*verified in a TLS handshake/), described(run));
      assert.ok(ok(run, 'webhook-endpoints', /answers GET \/readyz at https:\/\/127\.0\.0\.1:\d+: 200/), described(run));
      assert.ok(ok(run, 'pods', /1 whose ServiceAccount has an identity, 1 of them carrying exactly what the webhook would inject/), described(run));
      assert.ok(ok(run, 'oidc', new RegExp(`served by the API server: issuer "${cp.issuer.replaceAll('.', '\\.')}"`)), described(run));
      assert.ok(ok(run, 'oidc', /1 RSA signing key/), described(run));
      assert.ok(run.report.findings.some((finding) => finding.code === 'FAILURE_POLICY_IGNORE' && finding.severity === 'info'));
    });

    it('pods created while the webhook was down: POD_NOT_MUTATED errors naming each pod and how to recreate it', async () => {
      await hook!.stop();
      hook = undefined;
      // The API server cannot call the webhook and, with failurePolicy Ignore, admits the pods unmutated.
      const alone = await createPod(cp.admin, NAMESPACE, podManifest('while-down', 'app'));
      const replica: Pod = {
        ...podManifest('web-5d4f8c7b9-x7k2p', 'app', { app: 'web', 'pod-template-hash': '5d4f8c7b9' }),
      };
      replica.metadata = { ...replica.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d4f8c7b9', uid: '8d0f1a3e-5b7c-4d2e-9f60-1a2b3c4d5e6f', controller: true }] } as Pod['metadata'];
      const owned = await createPod(cp.admin, NAMESPACE, replica);
      cleanups.push(() => deletePod('while-down'), () => deletePod('web-5d4f8c7b9-x7k2p'));
      assertNoIdentity(alone);
      assertNoIdentity(owned);
      await startWebhook();
      const run = await doctor();
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration', 'POD_NOT_MUTATED apps/web-5d4f8c7b9-x7k2p', 'POD_NOT_MUTATED apps/while-down'], described(run));
      assert.equal(run.report.verdict, 'broken');
      assert.equal(run.code, 1);
      const findings = run.report.findings.filter((finding) => finding.code === 'POD_NOT_MUTATED');
      assert.match(findings.find((finding) => finding.object === 'apps/web-5d4f8c7b9-x7k2p')!.fix!, /^kubectl -n apps rollout restart deployment\/web /);
      assert.match(findings.find((finding) => finding.object === 'apps/while-down')!.fix!, /^kubectl -n apps delete pod while-down/);
      assert.match(findings[0]!.detail, /failurePolicy Ignore admitted it without its identity/);
    });

    // This suite's kube-apiserver builds record no managedFields (not even after a server-side
    // apply), so the time of the annotation is not known here: the pod is found all the same, and
    // dating the annotation from managedFields is tested with a fixture in their real shape
    // (test/fixtures/doctor/pod-not-mutated-annotated-later).
    it('a ServiceAccount annotated (kubectl annotate) after its pod was created: POD_NOT_MUTATED', async () => {
      await createServiceAccount(cp.admin, NAMESPACE, 'late');
      const early = await createPod(cp.admin, NAMESPACE, podManifest('early', 'late'));
      cleanups.push(() => deletePod('early'));
      assertNoIdentity(early);
      // managedFields and creationTimestamp have whole seconds: annotate in a later second.
      await sleep(1100);
      await annotate('late', `${ROLE_PREFIX}late`);
      const run = await doctor();
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration', 'POD_NOT_MUTATED apps/early'], described(run));
      assert.match(run.report.findings.find((finding) => finding.code === 'POD_NOT_MUTATED')!.detail, /or before the ServiceAccount got its identity/);
    });

    it('a role changed under a running pod: POD_IDENTITY_STALE (a warning)', async () => {
      await createServiceAccount(cp.admin, NAMESPACE, 'mover', `${ROLE_PREFIX}before`);
      const moved = await createPod(cp.admin, NAMESPACE, podManifest('moved', 'mover'));
      cleanups.push(() => deletePod('moved'));
      assertIdentity(moved, `${ROLE_PREFIX}before`);
      await annotate('mover', `${ROLE_PREFIX}after`);
      const run = await doctor();
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration', 'POD_IDENTITY_STALE apps/moved'], described(run));
      assert.match(run.report.findings.find((finding) => finding.code === 'POD_IDENTITY_STALE')!.detail, /was given role ".*role\/before", but ServiceAccount apps\/mover now has role ".*role\/after"/);
      assert.equal(run.code, 0);
    });

    it('an invalid role-arn annotation: ROLE_ARN_INVALID, with the engine\'s own words', async () => {
      await createServiceAccount(cp.admin, NAMESPACE, 'bad', 'arn:aws:iam::111122223333:user/not-a-role');
      cleanups.push(() => cp.admin.expect(200, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/bad`));
      const run = await doctor('--namespace', NAMESPACE);
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration', 'ROLE_ARN_INVALID apps/bad'], described(run));
      assert.match(run.report.findings.find((finding) => finding.code === 'ROLE_ARN_INVALID')!.detail, /is not an IAM role ARN/);
      assert.equal(run.code, 1);
    });

    it('a caBundle that does not verify the served certificate: CA_BUNDLE_MISMATCH (from the TLS handshake)', async () => {
      const path = `${CONFIGURATIONS}/pod-identity-webhook`;
      const configuration = (await cp.admin.get(path)) as KubeObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> };
      const good = configuration.webhooks[0]!.clientConfig.caBundle;
      configuration.webhooks[0]!.clientConfig.caBundle = Buffer.from(generateCertificates({ service: 'x', namespace: 'y' }).caCert).toString('base64');
      await cp.admin.expect(200, 'PUT', path, configuration);
      try {
        const run = await doctor();
        assert.deepEqual(raised(run.report), ['CA_BUNDLE_MISMATCH webhook/mutate.pod-identity-webhook.io', 'OIDC_ISSUER_PORT /.well-known/openid-configuration'], described(run));
        assert.equal(run.code, 1);
      } finally {
        const current = (await cp.admin.get(path)) as typeof configuration;
        current.webhooks[0]!.clientConfig.caBundle = good;
        await cp.admin.expect(200, 'PUT', path, current);
      }
    });

    it('a served certificate with 5 days left: CERTIFICATE_EXPIRES_SOON, a warning (exit 0)', async () => {
      await hook!.stop();
      await startWebhook(generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, hosts: ['127.0.0.1'], validityDays: 30, now: new Date(Date.now() - 25 * DAY) }));
      cleanups.push(async () => {
        await hook!.stop();
        await startWebhook();
      });
      const run = await doctor();
      assert.deepEqual(raised(run.report), [`CERTIFICATE_EXPIRES_SOON ${WEBHOOK}`, 'OIDC_ISSUER_PORT /.well-known/openid-configuration'], described(run));
      assert.match(run.report.findings.find((finding) => finding.code === 'CERTIFICATE_EXPIRES_SOON')!.detail, /expires in 4 days|expires in 5 days/);
      assert.equal(run.code, 0);
    });

    it('a service clientConfig whose Service has no ready endpoint: NO_READY_ENDPOINTS, and what the real service proxy answers', async () => {
      // The manifests' Service (no pod matches its selector: no endpoints) and the self-managed Secret, created empty.
      await applyManifest(cp, join(MANIFESTS, 'base', 'service.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'self-managed', 'certificates.yaml'));
      // An EndpointSlice with an endpoint that is not ready (TEST-NET address: never dialled).
      await cp.admin.create(`/apis/discovery.k8s.io/v1/namespaces/${WEBHOOK_NAMESPACE}/endpointslices`, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'pod-identity-webhook-manual', labels: { 'kubernetes.io/service-name': 'pod-identity-webhook' } },
        addressType: 'IPv4',
        ports: [{ name: 'https', port: 8443, protocol: 'TCP' }],
        endpoints: [{ addresses: ['192.0.2.10'], conditions: { ready: false } }],
      });
      const ca = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE });
      const manifest = hook!.configuration({ name: 'doctor-service' }) as KubeObject & { webhooks: Array<Record<string, unknown>> };
      manifest.webhooks[0]!.clientConfig = { service: { name: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, path: '/mutate', port: 443 }, caBundle: Buffer.from(ca.caCert).toString('base64') };
      // Never called for a pod here: the test's pods go on being mutated by the url webhook.
      manifest.webhooks[0]!.objectSelector = { matchLabels: { 'doctor-e2e': 'never' } };
      await cp.admin.create(CONFIGURATIONS, manifest);
      try {
        const run = await doctor('--webhook-configuration', 'doctor-service');
        // No Deployment and no pod behind the Service's selector: nothing runs the webhook.
        assert.deepEqual(
          raised(run.report),
          ['NO_READY_ENDPOINTS service/pod-identity-webhook/pod-identity-webhook', 'OIDC_ISSUER_PORT /.well-known/openid-configuration', `WEBHOOK_DEPLOYMENT_MISSING ${SERVICE}`, `WEBHOOK_UNREACHABLE ${WEBHOOK}`],
          described(run),
        );
        assert.match(run.report.findings.find((finding) => finding.code === 'NO_READY_ENDPOINTS')!.fix!, /kubectl -n pod-identity-webhook get pods -l app\.kubernetes\.io\/name=pod-identity-webhook/);
        assert.match(run.report.findings.find((finding) => finding.code === 'NO_READY_ENDPOINTS')!.detail, /1 not ready/);
        // The real API server's answer through services/https:pod-identity-webhook:443/proxy/readyz.
        // (1.30 answers 404 when the Service has no Endpoints object, 1.37 503 "no endpoints available".)
        assert.match(run.report.findings.find((finding) => finding.code === 'WEBHOOK_UNREACHABLE')!.detail, /HTTP (404|503): ".*(no endpoints available for service|not found)/);
        const unchecked = run.report.findings.find((finding) => finding.code === 'CERTIFICATE_NOT_CHECKED');
        assert.match(unchecked?.detail ?? '', /Secret pod-identity-webhook\/pod-identity-webhook-certs has no tls\.crt yet/, described(run));

        // The Secret filled with a certificate another CA signed: the caBundle does not verify it.
        const secretPath = `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets/pod-identity-webhook-certs`;
        const secret = (await cp.admin.get(secretPath)) as KubeObject & { data?: Record<string, string> };
        const other = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE });
        secret.data = { 'tls.crt': Buffer.from(other.cert).toString('base64'), 'ca.crt': Buffer.from(other.caCert).toString('base64') };
        await cp.admin.expect(200, 'PUT', secretPath, secret);
        const mismatch = await doctor('--webhook-configuration', 'doctor-service');
        assert.ok(raised(mismatch.report).includes(`CA_BUNDLE_MISMATCH ${WEBHOOK}`), described(mismatch));
        assert.match(mismatch.report.findings.find((finding) => finding.code === 'CA_BUNDLE_MISMATCH')!.detail, /Secret pod-identity-webhook\/pod-identity-webhook-certs/);
      } finally {
        await cp.admin.expect(200, 'DELETE', `${CONFIGURATIONS}/doctor-service`);
      }
    });

    /** A configuration calling the manifests' Service (never for a pod here: the url webhook goes on mutating the test's pods). */
    async function serviceConfiguration(name: string, caBundle: string, annotations: Record<string, string> = {}): Promise<void> {
      const manifest = hook!.configuration({ name }) as KubeObject & { metadata: Record<string, unknown>; webhooks: Array<Record<string, unknown>> };
      manifest.metadata = { ...manifest.metadata, annotations };
      manifest.webhooks[0]!.clientConfig = { service: { name: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE, path: '/mutate', port: 443 }, ...(caBundle === '' ? {} : { caBundle: Buffer.from(caBundle).toString('base64') }) };
      manifest.webhooks[0]!.objectSelector = { matchLabels: { 'doctor-e2e': 'never' } };
      await cp.admin.create(CONFIGURATIONS, manifest);
      cleanups.push(() => cp.admin.expect(200, 'DELETE', `${CONFIGURATIONS}/${name}`));
    }
    const findingOf = (run: DoctorRun, code: string, object?: string): Finding => {
      const found = run.report.findings.find((finding) => finding.code === code && (object === undefined || finding.object === object));
      assert.ok(found, `no ${code} ${object ?? ''}: ${described(run)}`);
      return found;
    };
    const noPlaceholders = (run: DoctorRun): void => {
      for (const finding of run.report.findings) assert.doesNotMatch(finding.fix ?? '', PLACEHOLDER, `${finding.code}: ${finding.fix}`);
    };

    it('the Deployment behind a service clientConfig: "0/2 ready, no ReplicaSet" (no controller-manager here), then its pods Pending and unscheduled, crash-looping', async () => {
      const apps = `/apis/apps/v1/namespaces/${WEBHOOK_NAMESPACE}`;
      const pods = `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/pods`;
      await applyManifest(cp, join(MANIFESTS, 'base', 'service.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'base', 'deployment.yaml'));
      cleanups.push(() => cp.admin.expect(200, 'DELETE', `${apps}/deployments/pod-identity-webhook`));
      await serviceConfiguration('doctor-deployment', generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE }).caCert);

      const before = await doctor('--webhook-configuration', 'doctor-deployment');
      assert.equal(before.report.schemaVersion, 'doctor.pod-identity-webhook/v1');
      assert.deepEqual(raisedBy(before.report, 'webhook-deployment'), [`WEBHOOK_DEPLOYMENT_NO_REPLICASET ${DEPLOYMENT}`], described(before));
      const noReplicaSet = findingOf(before, 'WEBHOOK_DEPLOYMENT_NO_REPLICASET');
      assert.match(noReplicaSet.detail, /^0\/2 ready, no ReplicaSet/);
      assert.match(noReplicaSet.fix!, /kube-controller-manager .*kubectl -n pod-identity-webhook describe deployment pod-identity-webhook$/);
      noPlaceholders(before);
      assert.equal(before.code, 1);

      // The ReplicaSet and its pods as the controllers would make them (owner references with uids), made by hand.
      const deployment = (await cp.admin.get(`${apps}/deployments/pod-identity-webhook`)) as KubeObject & { metadata: { uid: string }; spec: { template: { metadata: { labels: Record<string, string> }; spec: Pod['spec'] } } };
      const labels = { ...deployment.spec.template.metadata.labels, 'pod-template-hash': '5f7d8c9b6' };
      const replicaSet = (await cp.admin.create(`${apps}/replicasets`, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'pod-identity-webhook-5f7d8c9b6', labels, annotations: { 'deployment.kubernetes.io/revision': '1' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'pod-identity-webhook', uid: deployment.metadata.uid, controller: true }] },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: deployment.spec.template.spec } },
      })) as KubeObject & { metadata: { uid: string } };
      cleanups.push(() => cp.admin.expect(200, 'DELETE', `${apps}/replicasets/pod-identity-webhook-5f7d8c9b6`));
      for (const suffix of ['noscheduler', 'unschedulable', 'crashing']) {
        await cp.admin.create(pods, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `pod-identity-webhook-5f7d8c9b6-${suffix}`, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'pod-identity-webhook-5f7d8c9b6', uid: replicaSet.metadata.uid, controller: true }] },
          spec: deployment.spec.template.spec,
        });
        cleanups.push(() => cp.admin.expect(200, 'DELETE', `${pods}/pod-identity-webhook-5f7d8c9b6-${suffix}?gracePeriodSeconds=0`));
      }
      // What a scheduler and a kubelet would write, through the status subresource.
      const merge = 'application/merge-patch+json';
      await cp.admin.expect(200, 'PATCH', `${pods}/pod-identity-webhook-5f7d8c9b6-unschedulable/status`, {
        status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }] },
      }, merge);
      await cp.admin.expect(200, 'PATCH', `${pods}/pod-identity-webhook-5f7d8c9b6-crashing/status`, {
        status: {
          conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
          containerStatuses: [
            {
              name: 'webhook',
              image: 'pod-identity-webhook:dev',
              imageID: '',
              ready: false,
              restartCount: 7,
              state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=webhook' } },
              lastState: { terminated: { reason: 'Error', exitCode: 2, startedAt: '2030-01-01T00:09:59Z', finishedAt: '2030-01-01T00:10:00Z' } },
            },
          ],
        },
      }, merge);

      const after = await doctor('--webhook-configuration', 'doctor-deployment');
      const pod = (suffix: string): string => `${WEBHOOK_NAMESPACE}/pod-identity-webhook-5f7d8c9b6-${suffix}`;
      assert.deepEqual(
        raisedBy(after.report, 'webhook-deployment'),
        [`WEBHOOK_DEPLOYMENT_UNAVAILABLE ${DEPLOYMENT}`, `WEBHOOK_POD_CRASH_LOOPING ${pod('crashing')}`, `WEBHOOK_POD_UNSCHEDULED ${pod('noscheduler')}`, `WEBHOOK_POD_UNSCHEDULED ${pod('unschedulable')}`],
        described(after),
      );
      assert.match(findingOf(after, 'WEBHOOK_DEPLOYMENT_UNAVAILABLE').detail, /^0\/2 ready \(ReplicaSet pod-identity-webhook-5f7d8c9b6: 0 of 2 pods created, 0 ready; 3 pods of it found, 0 ready\)/);
      assert.match(findingOf(after, 'WEBHOOK_POD_UNSCHEDULED', pod('unschedulable')).detail, /^Pending, unscheduled: Unschedulable: "0\/3 nodes are available: 3 Insufficient memory\."/);
      assert.match(findingOf(after, 'WEBHOOK_POD_UNSCHEDULED', pod('noscheduler')).detail, /no scheduler has looked at it/);
      const crash = findingOf(after, 'WEBHOOK_POD_CRASH_LOOPING');
      assert.match(crash.detail, /CrashLoopBackOff, 7 restarts; last terminated: Error, exit code 2 at 2030-01-01T00:10:00Z/);
      assert.equal(crash.fix, 'read the previous container\'s log: kubectl -n pod-identity-webhook logs pod-identity-webhook-5f7d8c9b6-crashing -c webhook --previous');
      noPlaceholders(after);

      // Credentials that may read everything else but nothing in group apps: that check is not made (CHECK_FORBIDDEN), nothing is guessed.
      await createServiceAccount(cp.admin, NAMESPACE, 'doctor-no-apps');
      await cp.admin.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'doctor-no-apps' },
        rules: [
          { apiGroups: ['', 'admissionregistration.k8s.io', 'discovery.k8s.io', 'cert-manager.io'], resources: ['*'], verbs: ['get', 'list'] },
          { nonResourceURLs: ['*'], verbs: ['get'] },
        ],
      });
      await cp.admin.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'doctor-no-apps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'doctor-no-apps' },
        subjects: [{ kind: 'ServiceAccount', name: 'doctor-no-apps', namespace: NAMESPACE }],
      });
      cleanups.push(
        () => cp.admin.expect(200, 'DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/doctor-no-apps'),
        () => cp.admin.expect(200, 'DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/doctor-no-apps'),
        () => cp.admin.expect(200, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/doctor-no-apps`),
      );
      const kubeconfig = cp.writeKubeconfig('doctor-no-apps', { token: await serviceAccountToken(cp, NAMESPACE, 'doctor-no-apps') });
      const limited = await runCli(['doctor', '--kubeconfig', kubeconfig, '--output', 'json', '--webhook-configuration', 'doctor-deployment'], { timeoutMs: 60_000 });
      const report = JSON.parse(limited.stdout) as DoctorReport;
      const deploymentFindings = report.findings.filter((finding) => finding.check === 'webhook-deployment' && finding.severity !== 'ok' && finding.severity !== 'info');
      assert.deepEqual(
        deploymentFindings.map((finding) => finding.code),
        ['CHECK_FORBIDDEN', 'CHECK_FORBIDDEN', 'WEBHOOK_POD_CRASH_LOOPING', 'WEBHOOK_POD_UNSCHEDULED', 'WEBHOOK_POD_UNSCHEDULED'],
        JSON.stringify(report.findings, null, 1),
      );
      assert.match(deploymentFindings[0]!.detail, /cannot read the Deployments of namespace pod-identity-webhook: HTTP 403: deployments\.apps is forbidden/);
      assert.match(deploymentFindings[1]!.detail, /cannot read the ReplicaSets of namespace pod-identity-webhook: HTTP 403: replicasets\.apps is forbidden/);
    });

    it('the cert-manager mode: the Certificate inject-ca-from names, before cert-manager\'s CRDs, missing, not Ready, its CA not injected, then injected', async () => {
      const certificates = `/apis/cert-manager.io/v1/namespaces/${WEBHOOK_NAMESPACE}/certificates`;
      await applyManifest(cp, join(MANIFESTS, 'base', 'service.yaml'));
      // No self-managed Secret left by an earlier test: before the Certificate is read, doctor finds no certificate to compare.
      await cp.admin.request('DELETE', `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets/pod-identity-webhook-certs`);
      // As manifests/cert-manager has it, before the injector has written the caBundle.
      await serviceConfiguration('doctor-cert-manager', '', { 'cert-manager.io/inject-ca-from': `${WEBHOOK_NAMESPACE}/pod-identity-webhook` });
      const run = async (): Promise<DoctorRun> => {
        const result = await doctor('--webhook-configuration', 'doctor-cert-manager');
        noPlaceholders(result);
        return result;
      };

      const uninstalled = await run();
      assert.deepEqual(raisedBy(uninstalled.report, 'webhook-certificate'), [`CERT_MANAGER_NOT_INSTALLED ${CERTIFICATE}`], described(uninstalled));

      for (const crd of crdFiles().filter((file) => /cert-manager\.io_/.test(file))) await applyManifest(cp, crd);
      const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', 'certificates.cert-manager.io', 'issuers.cert-manager.io']);
      assert.equal(established.code, 0, established.stderr);
      const missing = await run();
      assert.deepEqual(raisedBy(missing.report, 'webhook-certificate'), [`CERT_MANAGER_CERTIFICATE_MISSING ${CERTIFICATE}`], described(missing));

      await applyManifest(cp, join(MANIFESTS, 'cert-manager', 'certificate.yaml'));
      cleanups.push(() => cp.kubectl(['delete', '-f', join(MANIFESTS, 'cert-manager', 'certificate.yaml')]));
      const unprocessed = await run();
      assert.deepEqual(raisedBy(unprocessed.report, 'webhook-certificate'), [`CERT_MANAGER_CERTIFICATE_NOT_READY ${CERTIFICATE}`], described(unprocessed));
      assert.match(findingOf(unprocessed, 'CERT_MANAGER_CERTIFICATE_NOT_READY').detail, /no Ready condition yet.*its Secret pod-identity-webhook\/pod-identity-webhook-tls/);
      // The Secret is cert-manager's to write: the fix names the Certificate, not --certificate-secret.
      assert.match(findingOf(unprocessed, 'CERTIFICATE_NOT_CHECKED').fix!, /^cert-manager writes Secret pod-identity-webhook\/pod-identity-webhook-tls for Certificate pod-identity-webhook\/pod-identity-webhook: kubectl -n pod-identity-webhook describe certificate pod-identity-webhook$/);

      // What cert-manager would do: Ready False with its reason, then the Secret and Ready True.
      const merge = 'application/merge-patch+json';
      const condition = (status: string, reason: string, message: string): unknown => ({ status: { conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } });
      await cp.admin.expect(200, 'PATCH', `${certificates}/pod-identity-webhook/status`, condition('False', 'DoesNotExist', 'Issuer pod-identity-webhook-ca not found'), merge);
      const notReady = await run();
      assert.match(findingOf(notReady, 'CERT_MANAGER_CERTIFICATE_NOT_READY').detail, /Ready False: DoesNotExist: "Issuer pod-identity-webhook-ca not found"/);

      const issued = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE });
      const b64 = (text: string): string => Buffer.from(text).toString('base64');
      await cp.admin.create(`/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: 'pod-identity-webhook-tls' },
        data: { 'tls.crt': b64(issued.cert), 'tls.key': b64(issued.key), 'ca.crt': b64(issued.caCert) },
      });
      cleanups.push(() => cp.admin.expect(200, 'DELETE', `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/secrets/pod-identity-webhook-tls`));
      await cp.admin.expect(200, 'PATCH', `${certificates}/pod-identity-webhook/status`, condition('True', 'Ready', 'Certificate is up to date and has not expired'), merge);
      const notInjected = await run();
      // The injector's finding, not CA_BUNDLE_EMPTY with a fix that does not apply.
      assert.deepEqual(raisedBy(notInjected.report, 'webhook-certificate'), [`CERT_MANAGER_CA_NOT_INJECTED ${WEBHOOK}`], described(notInjected));
      assert.match(findingOf(notInjected, 'CERT_MANAGER_CA_NOT_INJECTED').detail, /has no caBundle: cert-manager's CA injector has not injected the ca\.crt of Secret pod-identity-webhook\/pod-identity-webhook-tls/);

      // What the injector writes: the Secret's ca.crt.
      const path = `${CONFIGURATIONS}/doctor-cert-manager`;
      const configuration = (await cp.admin.get(path)) as KubeObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> };
      configuration.webhooks[0]!.clientConfig.caBundle = b64(issued.caCert);
      await cp.admin.expect(200, 'PUT', path, configuration);
      const injected = await run();
      assert.deepEqual(raisedBy(injected.report, 'webhook-certificate'), [], described(injected));
      assert.ok(ok(injected, 'webhook-certificate', /Certificate pod-identity-webhook\/pod-identity-webhook \(named by cert-manager\.io\/inject-ca-from\) is Ready/), described(injected));
      assert.ok(ok(injected, 'webhook-certificate', /the caBundle holds the ca\.crt of Secret pod-identity-webhook\/pod-identity-webhook-tls/), described(injected));
      assert.ok(ok(injected, 'webhook-certificate', /the caBundle verifies the certificate in Secret pod-identity-webhook\/pod-identity-webhook-tls/), described(injected));
    });

    it("the webhook's own credentials (its RBAC reads ServiceAccounts and its configuration only): CHECK_FORBIDDEN for what it may not read", async () => {
      const token = await serviceAccountToken(cp, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT);
      const kubeconfig = cp.writeKubeconfig('doctor-limited', { token });
      const result = await runCli(['doctor', '--kubeconfig', kubeconfig, '--output', 'json'], { timeoutMs: 60_000 });
      const report = JSON.parse(result.stdout) as DoctorReport;
      const forbidden = report.findings.filter((finding) => finding.code === 'CHECK_FORBIDDEN');
      assert.ok(forbidden.some((finding) => finding.check === 'pods' && /cannot read the pods: HTTP 403: pods is forbidden/.test(finding.detail)), JSON.stringify(report.findings, null, 1));
      assert.ok(forbidden.some((finding) => finding.check === 'webhook-selectors' && /namespaces is forbidden/.test(finding.detail)));
      assert.ok(report.findings.some((finding) => finding.severity === 'ok' && finding.check === 'service-accounts'), 'it may list ServiceAccounts');
      // Checks it could not make: not ok, whatever else held.
      assert.equal(report.verdict, 'incomplete');
      assert.equal(result.code, 3, result.stderr);
    });

    it('Pod Identity from the identities ConfigMap: a listed ServiceAccount\'s pod without it is POD_NOT_MUTATED', async () => {
      await createServiceAccount(cp.admin, NAMESPACE, 'agent');
      await cp.admin.create(`/api/v1/namespaces/${NAMESPACE}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'pod-identities' },
        data: { config: JSON.stringify({ identities: [{ namespace: NAMESPACE, serviceAccount: 'agent' }] }) },
      });
      // This webhook was not given the identities: it leaves the pod alone.
      const agent = await createPod(cp.admin, NAMESPACE, podManifest('agent', 'agent'));
      cleanups.push(() => deletePod('agent'));
      assertNoIdentity(agent);
      const run = await doctor('--watch-container-credentials-config-map', `${NAMESPACE}/pod-identities`);
      assert.deepEqual(raised(run.report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration', 'POD_NOT_MUTATED apps/agent'], described(run));
      assert.match(run.report.findings.find((finding) => finding.code === 'POD_NOT_MUTATED')!.detail, /is listed for Pod Identity/);
      assert.ok(ok(run, 'pod-identities', /1 ServiceAccount listed for Pod Identity/), described(run));
    });
  });
}
