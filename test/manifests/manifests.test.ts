import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';

const MANIFESTS = join(ROOT, 'manifests');
const ROLE_MAPPING_FLAG = '--watch-config-map=pod-identity-webhook/pod-identity-webhook-roles';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test navigation of parsed YAML

function documentsIn(file: string): Json[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const document of documents) assert.deepEqual(document.errors, [], `${file}: ${document.errors[0]?.message}`);
  return documents.map((document) => document.toJS() as Json).filter((value) => value !== null);
}

function allManifestFiles(): string[] {
  return (readdirSync(MANIFESTS, { recursive: true }) as string[])
    .filter((file) => ['.yaml', '.yml', '.json'].includes(extname(file)))
    .map((file) => join(MANIFESTS, file))
    .sort();
}

function byKind(documents: Json[], kind: string): Json {
  const found = documents.find((document) => document.kind === kind);
  assert.ok(found, `no ${kind}`);
  return found;
}

describe('manifests/', () => {
  it('every file parses, and every document has apiVersion and kind', () => {
    const files = allManifestFiles();
    assert.ok(files.length >= 12, files.join(', '));
    for (const file of files) {
      // JSON patches of the overlays are lists of operations, not objects.
      if (file.endsWith('tls-files.yaml')) continue;
      for (const document of documentsIn(file)) {
        assert.equal(typeof document.apiVersion, 'string', `${file}: apiVersion`);
        assert.equal(typeof document.kind, 'string', `${file}: kind`);
      }
    }
  });

  const kustomization = parse(readFileSync(join(MANIFESTS, 'base', 'kustomization.yaml'), 'utf8')) as Json;
  const resources: Json[] = (kustomization.resources as string[]).flatMap((file) => documentsIn(join(MANIFESTS, 'base', file)));

  it('the default kustomization is the self-managed certificate mode over the base', () => {
    assert.deepEqual(parse(readFileSync(join(MANIFESTS, 'kustomization.yaml'), 'utf8')).resources, ['self-managed']);
    const selfManaged = parse(readFileSync(join(MANIFESTS, 'self-managed', 'kustomization.yaml'), 'utf8')) as Json;
    assert.deepEqual(selfManaged.resources, ['../base', 'certificates.yaml']);
    assert.match(JSON.stringify(selfManaged.patches), /--certificate-mode=self-managed/);
    const certificates = documentsIn(join(MANIFESTS, 'self-managed', 'certificates.yaml'));
    const secret = byKind(certificates, 'Secret');
    assert.equal(secret.metadata.name, 'pod-identity-webhook-certs');
    assert.equal(secret.data, undefined, 'created empty: re-applying never empties it');
    // Only that Secret and that configuration, by name, and no create (RBAC cannot name an object for create).
    assert.deepEqual(byKind(certificates, 'Role').rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['pod-identity-webhook-certs'], verbs: ['get', 'update'] }]);
    assert.deepEqual(byKind(certificates, 'ClusterRole').rules, [
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['pod-identity-webhook'], verbs: ['update'] },
    ]);
  });

  it('the cert-manager overlay issues the certificate, injects the CA and mounts the Secret', () => {
    const overlay = parse(readFileSync(join(MANIFESTS, 'cert-manager', 'kustomization.yaml'), 'utf8')) as Json;
    assert.deepEqual(overlay.resources, ['../base', 'certificate.yaml']);
    assert.match(JSON.stringify(overlay.patches), /cert-manager\.io\/inject-ca-from/);
    const serving = documentsIn(join(MANIFESTS, 'cert-manager', 'certificate.yaml')).find((document) => document.kind === 'Certificate' && !document.spec.isCA);
    assert.equal(serving?.spec.secretName, 'pod-identity-webhook-tls');
    assert.ok((serving?.spec.dnsNames as string[]).includes('pod-identity-webhook.pod-identity-webhook.svc'));
  });

  it('the base lists the webhook objects, with no caBundle (a certificate mode fills it)', () => {
    assert.deepEqual(
      resources.map((document) => document.kind),
      ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Service', 'Deployment', 'PodDisruptionBudget', 'MutatingWebhookConfiguration'],
    );
  });

  it('the MutatingWebhookConfiguration has the fields the design requires', () => {
    const configuration = byKind(resources, 'MutatingWebhookConfiguration');
    assert.equal(configuration.apiVersion, 'admissionregistration.k8s.io/v1');
    const [webhook, ...others] = configuration.webhooks as Json[];
    assert.equal(others.length, 0);
    assert.ok(webhook);
    assert.match(webhook.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, 'a fully qualified webhook name');
    assert.deepEqual(webhook.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.equal(webhook.sideEffects, 'None');
    assert.deepEqual(webhook.admissionReviewVersions, ['v1', 'v1beta1']);
    assert.equal(webhook.reinvocationPolicy, 'IfNeeded');
    assert.equal(webhook.failurePolicy, 'Ignore');
    assert.ok(webhook.timeoutSeconds >= 1 && webhook.timeoutSeconds <= 30);
    assert.deepEqual(webhook.clientConfig.service, { name: 'pod-identity-webhook', namespace: 'pod-identity-webhook', path: '/mutate', port: 443 });
    assert.deepEqual(webhook.objectSelector, { matchExpressions: [{ key: 'pod-identity-webhook.io/skip', operator: 'NotIn', values: ['true'] }] });
    assert.deepEqual(webhook.namespaceSelector, {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['pod-identity-webhook'] }],
    });
    // The Service the webhook names exists and exposes 443.
    const service = byKind(resources, 'Service');
    assert.equal(service.metadata.name, webhook.clientConfig.service.name);
    assert.ok((service.spec.ports as Json[]).some((port) => port.port === 443 && port.targetPort === 'https'));
  });

  it('the Deployment: 2 replicas, probes on /healthz and /readyz over HTTPS, non-root, read-only root fs, requests', () => {
    const deployment = byKind(resources, 'Deployment');
    assert.equal(deployment.spec.replicas, 2);
    const podSpec = deployment.spec.template.spec;
    const [container] = podSpec.containers as Json[];
    assert.ok(container);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
    assert.equal(podSpec.serviceAccountName, byKind(resources, 'ServiceAccount').metadata.name);
    assert.equal(podSpec.volumes, undefined, 'the base mounts no certificate: the mode decides');
    assert.ok((container.args as string[]).includes('--webhook-configuration=pod-identity-webhook'), 'not ready until the caBundle verifies the certificate');
    assert.ok((container.args as string[]).includes('--shutdown-delay=5'));
    assert.equal(container.lifecycle, undefined, 'no preStop.sleep (Kubernetes 1.30+ only, and no shell in the image)');
    assert.deepEqual(deployment.spec.selector.matchLabels, byKind(resources, 'Service').spec.selector);
  });

  it('every flag the Deployment passes is a flag serve accepts', async () => {
    const help = (await runCli(['serve', '--help'])).stdout;
    const [container] = byKind(resources, 'Deployment').spec.template.spec.containers as Json[];
    const args = container!.args as string[];
    assert.equal(args[0], 'serve');
    for (const arg of args.slice(1)) {
      const flag = arg.split('=')[0]!;
      assert.ok(help.includes(`${flag} `), `serve --help does not list ${flag}`);
    }
    assert.ok(help.includes(`${ROLE_MAPPING_FLAG.split('=')[0]} `));
  });

  it('RBAC: ServiceAccounts get/list/watch and its own configuration get; ConfigMap access only in the optional role mapping', () => {
    const role = byKind(resources, 'ClusterRole');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['pod-identity-webhook'], verbs: ['get'] },
    ]);
    assert.ok(!JSON.stringify(resources).includes('configmaps'));
    const optional = documentsIn(join(MANIFESTS, 'optional', 'role-mapping.yaml'));
    assert.deepEqual(byKind(optional, 'Role').rules, [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['pod-identity-webhook-roles'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  it('the kind cluster config sets the issuer and API audiences, and no http:// JWKS URI (the API server refuses one)', () => {
    const [cluster] = documentsIn(join(MANIFESTS, 'kind', 'cluster.yaml'));
    const patch = parse(cluster!.nodes[0].kubeadmConfigPatches[0] as string) as Json;
    const args = patch.apiServer.extraArgs as Record<string, string>;
    assert.ok(args['service-account-issuer']);
    assert.equal(args['service-account-jwks-uri'], undefined);
    assert.ok(args['api-audiences']);
  });

  it('the example AdmissionReview carries exactly the example pod', () => {
    const review = JSON.parse(readFileSync(join(MANIFESTS, 'examples', 'admission-review.json'), 'utf8')) as Json;
    const [examplePod] = documentsIn(join(MANIFESTS, 'examples', 'pod.yaml'));
    assert.deepEqual(review.request.object, examplePod);
    const accounts = documentsIn(join(MANIFESTS, 'examples', 'serviceaccount.yaml'));
    assert.ok(accounts.some((account) => account.metadata.name === examplePod!.spec.serviceAccountName));
  });

  describe('manifests command', () => {
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'piw-manifests-'));
      assert.equal((await runCli(['certs', '--out', dir])).code, 0);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('fills the caBundle and adds the TLS Secret after the Namespace', async () => {
      const result = await runCli(['manifests', '--certs', dir, '--image', 'registry.example.com/piw:1.0']);
      assert.equal(result.code, 0, result.stderr);
      const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as Json);
      assert.equal(documents[0]?.kind, 'Namespace');
      assert.equal(documents[1]?.kind, 'Secret');
      assert.equal(documents[1]?.type, 'kubernetes.io/tls');
      assert.equal(Buffer.from(documents[1]?.data['tls.crt'], 'base64').toString(), readFileSync(join(dir, 'tls.crt'), 'utf8'));
      assert.equal(Buffer.from(documents[1]?.data['tls.key'], 'base64').toString(), readFileSync(join(dir, 'tls.key'), 'utf8'));
      const webhook = byKind(documents, 'MutatingWebhookConfiguration').webhooks[0];
      assert.equal(Buffer.from(webhook.clientConfig.caBundle, 'base64').toString(), readFileSync(join(dir, 'ca.crt'), 'utf8'));
      const deployment = byKind(documents, 'Deployment');
      assert.equal(deployment.spec.template.spec.containers[0].image, 'registry.example.com/piw:1.0');
      // The same patch as the cert-manager overlay: the Deployment reads the Secret's files.
      assert.equal(deployment.spec.template.spec.volumes[0].secret.secretName, 'pod-identity-webhook-tls');
      assert.ok((deployment.spec.template.spec.containers[0].args as string[]).includes('--tls-cert=/etc/webhook/certs/tls.crt'));
      assert.match(result.stdout, /# Ignore: if the webhook is down/, 'comments are kept');
    });

    it('--role-mapping adds the ConfigMap, its Role and the flag', async () => {
      const result = await runCli(['manifests', '--certs', dir, '--role-mapping']);
      const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as Json);
      assert.ok(byKind(documents, 'ConfigMap').data.config.includes('role-arn'));
      assert.ok(byKind(documents, 'Role'));
      assert.ok((byKind(documents, 'Deployment').spec.template.spec.containers[0].args as string[]).includes(ROLE_MAPPING_FLAG));
    });

    it('--namespace moves every object and reference, and refuses a certificate for another namespace', async () => {
      const refused = await runCli(['manifests', '--certs', dir, '--namespace', 'identity']);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /does not name pod-identity-webhook\.identity\.svc: create it with certs --namespace identity/);
      const other = join(dir, 'identity');
      assert.equal((await runCli(['certs', '--out', other, '--namespace', 'identity'])).code, 0);
      const result = await runCli(['manifests', '--certs', other, '--namespace', 'identity', '--role-mapping']);
      assert.equal(result.code, 0, result.stderr);
      const documents = parseAllDocuments(result.stdout).map((document) => document.toJS() as Json);
      assert.equal(byKind(documents, 'Namespace').metadata.name, 'identity');
      for (const document of documents) if (document.metadata.namespace !== undefined) assert.equal(document.metadata.namespace, 'identity', `${document.kind} ${document.metadata.name}`);
      assert.ok(!result.stdout.includes('namespace: pod-identity-webhook'), 'a reference to the default namespace is left');
      const webhook = byKind(documents, 'MutatingWebhookConfiguration').webhooks[0];
      assert.equal(webhook.clientConfig.service.namespace, 'identity');
      assert.deepEqual(webhook.namespaceSelector.matchExpressions[0].values, ['identity']);
      assert.equal(byKind(documents, 'ClusterRoleBinding').subjects[0].namespace, 'identity');
      assert.ok((byKind(documents, 'Deployment').spec.template.spec.containers[0].args as string[]).includes('--watch-config-map=identity/pod-identity-webhook-roles'));
    });

    it('warns when no certificates are given, and exits 2 for a missing directory', async () => {
      const bare = await runCli(['manifests']);
      assert.equal(bare.code, 0);
      assert.match(bare.stderr, /caBundle stays empty/);
      const missing = await runCli(['manifests', '--certs', join(dir, 'nope')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read .*ca\.crt/);
    });
  });
});
