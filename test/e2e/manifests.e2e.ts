import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { crdFiles, kubernetesReleases } from './support/components.js';
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
      // A dry run creates nothing: the objects other manifests need must exist for real, and the
      // CustomResourceDefinitions of cert-manager (for the cert-manager overlay).
      await applyManifest(cp, join(MANIFESTS, 'base', 'namespace.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'examples', 'serviceaccount.yaml'));
      for (const crd of crdFiles()) await applyManifest(cp, crd);
      const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      assert.equal(established.code, 0, established.stderr);
    });
    after(async () => {
      await controlPlane?.stop();
    });

    for (const file of kubernetesManifests()) {
      it(`manifests/${file} passes kubectl apply --dry-run=server`, async () => {
        const objects = await dryRun(['-f', join(MANIFESTS, file)]);
        assert.ok(objects.length > 0);
      });
    }

    const base = ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'MutatingWebhookConfiguration', 'Namespace', 'PodDisruptionBudget', 'Service', 'ServiceAccount'];
    const kustomizations: Array<[string, string, string[]]> = [
      ['the default (self-managed certificate)', MANIFESTS, [...base, 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret']],
      ['the cert-manager overlay', join(MANIFESTS, 'cert-manager'), [...base, 'Certificate', 'Certificate', 'Issuer', 'Issuer']],
    ];
    for (const [title, directory, expected] of kustomizations) {
      it(`kubectl kustomize: ${title} passes kubectl apply --dry-run=server`, async () => {
        const rendered = await cp.kubectl(['kustomize', directory]);
        assert.equal(rendered.code, 0, rendered.stderr);
        const objects = await dryRun(['-f', '-'], rendered.stdout);
        assert.deepEqual(objects.map((object) => String(object.kind)).sort(), expected.sort());
        const configuration = objects.find((object) => object.kind === 'MutatingWebhookConfiguration') as { metadata: { annotations?: Record<string, string> } } | undefined;
        if (directory.endsWith('cert-manager')) assert.equal(configuration?.metadata.annotations?.['cert-manager.io/inject-ca-from'], 'pod-identity-webhook/pod-identity-webhook');
      });
    }

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
      // Into another namespace, with a certificate for the Service there.
      const namespace = 'identity';
      const other = join(cp.dir, 'manifests-certs-identity');
      await writeCertificateFiles(other, generateCertificates({ service: 'pod-identity-webhook', namespace }));
      const printed = await runCli(['manifests', '--certs', other, '--namespace', namespace]);
      assert.equal(printed.code, 0, printed.stderr);
      const namespaceObject = parseAllDocuments(printed.stdout).map((document) => document.toJS() as KubeObject).find((object) => object.kind === 'Namespace');
      await cp.admin.create('/api/v1/namespaces', namespaceObject!);
      const objects = await dryRun(['-f', '-'], printed.stdout);
      assert.ok(objects.filter((object) => object.metadata?.namespace !== undefined).every((object) => object.metadata?.namespace === namespace));
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
      await applyManifest(cp, join(MANIFESTS, 'base', 'serviceaccount.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'base', 'rbac.yaml'));
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
      const own = 'mutatingwebhookconfigurations.admissionregistration.k8s.io [] [pod-identity-webhook] [get]';
      assert.deepEqual(await granted(), [own, 'serviceaccounts [] [] [get list watch]']);

      await applyManifest(cp, join(MANIFESTS, 'optional', 'role-mapping.yaml'));
      assert.deepEqual(await granted(), ['configmaps [] [pod-identity-webhook-roles] [get list watch]', own, 'serviceaccounts [] [] [get list watch]']);
      assert.equal(await canI('get', 'configmaps/pod-identity-webhook-roles', `--namespace=${WEBHOOK_NAMESPACE}`), 'yes');
      assert.equal(await canI('get', 'configmaps/other', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');
      assert.equal(await canI('get', 'configmaps/pod-identity-webhook-roles', '--namespace=default'), 'no');

      // Self-managed certificates: that one Secret and that one configuration, by name, nothing more.
      await applyManifest(cp, join(MANIFESTS, 'self-managed', 'certificates.yaml'));
      assert.equal(await canI('update', 'secrets/pod-identity-webhook-certs', `--namespace=${WEBHOOK_NAMESPACE}`), 'yes');
      assert.equal(await canI('get', 'secrets/pod-identity-webhook-certs', `--namespace=${WEBHOOK_NAMESPACE}`), 'yes');
      assert.equal(await canI('get', 'secrets/other', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');
      assert.equal(await canI('create', 'secrets', `--namespace=${WEBHOOK_NAMESPACE}`), 'no');
      assert.equal(await canI('update', 'mutatingwebhookconfigurations/pod-identity-webhook'), 'yes');
      assert.equal(await canI('update', 'mutatingwebhookconfigurations/other'), 'no');
      assert.equal(await canI('delete', 'mutatingwebhookconfigurations/pod-identity-webhook'), 'no');
    });
  });
}
