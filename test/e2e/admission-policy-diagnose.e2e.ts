import assert from 'node:assert/strict';
import type { DoctorReport, ExplainReport } from '../../src/diagnose/report.js';
import { renderAdmissionPolicies } from '../../src/webhook/admission-policy/policies.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { runCli } from '../helpers/cli.js';
import { createPolicyObjects, waitForInjection } from './support/admission-policy.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { assertIdentity, createNamespace, createPod, createServiceAccount, podManifest, ROLE_PREFIX } from './support/pods.js';
import { ClusterWebhook } from './support/webhook.js';

const NAMESPACE = 'apps';
const ROLE = `${ROLE_PREFIX}policy-app`;
const CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

const raised = (report: DoctorReport): string[] =>
  report.findings
    .filter((finding) => finding.severity === 'warning' || finding.severity === 'error')
    .map((finding) => `${finding.code} ${finding.object ?? '-'}`)
    .sort();

/**
 * `doctor` and `explain` in the MutatingAdmissionPolicy mode, on a real kube-apiserver of each
 * release from 1.36 (the API is GA there): the policies of `manifests --mode admission-policy`
 * created for real and a pod mutated by them; doctor with only the policies (no webhook
 * configuration) says ok, with the webhook registered beside them reports both modes; explain
 * names the policy that mutated the pod.
 */
for (const release of kubernetesReleases().filter((candidate) => Number(candidate.minor.split('.')[1]) >= 36)) {
  describe(`doctor and explain in the admission-policy mode on a real kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let cp: ControlPlane;
    let hook: ClusterWebhook | undefined;

    const doctor = async (): Promise<{ code: number; report: DoctorReport }> => {
      const result = await runCli(['doctor', '--kubeconfig', cp.adminKubeconfig, '--output', 'json'], { timeoutMs: 60_000 });
      assert.doesNotMatch(result.stderr, /unexpected error/, result.stderr);
      return { code: result.code, report: JSON.parse(result.stdout) as DoctorReport };
    };

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      cp = controlPlane;
      await createNamespace(cp.admin, NAMESPACE);
      await createServiceAccount(cp.admin, NAMESPACE, 'app', ROLE);
      const objects = renderAdmissionPolicies({ mutation: DEFAULT_MUTATION_OPTIONS, podIdentities: new Set() }) as KubeObject[];
      await createPolicyObjects(cp, objects);
      await waitForInjection(cp, NAMESPACE, 'app', 'the API server to apply the new policies');
    });
    after(async () => {
      await hook?.stop();
      await controlPlane?.stop();
    });

    it('only the policies, no webhook configuration: the policy mode is active, verdict ok (exit 0)', async () => {
      assertIdentity(await createPod(cp.admin, NAMESPACE, podManifest('under-policy', 'app')), ROLE);
      const { code, report } = await doctor();
      const text = JSON.stringify(report.findings, null, 1);
      // The harness's issuer is https://127.0.0.1:PORT: a port, which IAM would not accept.
      assert.deepEqual(raised(report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration'], text);
      assert.equal(report.verdict, 'ok', text);
      assert.equal(code, 0);
      assert.ok(report.findings.some((finding) => finding.check === 'webhook-configuration' && /the admission policies are the active mode/.test(finding.detail)), text);
      assert.ok(report.findings.some((finding) => finding.severity === 'ok' && finding.object === 'mutatingadmissionpolicy/pod-identity-webhook-irsa' && /bound by pod-identity-webhook-irsa/.test(finding.detail)), text);
      assert.ok(report.findings.some((finding) => finding.severity === 'ok' && finding.check === 'pods' && /1 whose ServiceAccount has an identity, 1 of them carrying exactly what the webhook would inject/.test(finding.detail)), text);
    });

    it('explain names the policy that mutated the pod', async () => {
      const result = await runCli(['explain', '--kubeconfig', cp.adminKubeconfig, '--namespace', NAMESPACE, '--pod', 'under-policy', '--aws-default-region', 'us-west-2', '--output', 'json']);
      assert.equal(result.stderr, '');
      const report = JSON.parse(result.stdout) as ExplainReport;
      const link = report.links.find((candidate) => candidate.name === 'webhook configuration')!;
      assert.equal(link.status, 'ok', link.detail.join('\n'));
      assert.ok(link.detail.includes('mutated by: the admission policy pod-identity-webhook-irsa'), link.detail.join('\n'));
      assert.ok(link.detail.some((line) => /policy pod-identity-webhook-irsa: evaluated for this pod, and would mutate it/.test(line)), link.detail.join('\n'));
    });

    it('the webhook registered beside the policies: BOTH_MODES_ACTIVE (an info), nothing raised', async () => {
      hook = await ClusterWebhook.start(cp);
      await cp.admin.create(CONFIGURATIONS, hook.configuration());
      const { code, report } = await doctor();
      const text = JSON.stringify(report.findings, null, 1);
      assert.deepEqual(raised(report), ['OIDC_ISSUER_PORT /.well-known/openid-configuration'], text);
      const both = report.findings.find((finding) => finding.code === 'BOTH_MODES_ACTIVE');
      assert.equal(both?.severity, 'info', text);
      assert.match(both?.detail ?? '', /pod-identity-webhook-irsa/);
      assert.equal(code, 0);
    });
  });
}

/** Before 1.36 the API server has no MutatingAdmissionPolicy v1 (404): doctor says the mode is not available, and the webhook's absence stays an error. */
for (const release of kubernetesReleases().filter((candidate) => Number(candidate.minor.split('.')[1]) < 36)) {
  describe(`doctor on a real kube-apiserver ${release.version}, which has no admission policies`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;

    before(async () => {
      controlPlane = await ControlPlane.create(release);
    });
    after(async () => {
      await controlPlane?.stop();
    });

    it('the admission-policy mode is not available (an info), and no webhook configuration is WEBHOOK_CONFIGURATION_MISSING', async () => {
      const result = await runCli(['doctor', '--kubeconfig', controlPlane!.adminKubeconfig, '--output', 'json'], { timeoutMs: 60_000 });
      const report = JSON.parse(result.stdout) as DoctorReport;
      const text = JSON.stringify(report.findings, null, 1);
      const note = report.findings.find((finding) => finding.check === 'admission-policy');
      assert.equal(note?.severity, 'info', text);
      assert.match(note?.detail ?? '', new RegExp(`MutatingAdmissionPolicy v1 is not served \\(Kubernetes ${release.version.replaceAll('.', '\\.')}.*, older than 1\\.36\\)`), text);
      assert.ok(report.findings.some((finding) => finding.code === 'WEBHOOK_CONFIGURATION_MISSING'), text);
      assert.equal(result.code, 1);
    });
  });
}
