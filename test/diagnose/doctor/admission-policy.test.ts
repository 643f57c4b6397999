import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDoctor } from '../../../src/diagnose/doctor/index.js';
import type { DoctorReport } from '../../../src/diagnose/report.js';
import { loadClusterAccess } from '../../../src/shared/k8s/kubeconfig.js';
import { ApiClient } from '../../../src/shared/k8s/api-client.js';
import { renderAdmissionPolicies } from '../../../src/webhook/admission-policy/policies.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../../src/webhook/engine/defaults.js';
import { FakeApiServer } from '../../support/fake-apiserver.js';

const POLICIES = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies';
const BINDINGS = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings';

/**
 * doctor reads the MutatingAdmissionPolicy mode over HTTPS (a fake API server on loopback): the
 * lists are read paginated, a 404 means the mode is not available (and the webhook's absence stays
 * an error), and policies alone make the missing webhook configuration the expected state.
 */
describe('doctor: the admission-policy mode read from an API server', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-doctor-policy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function doctorAgainst(setup: (api: FakeApiServer) => void): Promise<{ report: DoctorReport; paths: string[]; limits: Map<string, string | undefined> }> {
    const api = new FakeApiServer();
    setup(api);
    await api.start();
    const file = join(dir, `${Math.random().toString(36).slice(2)}.kubeconfig`);
    writeFileSync(file, api.kubeconfig());
    const kubeConfig = await loadClusterAccess(file);
    assert.ok(kubeConfig.ok);
    const client = new ApiClient(kubeConfig.value);
    try {
      const report = await runDoctor({ api: client, server: api.url, configurationName: 'pod-identity-webhook', namespace: undefined, options: DEFAULT_MUTATION_OPTIONS, identities: undefined, certificateSecret: undefined });
      const limits = new Map(api.requests.map((entry) => [entry.path, entry.query.limit]));
      return { report, paths: api.requests.map((entry) => entry.path), limits };
    } finally {
      client.close();
      await api.stop();
    }
  }

  it('an API server older than 1.36 (404 for the policies): the mode is not available, and no webhook configuration is still WEBHOOK_CONFIGURATION_MISSING', async () => {
    const { report, paths } = await doctorAgainst((api) => {
      api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { gitVersion: 'v1.35.4' }));
      api.serveRoute(/^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingadmission/, (_req, res) => api.send(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' }));
    });
    assert.ok(paths.includes(POLICIES));
    assert.ok(report.findings.some((finding) => finding.code === 'WEBHOOK_CONFIGURATION_MISSING'), JSON.stringify(report.findings, null, 1));
    const note = report.findings.find((finding) => finding.check === 'admission-policy');
    assert.match(note?.detail ?? '', /MutatingAdmissionPolicy v1 is not served \(Kubernetes v1\.35\.4, older than 1\.36\): the admission-policy mode is not available/);
  });

  it('only the policies (no webhook configuration): read paginated, the policy mode is the active mode, not a missing webhook', async () => {
    const objects = renderAdmissionPolicies({ mutation: DEFAULT_MUTATION_OPTIONS, podIdentities: new Set() });
    const { report, limits } = await doctorAgainst((api) => {
      api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { gitVersion: 'v1.37.2' }));
      api.serveObject(POLICIES, { kind: 'MutatingAdmissionPolicyList', metadata: {}, items: objects.filter((object) => object.kind === 'MutatingAdmissionPolicy') });
      api.serveObject(BINDINGS, { kind: 'MutatingAdmissionPolicyBindingList', metadata: {}, items: objects.filter((object) => object.kind === 'MutatingAdmissionPolicyBinding') });
    });
    assert.ok(limits.get(POLICIES) !== undefined && limits.get(BINDINGS) !== undefined, 'the lists are read with limit');
    assert.ok(!report.findings.some((finding) => finding.code === 'WEBHOOK_CONFIGURATION_MISSING'), JSON.stringify(report.findings, null, 1));
    assert.ok(report.findings.some((finding) => finding.check === 'webhook-configuration' && /the admission policies are the active mode/.test(finding.detail)));
    assert.ok(report.findings.some((finding) => finding.severity === 'ok' && finding.object === 'mutatingadmissionpolicy/pod-identity-webhook-irsa'));
  });
});
