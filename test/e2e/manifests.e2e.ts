import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { createServiceAccount } from './support/pods.js';
import { applyManifest, MANIFESTS, serviceAccountToken, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT } from './support/webhook.js';

/** API groups of files in manifests/ that are not Kubernetes objects (kind's and the lab's configs, kustomize's). */
const NOT_KUBERNETES = /^(kind\.x-k8s\.io|pod-identity-webhook\.io|kustomize\.config\.k8s\.io)\//;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Every file in manifests/ holding Kubernetes objects, as paths relative to manifests/. */
function kubernetesManifests(): string[] {
  return yamlFiles(MANIFESTS)
    .filter((path) => {
      const apiVersions = parseAllDocuments(readFileSync(path, 'utf8')).map((document) => (document.toJS() as { apiVersion?: string } | null)?.apiVersion ?? '');
      return apiVersions.some((apiVersion) => apiVersion !== '' && !NOT_KUBERNETES.test(apiVersion));
    })
    .map((path) => relative(MANIFESTS, path))
    .sort();
}

/** The objects of `kubectl apply -o json` (one object, or a List of them). */
function appliedObjects(stdout: string): KubeObject[] {
  const parsed = JSON.parse(stdout) as KubeObject & { items?: KubeObject[] };
  return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
}

/** `kubectl auth can-i --list` rows, whitespace-normalised (column widths differ between users). */
function ruleRows(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/\s+/g, ' '));
}

/** The kube-apiserver extraArgs of manifests/kind/cluster.yaml's kubeadm ClusterConfiguration patch. */
function kindApiserverArgs(): Record<string, string> {
  const cluster = parse(readFileSync(join(MANIFESTS, 'kind', 'cluster.yaml'), 'utf8')) as { nodes?: Array<{ kubeadmConfigPatches?: string[] }> };
  for (const patch of cluster.nodes?.flatMap((node) => node.kubeadmConfigPatches ?? []) ?? []) {
    const config = parse(patch) as { kind?: string; apiServer?: { extraArgs?: Record<string, string> | Array<{ name: string; value: string }> } };
    if (config.kind !== 'ClusterConfiguration') continue;
    const extraArgs = config.apiServer?.extraArgs ?? {};
    // kubeadm v1beta3 takes a map, v1beta4 a list of {name, value}.
    return Array.isArray(extraArgs) ? Object.fromEntries(extraArgs.map(({ name, value }) => [name, value])) : extraArgs;
  }
  throw new Error('manifests/kind/cluster.yaml has no ClusterConfiguration patch');
}

/** The line of a failed start that says why kube-apiserver exited. */
function refusal(error: unknown): string {
  const text = String(error);
  return text.split('\n').find((line) => line.includes('"command failed"')) ?? text.slice(0, 1000);
}

const WEBHOOK_USER = `system:serviceaccount:${WEBHOOK_NAMESPACE}:${WEBHOOK_SERVICE_ACCOUNT}`;

for (const release of kubernetesReleases()) {
  describe(`manifests on a real kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let cp: ControlPlane;

    /** `kubectl apply --dry-run=server -o json`: the objects the API server would store, or its refusal. */
    async function dryRun(args: readonly string[], input?: string): Promise<KubeObject[]> {
      const result = await cp.kubectl(['apply', '--dry-run=server', '--output=json', ...args], { input });
      assert.equal(result.code, 0, `kubectl apply --dry-run=server ${args.join(' ')} on ${release.version}:\n${result.stderr}`);
      return appliedObjects(result.stdout);
    }

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      cp = controlPlane;
      // A dry run creates nothing: the objects other manifests need must exist for real.
      await applyManifest(cp, join(MANIFESTS, 'namespace.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'examples', 'serviceaccount.yaml'));
    });
    after(async () => {
      await controlPlane?.stop();
    });

    for (const file of kubernetesManifests()) {
      it(`manifests/${file} passes kubectl apply --dry-run=server`, async () => {
        const objects = await dryRun(['-f', join(MANIFESTS, file)]);
        assert.ok(objects.length > 0);
        if (file === 'deployment.yaml') {
          // The API server drops fields of a disabled feature without an error: check that it kept it.
          const container = (objects[0] as { spec: { template: { spec: { containers: Array<{ lifecycle?: { preStop?: { sleep?: { seconds?: number } } } }> } } } }).spec.template.spec.containers[0];
          assert.equal(
            container?.lifecycle?.preStop?.sleep?.seconds,
            5,
            `manifests/deployment.yaml: Kubernetes ${release.version} did not keep lifecycle.preStop.sleep (it needs 1.29 with the PodLifecycleSleepAction feature gate, on by default from 1.30): ${JSON.stringify(container?.lifecycle)}`,
          );
        }
      });
    }

    it('the kustomize base (kubectl kustomize manifests) passes kubectl apply --dry-run=server', async () => {
      const rendered = await cp.kubectl(['kustomize', MANIFESTS]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const kinds = (await dryRun(['-f', '-'], rendered.stdout)).map((object) => String(object.kind)).sort();
      assert.deepEqual(kinds, ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'MutatingWebhookConfiguration', 'Namespace', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    });

    it('what `pod-identity-webhook manifests --certs DIR [--role-mapping]` prints passes kubectl apply --dry-run=server', async () => {
      const certs = join(cp.dir, 'manifests-certs');
      await writeCertificateFiles(certs, generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE }));
      for (const extra of [[], ['--role-mapping']]) {
        const printed = await runCli(['manifests', '--certs', certs, ...extra]);
        assert.equal(printed.code, 0, printed.stderr);
        const objects = await dryRun(['-f', '-'], printed.stdout);
        const configuration = objects.find((object) => object.kind === 'MutatingWebhookConfiguration') as { webhooks: Array<{ clientConfig: { caBundle?: string } }> } | undefined;
        assert.ok(configuration?.webhooks[0]?.clientConfig.caBundle, 'the caBundle is filled in');
        assert.ok(objects.some((object) => object.kind === 'Secret'), 'the TLS Secret is included');
        if (extra.length > 0) assert.ok(objects.some((object) => object.kind === 'Role' && object.metadata?.name === 'pod-identity-webhook-roles'));
      }
    });

    it('manifests/kind/cluster.yaml: kube-apiserver starts with its extraArgs and puts its issuer in the tokens it issues', async () => {
      const extraArgs = kindApiserverArgs();
      let kind: ControlPlane | undefined;
      try {
        kind = await ControlPlane.create(release, { flags: extraArgs }).catch((error: unknown) =>
          assert.fail(`manifests/kind/cluster.yaml: kube-apiserver ${release.version} does not start with its extraArgs ${JSON.stringify(extraArgs)}: ${refusal(error)}`),
        );
        await createServiceAccount(kind.admin, 'default', 'demo-app');
        const token = await serviceAccountToken(kind, 'default', 'demo-app', { audiences: ['sts.amazonaws.com'] });
        const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss?: string };
        assert.equal(claims.iss, extraArgs['service-account-issuer']);
      } finally {
        await kind?.stop();
      }
    });

    it('the RBAC lets the webhook list, watch and get ServiceAccounts everywhere, and nothing else', async () => {
      await applyManifest(cp, join(MANIFESTS, 'serviceaccount.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'rbac.yaml'));
      const canI = async (...args: string[]): Promise<string> => {
        const result = await cp.kubectl(['auth', 'can-i', `--as=${WEBHOOK_USER}`, ...args]);
        assert.ok(result.code === 0 || result.code === 1, result.stderr);
        return result.stdout.trim();
      };
      assert.equal(await canI('list', 'serviceaccounts', '--all-namespaces'), 'yes');
      assert.equal(await canI('watch', 'serviceaccounts', '--all-namespaces'), 'yes');
      assert.equal(await canI('get', 'serviceaccounts', '--namespace=default'), 'yes');
      assert.equal(await canI('create', 'pods', '--namespace=default'), 'no');
      assert.equal(await canI('get', 'secrets', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');
      assert.equal(await canI('update', 'serviceaccounts', '--namespace=default'), 'no');
      assert.equal(await canI('list', 'configmaps', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');

      // Exactly: the webhook's rules minus those every ServiceAccount has (they differ between releases).
      await createServiceAccount(cp.admin, WEBHOOK_NAMESPACE, 'baseline');
      const rules = async (user: string): Promise<string[]> => {
        const result = await cp.kubectl(['auth', 'can-i', '--list', `--as=${user}`, `--namespace=${WEBHOOK_NAMESPACE}`]);
        assert.equal(result.code, 0, result.stderr);
        return ruleRows(result.stdout);
      };
      const granted = async (): Promise<string[]> => {
        const baseline = new Set(await rules(`system:serviceaccount:${WEBHOOK_NAMESPACE}:baseline`));
        return (await rules(WEBHOOK_USER)).filter((row) => !baseline.has(row)).sort();
      };
      assert.deepEqual(await granted(), ['serviceaccounts [] [] [get list watch]']);

      await applyManifest(cp, join(MANIFESTS, 'optional', 'role-mapping.yaml'));
      assert.deepEqual(await granted(), ['configmaps [] [pod-identity-webhook-roles] [get list watch]', 'serviceaccounts [] [] [get list watch]']);
      assert.equal(await canI('get', 'configmaps/pod-identity-webhook-roles', `--namespace=${WEBHOOK_NAMESPACE}`), 'yes');
      assert.equal(await canI('get', 'configmaps/other', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');
      assert.equal(await canI('get', 'configmaps/pod-identity-webhook-roles', '--namespace=default'), 'no');
    });
  });
}
