import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { httpsRequest } from '../helpers/https-client.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { crdFiles, helmBinary, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { runCommand, stopProcess, track } from './support/processes.js';
import { applyManifest, MANIFESTS, serviceAccountToken, WEBHOOK_NAMESPACE } from './support/webhook.js';

const CHART = join(ROOT, 'charts', 'pod-identity-webhook');
const APP_VERSION = (parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

/** The optional kinds' API versions, which `helm template` (no cluster) must be told about. */
const CERT_MANAGER_APIS = ['--api-versions', 'cert-manager.io/v1/Certificate', '--api-versions', 'cert-manager.io/v1/Issuer'];
const MONITORING_APIS = ['--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor', '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule'];

async function helm(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(helmBinary(), args, { timeoutMs: 60_000 });
}

async function template(values: readonly string[], namespace = WEBHOOK_NAMESPACE): Promise<string> {
  const result = await helm(['template', 'piw', CHART, '--namespace', namespace, ...values]);
  assert.equal(result.code, 0, `helm template ${values.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** `helm template` that must fail; its message. */
async function refused(values: readonly string[]): Promise<string> {
  const result = await helm(['template', 'piw', CHART, '--namespace', WEBHOOK_NAMESPACE, ...values]);
  assert.notEqual(result.code, 0, `helm template ${values.join(' ')} rendered:\n${result.stdout.slice(0, 500)}`);
  return result.stderr;
}

function objects(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

function find(list: readonly KubeObject[], kind: string, name?: string): KubeObject | undefined {
  return list.find((object) => object.kind === kind && (name === undefined || object.metadata?.name === name));
}

type Container = { name: string; image?: string; args?: string[] } & Record<string, unknown>;
type PodSpec = { containers: Container[] } & Record<string, unknown>;
type Deployment = KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } } };
type WebhookConfiguration = KubeObject & {
  webhooks: Array<{ clientConfig: { service?: { name: string; namespace: string }; caBundle?: string }; namespaceSelector: LabelSelector; objectSelector: LabelSelector }>;
};
type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };

const deploymentOf = (list: readonly KubeObject[]): Deployment => find(list, 'Deployment') as Deployment;
const argsOf = (list: readonly KubeObject[]): string[] => deploymentOf(list).spec.template.spec.containers[0]!.args ?? [];

/** Labels only Helm sets (the release's), removed wherever they appear, and argument lists as sets: an object as both renderers produce it. */
const RELEASE_LABELS = new Set(['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version', 'helm.sh/chart']);
function normalised(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => normalised(item));
    return key === 'args' ? [...(items as string[])].sort() : items;
  }
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => !RELEASE_LABELS.has(name))
      .map(([name, child]) => [name, normalised(child, name)]),
  );
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
  '--set', 'serve.watch-container-credentials-config-map=other/pod-identities',
  '--set', 'podLabels.team=identity',
  '--set', 'podAnnotations.example\\.com/owner=platform',
  '--set', 'webhook.namespaceSelector.matchLabels.irsa=enabled',
  '--set', 'webhook.objectSelector.matchExpressions[0].key=app',
  '--set', 'webhook.objectSelector.matchExpressions[0].operator=Exists',
  '--set', 'podSecurityContext.runAsUser=null',
  '--set', 'podSecurityContext.runAsGroup=null',
  '--set', 'image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  ...CERT_MANAGER_APIS,
  ...MONITORING_APIS,
];

/**
 * Values the CLI's flags are probed with, in the types a values file gives them; every serve flag
 * gets every probe. Helm's schema verdict is compared with the CLI's own parser on the argument the
 * chart renders (numbers as whole numbers, the rest as text).
 */
const PROBES: readonly unknown[] = [
  0, 1, 59, 60, 299, 300, 301, 599, 600, 3600, 3601, 60000, 60001, 65535, 65536, 4294967296, 4294967297, -1, 3.5,
  true, false,
  '', ' ', 'abc', 'verbose', 'debug', 'error', 'files', 'self-managed', 'Self-Managed',
  'us-west-2', 'US-WEST-2', 'eu', '/var/run/secrets/x', '/', 'relative/token', 'token', '/a/../b', 'a//b', 'a/', '..',
  'https://sts.us-west-2.amazonaws.com', 'http://169.254.170.23/v1/credentials', 'http://[fd00:ec2::23]/v1/credentials', 'ftp://example.com', 'http://', 'http://a b',
  'ns/name', 'ns/', '/name', 'NS/name', 'ns/a.b', 'a.b', 'a..b', '-a', 'a-', 'pod-identity-webhook', 'x'.repeat(64),
  '127.0.0.1', '0.0.0.0', '::', '::1', 'fe80::1', '2001:db8::8a2e:370:7334', '1.2.3', '256.1.1.1', '01.2.3.4', 'fe80::1%eth0', 'example.com', 'Example.com',
  'a,b', 'a, 10.0.0.1', 'a,,b', ',', 'a,..', 'sts.amazonaws.com',
];

/** What the chart renders as the flag's argument (templates/_helpers.tpl, piw.scalar). */
function rendered(value: unknown): string {
  return typeof value === 'number' ? String(Math.trunc(value)) : String(value);
}

function cliAccepts(parseArg: ((value: string, previous: unknown) => unknown) | undefined, value: unknown): boolean {
  if (!parseArg) return true;
  try {
    parseArg(rendered(value), undefined);
    return true;
  } catch {
    return false;
  }
}

function jsonType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

describe('the Helm chart, rendered by the real helm', function () {
  this.timeout(180_000);

  it('helm lint --strict passes, with the defaults and with one replica on the host network', async () => {
    for (const values of [[], ['--set', 'replicas=1', '--set', 'hostNetwork=true']]) {
      const result = await helm(['lint', '--strict', CHART, ...values]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    }
  });

  it('renders the same objects as the kustomizations for the same settings (apart from the Namespace, which Helm cannot own)', async () => {
    const kubectl = kubernetesReleases().at(-1)!.kubectl;
    const kustomizeDefaults = ['--set', 'image.tag=dev', '--set', 'priorityClassName=', '--skip-tests'];
    const pairs: Array<[string, string[], string]> = [
      ['self-managed (the defaults)', kustomizeDefaults, MANIFESTS],
      ['cert-manager', [...kustomizeDefaults, '--set', 'certificates.mode=cert-manager', ...CERT_MANAGER_APIS], join(MANIFESTS, 'cert-manager')],
    ];
    for (const [title, values, directory] of pairs) {
      const kustomized = await runCommand(kubectl, ['kustomize', directory]);
      assert.equal(kustomized.code, 0, kustomized.stderr);
      const chart = byIdentity(objects(await template(values)));
      const kustomize = byIdentity(objects(kustomized.stdout).filter((object) => object.kind !== 'Namespace'));
      assert.deepEqual([...chart.keys()].sort(), [...kustomize.keys()].sort(), `${title}: the same objects`);
      for (const [identity, object] of kustomize) assert.deepEqual(chart.get(identity), object, `${title}: ${identity}`);
    }
  });

  it('the schema refuses the values of issue 31, each named by its path, before anything is rendered', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'replicas=two'], /at '\/replicas': got string, want integer/],
      [['--set', 'replicas=0'], /at '\/replicas'/],
      [['--set', 'webhook.failurePolicy=Sometimes'], /at '\/webhook\/failurePolicy': value must be one of 'Ignore', 'Fail'/],
      [['--set', 'webhook.timeoutSeconds=31'], /at '\/webhook\/timeoutSeconds'/],
      [['--set', 'serve.port=abc'], /at '\/serve\/port': got string, want integer/],
      [['--set', 'serve.log-level=verbose'], /at '\/serve\/log-level': value must be one of 'debug', 'info', 'warn', 'error'/],
      [['--set', 'serve.metrics-port=null'], /at '\/serve': missing property 'metrics-port'/],
      [['--set', 'createNamespace=true'], /additional properties 'createNamespace' not allowed/],
      [['--set', 'image.tga=1.0'], /at '\/image': additional properties 'tga' not allowed/],
      [['--set', 'image.digest=sha256:abc'], /at '\/image\/digest'/],
      [['--set', 'certificates.mode=vault'], /at '\/certificates\/mode'/],
      [['--set', 'podLabels.app\\.kubernetes\\.io/name=other'], /at '\/podLabels'/],
      [['--set', 'podSecurityContext.runAsUser=root'], /at '\/podSecurityContext\/runAsUser'/],
      [['--set', 'hostNetwork=yes'], /at '\/hostNetwork'/],
      [['--set', 'podDisruptionBudget.minAvailable=50%'], /at '\/podDisruptionBudget\/minAvailable'/],
      [['--set', 'webhook.namespaceSelector.matchExpressions[0].key=a', '--set', 'webhook.namespaceSelector.matchExpressions[0].operator=Maybe'], /at '\/webhook\/namespaceSelector\/matchExpressions\/0\/operator'/],
    ];
    for (const [values, message] of cases) {
      const stderr = await refused(values);
      assert.match(stderr, /values don't meet the specifications of the schema/, values.join(' '));
      assert.match(stderr, message, `${values.join(' ')}:\n${stderr}`);
    }
  });

  it('a serve value the schema accepts is one the webhook\'s own flag parser accepts (no pod crash-looping on its flags)', async () => {
    const options = buildProgram().commands.find((command) => command.name() === 'serve')!.options.filter((option) => option.long && option.long !== '--help');
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { properties: { serve: { properties: Record<string, { type?: string | string[]; $ref?: string; anyOf?: Array<{ type?: string }> }> } }; definitions: Record<string, { type?: string | string[] }> };
    const typesOf = (flag: string): string[] => {
      const property = schema.properties.serve.properties[flag]!;
      const own = property.$ref ? schema.definitions[property.$ref.replace('#/definitions/', '')]! : property;
      const types = [own.type ?? []].flat();
      for (const branch of 'anyOf' in own && Array.isArray(own.anyOf) ? (own.anyOf as Array<{ type?: string }>) : []) if (branch.type) types.push(branch.type);
      return types;
    };
    const dir = mkdtempSync(join(tmpdir(), 'piw-chart-probes-'));
    const acceptedButRefused: string[] = [];
    const refusedButAccepted: string[] = [];
    try {
      for (const [index, probe] of PROBES.entries()) {
        const serve: Record<string, unknown> = {};
        for (const option of options) serve[option.long!.slice(2)] = probe;
        // Equal ports are the templates' check, not the schema's: only the schema's verdicts are read.
        const file = join(dir, `probe-${index}.yaml`);
        writeFileSync(file, stringify({ serve }));
        const result = await helm(['template', 'piw', CHART, '--skip-tests', '-f', file]);
        const schemaRefused = new Set([...result.stderr.matchAll(/^- at '\/serve\/([^'/]+)'/gm)].map((match) => match[1]!));
        for (const option of options) {
          const flag = option.long!.slice(2);
          const schemaAccepts = !schemaRefused.has(flag);
          const cli = cliAccepts(option.parseArg as ((value: string, previous: unknown) => unknown) | undefined, probe);
          if (schemaAccepts && !cli) acceptedButRefused.push(`${flag}=${JSON.stringify(probe)}`);
          // The schema may be stricter in type (a values file's 600 for a text flag) and where listed.
          if (!schemaAccepts && cli && typesOf(flag).includes(jsonType(probe))) refusedButAccepted.push(`${flag}=${JSON.stringify(probe)}`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(acceptedButRefused, [], 'the schema lets these through, the webhook would exit on them');
    assert.deepEqual(refusedButAccepted.sort(), [...STRICTER_THAN_THE_CLI].sort(), 'the schema refuses these, the webhook takes them');
  });

  it('renders the image from appVersion, a numeric tag as text, and a digest', async () => {
    const image = async (values: string[]): Promise<string | undefined> => deploymentOf(objects(await template(values))).spec.template.spec.containers[0]!.image;
    assert.equal(await image([]), `pod-identity-webhook:${APP_VERSION}`);
    assert.equal(await image(['--set', 'image.tag=20240101']), 'pod-identity-webhook:20240101');
    const dir = mkdtempSync(join(tmpdir(), 'piw-chart-'));
    try {
      // A values file gives Helm a float64: still the same text.
      writeFileSync(join(dir, 'values.yaml'), 'image:\n  tag: 20240101\n');
      assert.equal(await image(['-f', join(dir, 'values.yaml')]), 'pod-identity-webhook:20240101');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const digest = `sha256:${'ab'.repeat(32)}`;
    assert.equal(await image(['--set', 'image.repository=registry.example.com:5000/team/piw', '--set', `image.digest=${digest}`]), `registry.example.com:5000/team/piw@${digest}`);
  });

  it('renders a PodDisruptionBudget only when it can be satisfied, and refuses one port for both servers', async () => {
    const budget = async (values: string[]): Promise<KubeObject | undefined> => find(objects(await template(values)), 'PodDisruptionBudget');
    assert.ok(await budget([]), 'two replicas, minAvailable 1');
    assert.equal(await budget(['--set', 'replicas=1']), undefined, 'one replica: a PDB of minAvailable 1 would block every drain');
    assert.equal(await budget(['--set', 'replicas=3', '--set', 'podDisruptionBudget.minAvailable=3']), undefined);
    assert.ok(await budget(['--set', 'replicas=3', '--set', 'podDisruptionBudget.minAvailable=2']));
    assert.match(await refused(['--set', 'serve.metrics-port=8443']), /serve\.port and serve\.metrics-port are both 8443/);
  });

  it('refuses cert-manager, ServiceMonitor and PrometheusRule objects a cluster without their CRDs would refuse, saying what to install', async () => {
    assert.match(await refused(['--set', 'certificates.mode=cert-manager']), /certificates\.mode cert-manager needs cert-manager/);
    assert.match(await refused(['--set', 'serviceMonitor.enabled=true']), /serviceMonitor\.enabled needs the Prometheus Operator's ServiceMonitor/);
    assert.match(await refused(['--set', 'prometheusRule.enabled=true']), /prometheusRule\.enabled needs the Prometheus Operator's PrometheusRule/);
    const rendered = objects(await template(['--set', 'certificates.mode=cert-manager', '--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true', ...CERT_MANAGER_APIS, ...MONITORING_APIS]));
    for (const kind of ['Certificate', 'Issuer', 'ServiceMonitor', 'PrometheusRule']) assert.ok(find(rendered, kind), kind);
  });

  it('refuses the manual mode without a caBundle, and a network policy without the API server\'s addresses', async () => {
    assert.match(await refused(['--set', 'certificates.mode=manual']), /certificates\.manual\.caBundle/);
    assert.match(await refused(['--set', 'networkPolicy.enabled=true']), /networkPolicy\.apiServerCIDRs/);
  });

  it('pod labels and annotations, selectors added to the chart\'s own, priority, OpenShift\'s user, host network', async () => {
    const list = objects(await template(FEATURES));
    const deployment = deploymentOf(list);
    const pod = deployment.spec.template;
    assert.equal(pod.metadata.labels.team, 'identity');
    assert.equal(pod.metadata.annotations?.['example.com/owner'], 'platform');
    assert.deepEqual(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'pod-identity-webhook', 'app.kubernetes.io/instance': 'piw' });
    assert.equal(pod.spec.priorityClassName, 'system-cluster-critical');
    // OpenShift's restricted-v2 chooses the user: the chart's user and group are gone, the rest stays.
    assert.deepEqual(pod.spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const [webhook] = (find(list, 'MutatingWebhookConfiguration') as WebhookConfiguration).webhooks;
    assert.deepEqual(webhook!.namespaceSelector, {
      matchLabels: { irsa: 'enabled' },
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [WEBHOOK_NAMESPACE] }],
    });
    assert.deepEqual(webhook!.objectSelector.matchExpressions, [
      { key: 'pod-identity-webhook.io/skip', operator: 'NotIn', values: ['true'] },
      { key: 'app', operator: 'Exists' },
    ]);
    const none = deploymentOf(objects(await template(['--set', 'priorityClassName='])));
    assert.equal(none.spec.template.spec.priorityClassName, undefined);
    const host = deploymentOf(objects(await template(['--set', 'hostNetwork=true', '--set', 'serve.port=10443', '--set', 'serve.metrics-port=10999'])));
    assert.equal(host.spec.template.spec.hostNetwork, true);
    assert.equal(host.spec.template.spec.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.ok(argsOf([host]).includes('--port=10443'));
  });

  it('fullnameOverride names every object and every reference to one', async () => {
    const list = objects(await template(['--set', 'fullnameOverride=piw-second', ...FEATURES], 'team-b'));
    const cluster = new Set(['MutatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding']);
    for (const object of list) {
      assert.match(String(object.metadata?.name), /^piw-second(-|$)/, `${String(object.kind)} ${String(object.metadata?.name)}`);
      if (!cluster.has(String(object.kind))) assert.ok(object.metadata?.namespace === 'team-b' || object.metadata?.namespace === 'other', `${String(object.kind)} in ${String(object.metadata?.namespace)}`);
    }
    const args = argsOf(list);
    assert.ok(args.includes('--webhook-configuration=piw-second'), args.join(' '));
    assert.ok(args.includes('--watch-config-map=team-b/piw-second-roles'), args.join(' '));
    const [webhook] = (find(list, 'MutatingWebhookConfiguration') as WebhookConfiguration).webhooks;
    assert.deepEqual(webhook!.clientConfig.service && { name: webhook!.clientConfig.service.name, namespace: webhook!.clientConfig.service.namespace }, { name: 'piw-second', namespace: 'team-b' });
    const selfManaged = argsOf(objects(await template(['--set', 'fullnameOverride=piw-second'], 'team-b')));
    for (const flag of ['--certificate-secret=team-b/piw-second-certs', '--certificate-service=piw-second', '--webhook-configuration=piw-second']) assert.ok(selfManaged.includes(flag), `${flag} in ${selfManaged.join(' ')}`);
  });
});

/**
 * Values of the right type the webhook takes and the schema refuses, each for a reason: port 0 (any
 * free port) cannot be a Deployment's containerPort; empty or blank text names no file for the flags
 * that take any text; an IPv6 address with a zone names an interface of one node, not of every pod, and cannot be a
 * certificate's IP address.
 */
const STRICTER_THAN_THE_CLI: readonly string[] = [
  'port=0',
  'metrics-port=0',
  'bind-address="fe80::1%eth0"',
  'certificate-hosts="fe80::1%eth0"',
  ...['kubeconfig', 'service-accounts', 'tls-cert', 'tls-key', 'watch-container-credentials-config'].flatMap((flag) => [`${flag}=""`, `${flag}=" "`]),
  // A blank context name names none (an empty one the webhook refuses too).
  'context=" "',
];

for (const release of kubernetesReleases()) {
  describe(`the Helm chart on a real kube-apiserver ${release.version}`, function () {
    this.timeout(240_000);
    let controlPlane: ControlPlane | undefined;
    const processes: CliProcess[] = [];

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      for (const crd of crdFiles()) await applyManifest(controlPlane, crd);
      const established = await controlPlane.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
      assert.equal(established.code, 0, established.stderr);
    });
    after(async () => {
      await Promise.all(processes.map((process) => stopProcess(process.child)));
      await controlPlane?.stop();
    });

    async function dryRun(yaml: string): Promise<string[]> {
      const result = await controlPlane!.kubectl(['apply', '--dry-run=server', '--output=json', '-f', '-'], { input: yaml });
      assert.equal(result.code, 0, `kubectl apply --dry-run=server on ${release.version}:\n${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as KubeObject & { items?: KubeObject[] };
      return (parsed.kind === 'List' ? (parsed.items ?? []) : [parsed]).map((object) => String(object.kind)).sort();
    }

    /** helm against this API server, as its administrator. */
    function helmHere(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return helm([...args, '--kubeconfig', controlPlane!.adminKubeconfig]);
    }

    it('every mode and every optional object passes kubectl apply --dry-run=server', async () => {
      // The namespace exists for real (a dry run creates nothing the other objects could go into).
      // So is the ServiceAccount: the API server refuses a pod (the helm test's) naming one that does not exist.
      const serviceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pod-identity-webhook' } };
      await controlPlane!.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WEBHOOK_NAMESPACE } });
      await controlPlane!.admin.create(`/api/v1/namespaces/${WEBHOOK_NAMESPACE}/serviceaccounts`, serviceAccount);
      const defaults = await dryRun(await template([]));
      for (const kind of ['Secret', 'MutatingWebhookConfiguration', 'PodDisruptionBudget', 'Pod']) assert.ok(defaults.includes(kind), `${kind} in ${defaults.join(', ')}`);
      await controlPlane!.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
      await controlPlane!.admin.create('/api/v1/namespaces/other/serviceaccounts', serviceAccount);
      const everything = await dryRun(await template(FEATURES, 'other'));
      for (const kind of ['Certificate', 'Issuer', 'ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'ConfigMap']) assert.ok(everything.includes(kind), `${kind} in ${everything.join(', ')}`);
      const host = await dryRun(await template(['--set', 'hostNetwork=true', '--set', 'replicas=1', '--set', 'fullnameOverride=piw-host', '--skip-tests'], 'other'));
      assert.ok(!host.includes('PodDisruptionBudget'), host.join(', '));
      const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE });
      const manual = await dryRun(
        await template(['--set', 'certificates.mode=manual', '--set-string', `certificates.manual.caBundle=${certificates.caCert}`, '--set-string', `certificates.manual.tlsCrt=${certificates.cert}`, '--set-string', `certificates.manual.tlsKey=${certificates.key}`]),
      );
      assert.ok(manual.includes('Secret'), manual.join(', '));
    });

    it('helm install --dry-run=server finds the CRDs\' kinds on the cluster itself, and its notes say what the values imply', async () => {
      const result = await helmHere([
        'install', 'optional', CHART, '--namespace', 'optional', '--create-namespace', '--dry-run=server',
        '--set', 'certificates.mode=cert-manager', '--set', 'serviceMonitor.enabled=true', '--set', 'prometheusRule.enabled=true',
        '--set', 'hostNetwork=true', '--set', 'replicas=1', '--set', 'fullnameOverride=piw-optional',
      ]);
      assert.equal(result.code, 0, result.stderr);
      for (const kind of ['Certificate', 'Issuer', 'ServiceMonitor', 'PrometheusRule']) assert.match(result.stdout, new RegExp(`^kind: ${kind}$`, 'm'), kind);
      assert.match(result.stdout, /The pods use their nodes' network \(hostNetwork\)/);
      assert.match(result.stdout, /No PodDisruptionBudget: with 1 replica\(s\) and minAvailable 1 it would block every\s+node drain/);
      assert.doesNotMatch(result.stdout, /^kind: PodDisruptionBudget$/m);
    });

    it('two releases: the second is refused with the first one\'s name, then coexists under fullnameOverride, and its webhook passes the chart\'s helm test', async () => {
      const cp = controlPlane!;
      const first = await helmHere(['install', 'first', CHART, '--namespace', 'team-a', '--create-namespace']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /kubectl -n team-a rollout status deployment\/pod-identity-webhook/, 'NOTES.txt');
      assert.match(first.stdout, /helm test first --namespace team-a/);

      const second = await helmHere(['install', 'second', CHART, '--namespace', 'team-b', '--create-namespace']);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /release "first" in namespace "team-a" already installs the webhook under the name "pod-identity-webhook": give this release other names with --set fullnameOverride=NAME/);
      const status = await helmHere(['status', 'second', '--namespace', 'team-b']);
      assert.notEqual(status.code, 0, 'no release record left behind');
      assert.equal((await cp.admin.request('GET', '/api/v1/namespaces/team-b')).status, 404, 'not even the namespace');

      const renamed = await helmHere(['install', 'second', CHART, '--namespace', 'team-b', '--create-namespace', '--set', 'fullnameOverride=piw-second']);
      assert.equal(renamed.code, 0, renamed.stderr);
      const upgraded = await helmHere(['upgrade', 'first', CHART, '--namespace', 'team-a', '--reuse-values', '--set', 'replicas=3']);
      assert.equal(upgraded.code, 0, `an upgrade finds its own configuration: ${upgraded.stderr}`);

      // An object of the same name that no release owns (kubectl apply -k) is refused too.
      await cp.admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'piw-kustomized' } });
      const unowned = await helmHere(['install', 'third', CHART, '--namespace', 'team-c', '--create-namespace', '--set', 'fullnameOverride=piw-kustomized']);
      assert.notEqual(unowned.code, 0);
      assert.match(unowned.stderr, /the MutatingWebhookConfiguration "piw-kustomized" already exists and no Helm release owns it/);

      // Each release's ServiceAccount may write its own configuration's caBundle, not the other's.
      const canI = async (as: string, verb: string, resource: string, namespace?: string): Promise<string> =>
        (await cp.kubectl(['auth', 'can-i', verb, resource, `--as=${as}`, ...(namespace ? ['--namespace', namespace] : [])])).stdout.trim();
      assert.equal(await canI('system:serviceaccount:team-b:piw-second', 'update', 'mutatingwebhookconfigurations/piw-second'), 'yes');
      assert.equal(await canI('system:serviceaccount:team-b:piw-second', 'update', 'mutatingwebhookconfigurations/pod-identity-webhook'), 'no');
      assert.equal(await canI('system:serviceaccount:team-b:piw-second', 'update', 'secrets/piw-second-certs', 'team-b'), 'yes');
      assert.equal(await canI('system:serviceaccount:team-a:pod-identity-webhook', 'update', 'mutatingwebhookconfigurations/piw-second'), 'no');

      // The second release's webhook, with the Deployment's own arguments and its ServiceAccount's
      // token, on 127.0.0.1: it makes its certificate, writes its own configuration's caBundle and
      // becomes ready.
      const manifest = await helmHere(['get', 'manifest', 'second', '--namespace', 'team-b']);
      assert.equal(manifest.code, 0, manifest.stderr);
      const chartArgs = argsOf(objects(manifest.stdout)).filter((arg) => !/^--(port|metrics-port|shutdown-delay)=/.test(arg));
      const token = await serviceAccountToken(cp, 'team-b', 'piw-second');
      const webhook = CliProcess.start([...chartArgs, '--kubeconfig', cp.writeKubeconfig('piw-second', { token }), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0']);
      track(webhook.child);
      processes.push(webhook);
      const port = await webhook.port().catch((error: unknown) => assert.fail(`${String(error)}\n${webhook.stderr}`));
      await waitFor('the second release\'s webhook ready', async () => (await httpsRequest(`https://127.0.0.1:${port}/readyz`, { rejectUnauthorized: false, timeoutMs: 2000 }).catch(() => ({ status: 0 }))).status === 200, 30_000, 200);

      // The chart's helm test, run here as its pod would run it: from the API server's view of the
      // configuration, through the name of the Service, trusting the caBundle only.
      const dir = mkdtempSync(join(tmpdir(), 'piw-helm-test-'));
      try {
        writeFileSync(join(dir, 'ca.crt'), cp.files.caCertPem);
        // The test pod's own command and arguments, with this machine's Node for the image's.
        const testPod = find(objects(await template(['--set', 'fullnameOverride=piw-second', '--show-only', 'templates/tests/webhook-answers.yaml'], 'team-b')), 'Pod') as KubeObject & { spec: PodSpec };
        const [container] = testPod.spec.containers as Array<Container & { command: string[]; env: Array<{ name: string; value: string }> }>;
        const [node, ...nodeArgs] = container!.command;
        assert.equal(node, /^ENTRYPOINT \["([^"]+)"/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1], 'the image\'s Node');
        const podEnv = Object.fromEntries(container!.env.map((variable) => [variable.name, variable.value]));
        const runTest = (configuration: string, serviceAccountToken: string) => {
          writeFileSync(join(dir, 'token'), serviceAccountToken);
          return runCommand(process.execPath, [...nodeArgs, ...(container!.args ?? [])], {
            env: { ...process.env, ...podEnv, PIW_WEBHOOK_CONFIGURATION: configuration, PIW_API_SERVER: cp.server, PIW_SERVICEACCOUNT_DIR: dir, PIW_CONNECT: `127.0.0.1:${port}` },
            timeoutMs: 60_000,
          });
        };
        assert.equal(podEnv.PIW_WEBHOOK_CONFIGURATION, 'piw-second');
        const passed = await runTest('piw-second', token);
        assert.equal(passed.code, 0, passed.stdout + passed.stderr);
        assert.match(passed.stdout, /ok: GET https:\/\/piw-second\.team-b\.svc:443\/readyz answered 200/);
        assert.match(passed.stdout, /ok: POST https:\/\/piw-second\.team-b\.svc:443\/mutate answered the AdmissionReview/);
        // The first release's test, with its ServiceAccount: no webhook of its own has written its caBundle.
        const failed = await runTest('pod-identity-webhook', await serviceAccountToken(cp, 'team-a', 'pod-identity-webhook'));
        assert.equal(failed.code, 1, failed.stdout);
        assert.match(failed.stdout, /failed: the MutatingWebhookConfiguration pod-identity-webhook has no caBundle/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      const uninstalled = await helmHere(['uninstall', 'second', '--namespace', 'team-b']);
      assert.equal(uninstalled.code, 0, uninstalled.stderr);
    });
  });
}
