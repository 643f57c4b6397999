import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { ROOT } from '../helpers/paths.js';
import { crdFiles, helmBinary, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { runCommand } from './support/processes.js';
import { applyManifest, MANIFESTS, WEBHOOK_NAMESPACE } from './support/webhook.js';

const CHART = join(ROOT, 'charts', 'pod-identity-webhook');

async function helm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(helmBinary(), args, { timeoutMs: 60_000 });
}

async function template(values: readonly string[], namespace = WEBHOOK_NAMESPACE): Promise<string> {
  const result = await helm(['template', 'piw', CHART, '--namespace', namespace, ...values]);
  assert.equal(result.code, 0, `helm template ${values.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function objects(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/** An object as both renderers should produce it: Helm's own labels removed, argument lists as sets. */
function normalised(object: KubeObject): unknown {
  const copy = structuredClone(object) as KubeObject & { spec?: { template?: { spec?: { containers?: Array<{ args?: string[] }> } } } };
  const labels = copy.metadata?.labels as Record<string, string> | undefined;
  if (labels) for (const label of ['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'helm.sh/chart']) delete labels[label];
  for (const container of copy.spec?.template?.spec?.containers ?? []) if (container.args) container.args = [...container.args].sort();
  return copy;
}

function byIdentity(list: readonly KubeObject[]): Map<string, unknown> {
  return new Map(list.map((object) => [`${String(object.kind)} ${String(object.metadata?.namespace ?? '')}/${String(object.metadata?.name)}`, normalised(object)]));
}

const FEATURES = [
  '--set', 'certificates.mode=cert-manager',
  '--set', 'serviceMonitor.enabled=true',
  '--set', 'prometheusRule.enabled=true',
  '--set', 'networkPolicy.enabled=true',
  '--set', 'networkPolicy.apiServerCIDRs[0]=10.0.0.0/24',
  '--set', 'roleMapping.enabled=true',
  '--set', 'createNamespace=true',
  '--set', 'priorityClassName=system-cluster-critical',
  '--set', 'serve.watch-container-credentials-config-map=other/pod-identities',
];

describe('the Helm chart, rendered by the real helm', function () {
  this.timeout(120_000);

  it('helm lint --strict passes', async () => {
    const result = await helm(['lint', '--strict', CHART]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('renders the same objects as the kustomizations for the same settings', async () => {
    const kubectl = kubernetesReleases().at(-1)!.kubectl;
    const pairs: Array<[string, string[], string]> = [
      ['self-managed (the defaults)', ['--set', 'createNamespace=true'], MANIFESTS],
      ['cert-manager', ['--set', 'createNamespace=true', '--set', 'certificates.mode=cert-manager'], join(MANIFESTS, 'cert-manager')],
    ];
    for (const [title, values, directory] of pairs) {
      const kustomized = await runCommand(kubectl, ['kustomize', directory]);
      assert.equal(kustomized.code, 0, kustomized.stderr);
      const chart = byIdentity(objects(await template(values)));
      const kustomize = byIdentity(objects(kustomized.stdout));
      assert.deepEqual([...chart.keys()].sort(), [...kustomize.keys()].sort(), `${title}: the same objects`);
      for (const [identity, object] of kustomize) assert.deepEqual(chart.get(identity), object, `${title}: ${identity}`);
    }
  });

  it('refuses to render the manual mode without a caBundle, and a network policy without the API server\'s addresses', async () => {
    const manual = await helm(['template', 'piw', CHART, '--set', 'certificates.mode=manual']);
    assert.notEqual(manual.code, 0);
    assert.match(manual.stderr, /certificates\.manual\.caBundle/);
    const policy = await helm(['template', 'piw', CHART, '--set', 'networkPolicy.enabled=true']);
    assert.notEqual(policy.code, 0);
    assert.match(policy.stderr, /networkPolicy\.apiServerCIDRs/);
  });
});

for (const release of kubernetesReleases()) {
  describe(`the Helm chart on a real kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      for (const crd of crdFiles()) await applyManifest(controlPlane, crd);
      const established = await controlPlane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      assert.equal(established.code, 0, established.stderr);
    });
    after(async () => controlPlane?.stop());

    async function dryRun(yaml: string): Promise<string[]> {
      const result = await controlPlane!.kubectl(['apply', '--dry-run=server', '--output=json', '-f', '-'], { input: yaml });
      assert.equal(result.code, 0, `kubectl apply --dry-run=server on ${release.version}:\n${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as KubeObject & { items?: KubeObject[] };
      return (parsed.kind === 'List' ? (parsed.items ?? []) : [parsed]).map((object) => String(object.kind)).sort();
    }

    it('every mode and every optional object passes kubectl apply --dry-run=server', async () => {
      // The namespace exists for real (a dry run creates nothing the other objects could go into).
      await controlPlane!.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WEBHOOK_NAMESPACE } });
      const defaults = await dryRun(await template([]));
      assert.ok(defaults.includes('Secret') && defaults.includes('MutatingWebhookConfiguration'), defaults.join(', '));
      await controlPlane!.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
      const everything = await dryRun(await template(FEATURES, 'other'));
      for (const kind of ['Certificate', 'Issuer', 'ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'ConfigMap', 'Namespace']) assert.ok(everything.includes(kind), `${kind} in ${everything.join(', ')}`);
      const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE });
      const manual = await dryRun(
        await template(['--set', 'certificates.mode=manual', '--set-string', `certificates.manual.caBundle=${certificates.caCert}`, '--set-string', `certificates.manual.tlsCrt=${certificates.cert}`, '--set-string', `certificates.manual.tlsKey=${certificates.key}`]),
      );
      assert.ok(manual.includes('Secret'), manual.join(', '));
    });
  });
}
