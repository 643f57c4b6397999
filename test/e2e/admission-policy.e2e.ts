import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_TOKEN_EXPIRATION_SECONDS, MIN_JITTERED_TOKEN_EXPIRATION_SECONDS } from '../../src/webhook/engine/defaults.js';
import { podIdentityKey } from '../../src/webhook/pod-identity/identities.js';
import { loadMutationCase, type MutationCase, mutationCaseNames } from '../helpers/mutation-cases.js';
import { runCli } from '../helpers/cli.js';
import {
  comparable,
  createPolicyObjects,
  OPTION_SET_LABEL,
  type OptionSet,
  OptionSetWebhook,
  optionSetPolicies,
  waitForInjection,
} from './support/admission-policy.js';
import { helmBinary, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeObject } from './support/kube-client.js';
import { assertIdentity, createNamespace, createPod, createServiceAccount, type Pod, podManifest, ROLE_PREFIX } from './support/pods.js';
import { SIDECAR_LABEL, SidecarWebhook } from './support/sidecar-webhook.js';
import { waitFor } from '../helpers/wait.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { removeDirectory, runCommand, trackDirectory } from './support/processes.js';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/paths.js';

/**
 * Fixtures whose stored pods differ between the webhook and the policies, each with the reason
 * (docs/admission-policy.md, "What differs"). The test fails when one of them stops differing too,
 * so this list and the docs stay true.
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {};

interface Case {
  readonly fixture: MutationCase;
  readonly namespace: string;
  readonly set: OptionSet;
  readonly pod: Pod;
  readonly serviceAccount: KubeObject;
}

/** The fixtures with their own namespace each, grouped by the options they need (one webhook and one policy set per group). */
function loadCases(): { cases: Case[]; sets: OptionSet[] } {
  const groups = new Map<string, { options: MutationCase['options']; fixtures: Array<{ fixture: MutationCase; namespace: string }> }>();
  for (const name of mutationCaseNames()) {
    const fixture = loadMutationCase(name);
    const key = JSON.stringify(fixture.options);
    const group = groups.get(key) ?? { options: fixture.options, fixtures: [] };
    group.fixtures.push({ fixture, namespace: `f-${name}`.slice(0, 63).replace(/-+$/, '') });
    groups.set(key, group);
  }
  const cases: Case[] = [];
  const sets: OptionSet[] = [];
  [...groups.values()].forEach((group, index) => {
    const id = `set-${index}`;
    const serviceAccounts = group.fixtures.map(({ fixture, namespace }) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: fixture.serviceAccount.name, namespace, annotations: { ...fixture.serviceAccount.annotations } },
    }));
    const podIdentities = new Set(group.fixtures.filter(({ fixture }) => fixture.serviceAccount.podIdentity).map(({ fixture, namespace }) => podIdentityKey(namespace, fixture.serviceAccount.name)));
    const set: OptionSet = { id, options: group.options, podIdentities, serviceAccounts };
    sets.push(set);
    group.fixtures.forEach(({ fixture, namespace }, position) => {
      const object = structuredClone(fixture.pod.object) as Pod;
      object.metadata = { ...object.metadata, namespace };
      cases.push({ fixture, namespace, set, pod: object, serviceAccount: serviceAccounts[position]! });
    });
  });
  return { cases, sets };
}

/** A Pod Identity token lifetime chosen at random (webhook) or kept as asked (policy): any value of the jitter range is the same. */
function withoutJitter(pod: unknown, set: OptionSet): unknown {
  const text = JSON.stringify(pod);
  const copy = JSON.parse(text) as Pod;
  for (const volume of copy.spec.volumes ?? []) {
    // The token volume by what it is (its name may be <name>-N when a volume took the name).
    for (const source of volume.projected?.sources ?? []) {
      if (source.serviceAccountToken?.audience !== set.options.containerCredentials.audience) continue;
      const seconds = source.serviceAccountToken.expirationSeconds;
      if (seconds !== undefined && seconds >= MIN_JITTERED_TOKEN_EXPIRATION_SECONDS && seconds <= DEFAULT_TOKEN_EXPIRATION_SECONDS) source.serviceAccountToken!.expirationSeconds = -1;
    }
  }
  return copy;
}

/** Creates the pod for real; the stored object, or the API server's refusal. */
async function store(controlPlane: ControlPlane, entry: Case): Promise<{ pod?: unknown; refused?: string }> {
  const response = await controlPlane.admin.request('POST', `/api/v1/namespaces/${entry.namespace}/pods`, entry.pod);
  if (response.status === 201) return { pod: withoutJitter(comparable(response.body as Pod), entry.set) };
  return { refused: `${response.status}: ${String((response.body as { message?: unknown } | undefined)?.message ?? response.text).replaceAll(entry.namespace, 'NS')}` };
}

describe('the chart value admissionPolicy.policies, rendered by the real helm', function () {
  this.timeout(120_000);
  let dir = '';
  let file = '';
  before(async () => {
    dir = trackDirectory(mkdtempSync(join(tmpdir(), 'piw-e2e-policy-chart-')));
    const printed = await runCli(['manifests', '--mode', 'admission-policy', '--kubernetes-version', '1.36', '--aws-default-region', 'us-west-2']);
    assert.equal(printed.code, 0, printed.stderr);
    file = join(dir, 'policies.yaml');
    writeFileSync(file, printed.stdout);
  });
  after(() => removeDirectory(dir));

  const helm = (kubeVersion: string) =>
    runCommand(helmBinary(), ['template', 'piw', join(ROOT, 'charts', 'pod-identity-webhook'), '--kube-version', kubeVersion, '--set-file', `admissionPolicy.policies=${file}`], { timeoutMs: 60_000 });

  it('renders the policies manifests prints, beside the webhook, on Kubernetes 1.36', async () => {
    const result = await helm('1.36.0');
    assert.equal(result.code, 0, result.stderr);
    const rendered = parseAllDocuments(result.stdout).map((document) => document.toJS() as KubeObject | null).filter((object): object is KubeObject => object !== null);
    const policies = rendered.filter((object) => String(object.kind).startsWith('MutatingAdmissionPolicy'));
    const printed = parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS() as KubeObject);
    assert.deepEqual(policies, printed);
    assert.ok(rendered.some((object) => object.kind === 'MutatingWebhookConfiguration'));
  });

  it('refuses them on Kubernetes 1.35', async () => {
    const result = await helm('1.35.3');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /admissionPolicy\.policies needs Kubernetes 1\.36 or newer/);
  });
});

for (const release of kubernetesReleases()) {
  const [major, minor] = release.minor.split('.').map(Number) as [number, number];
  if (major === 1 && minor < 36) {
    describe(`manifests --mode admission-policy against a real kube-apiserver ${release.version}`, function () {
      this.timeout(120_000);
      let controlPlane: ControlPlane | undefined;
      before(async () => {
        controlPlane = await ControlPlane.create(release);
      });
      after(async () => controlPlane?.stop());

      it('refuses in one line and exits 2: the API server has no MutatingAdmissionPolicy v1', async () => {
        const result = await runCli(['manifests', '--mode', 'admission-policy', '--kubeconfig', controlPlane!.adminKubeconfig]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, new RegExp(`^pod-identity-webhook: Kubernetes ${release.version.replaceAll('.', '\\.')} has no MutatingAdmissionPolicy v1 \\(GA in 1\\.36\\)[^\\n]*\\n$`));
      });
    });
    continue;
  }

  describe(`admission policies on a real kube-apiserver ${release.version}: the same stored pods as the webhook`, function () {
    this.timeout(300_000);
    const { cases, sets } = loadCases();
    let withWebhooks: ControlPlane | undefined;
    let withPolicies: ControlPlane | undefined;
    const webhooks: OptionSetWebhook[] = [];
    let sidecar: SidecarWebhook | undefined;
    let dir = '';

    before(async () => {
      dir = trackDirectory(mkdtempSync(join(tmpdir(), 'piw-e2e-policy-')));
      // One after the other: two control planes picking free ports at once can pick the same one.
      withWebhooks = await ControlPlane.create(release);
      withPolicies = await ControlPlane.create(release);
      for (const controlPlane of [withWebhooks, withPolicies]) {
        for (const entry of cases) {
          await controlPlane.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: entry.namespace, labels: { [OPTION_SET_LABEL]: entry.set.id } } });
          await controlPlane.admin.create(`/api/v1/namespaces/${entry.namespace}/serviceaccounts`, entry.serviceAccount);
        }
      }
      webhooks.push(...(await Promise.all(sets.map((set) => OptionSetWebhook.start(dir, set)))));
      for (const [index, set] of sets.entries()) {
        await withWebhooks.admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', webhooks[index]!.configuration(set));
        await createPolicyObjects(withPolicies, optionSetPolicies(set));
      }
      // Each set's policies and webhook are live once a pod of a ServiceAccount with an identity is mutated.
      for (const set of sets) {
        const probe = cases.find((entry) => entry.set === set && entry.fixture.name !== 'no-role-arn' && (entry.fixture.expectedPatch ?? []).length > 0);
        if (!probe) continue;
        for (const controlPlane of [withWebhooks, withPolicies]) {
          await waitForInjection(controlPlane, probe.namespace, probe.fixture.serviceAccount.name, `${set.id} to be live on ${controlPlane === withWebhooks ? 'the webhook' : 'the policy'} API server`);
        }
      }
    });
    after(async () => {
      await sidecar?.close();
      await Promise.all(webhooks.map((webhook) => webhook.stop()));
      await withWebhooks?.stop();
      await withPolicies?.stop();
      if (dir) removeDirectory(dir);
    });

    it('every mutation fixture is stored the same through the webhook and through the policies (or differs as documented)', async () => {
      const differences: Record<string, string> = {};
      const counts = { stored: 0, withIdentity: 0, refused: [] as string[] };
      for (const entry of cases) {
        const [throughWebhook, throughPolicy] = await Promise.all([store(withWebhooks!, entry), store(withPolicies!, entry)]);
        if (throughPolicy.pod === undefined) counts.refused.push(`${entry.fixture.name} (${throughPolicy.refused ?? ''})`);
        else counts.stored += 1;
        if (/"name":"AWS_(ROLE_ARN|CONTAINER_CREDENTIALS_FULL_URI)"/.test(JSON.stringify(throughPolicy.pod ?? {}))) counts.withIdentity += 1;
        if (isDeepStrictEqual(throughWebhook, throughPolicy)) continue;
        differences[entry.fixture.name] = `webhook: ${JSON.stringify(throughWebhook)}\npolicy:  ${JSON.stringify(throughPolicy)}`;
      }
      console.log(`      ${cases.length} fixtures in ${sets.length} option sets: ${counts.stored} stored (${counts.withIdentity} given an identity by the policies alone), ${counts.refused.length} refused by the API server on both sides: ${counts.refused.join(', ') || 'none'}`);
      // The comparison means something only if most fixtures are stored, and mutated.
      assert.ok(counts.stored >= cases.length - 2 && counts.withIdentity >= 40, JSON.stringify(counts));
      const unexpected = Object.keys(differences).filter((name) => !(name in KNOWN_DIFFERENCES));
      assert.deepEqual(unexpected.map((name) => `${name}:\n${differences[name]}`), [], 'stored pods differ');
      assert.deepEqual(Object.keys(KNOWN_DIFFERENCES).filter((name) => !(name in differences)), [], 'documented differences that no longer differ');
    });

    /** The option set of the webhook's defaults, and a namespace of it with ServiceAccount `app` (role …/app). */
    async function defaultsNamespace(controlPlane: ControlPlane, name: string, labels: Record<string, string> = {}): Promise<OptionSet> {
      const set = sets.find((candidate) => isDeepStrictEqual(candidate.options, DEFAULT_MUTATION_OPTIONS));
      assert.ok(set, 'an option set with the defaults');
      await controlPlane.admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [OPTION_SET_LABEL]: set.id, ...labels } } });
      await createServiceAccount(controlPlane.admin, name, 'app', `${ROLE_PREFIX}app`);
      return set;
    }

    it('a pod created with only the policies installed (no webhook anywhere) is stored with its identity', async () => {
      await defaultsNamespace(withPolicies!, 'only-policies');
      const webhooksThere = (await withPolicies!.admin.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations')).items as unknown[];
      assert.deepEqual(webhooksThere, []);
      assertIdentity(await createPod(withPolicies!.admin, 'only-policies', podManifest('app', 'app')), `${ROLE_PREFIX}app`);
    });

    it('reinvoked (IfNeeded), the policy gives its identity to a container a later webhook adds', async () => {
      await defaultsNamespace(withPolicies!, 'sidecars');
      sidecar = await SidecarWebhook.start();
      await withPolicies!.admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', sidecar.configuration());
      await waitFor('the sidecar injector to be live', async () => (await createPod(withPolicies!.admin, 'sidecars', podManifest('probe', 'app', { [SIDECAR_LABEL]: 'true' }), true)).spec.containers.length === 2, 30_000, 200);
      const stored = await createPod(withPolicies!.admin, 'sidecars', podManifest('app', 'app', { [SIDECAR_LABEL]: 'true' }));
      assert.deepEqual(stored.spec.containers.map((container) => container.name), ['app', 'sidecar']);
      assertIdentity(stored, `${ROLE_PREFIX}app`, ['app', 'sidecar']);
    });

    it('the webhook and the policies installed together inject once: the second finds nothing left to do', async () => {
      const set = await defaultsNamespace(withWebhooks!, 'both-modes', { 'e2e.pod-identity-webhook.io/both': 'true' });
      const policies = optionSetPolicies(set).map((object) => {
        const name = `${object.metadata?.name ?? ''}-both`;
        const named = { ...object, metadata: { ...object.metadata, name } } as KubeObject & { spec: Record<string, unknown> };
        if (object.kind === 'MutatingAdmissionPolicy') return named;
        return { ...named, spec: { ...named.spec, policyName: name, matchResources: { namespaceSelector: { matchLabels: { 'e2e.pod-identity-webhook.io/both': 'true' } } } } };
      });
      await createPolicyObjects(withWebhooks!, policies);
      // The webhook mutates either way: the policy is live once the API server counts an evaluation of it.
      await waitFor(
        'the API server to evaluate the IRSA policy of both-modes',
        async () => {
          await createPod(withWebhooks!.admin, 'both-modes', podManifest('probe', 'app'), true);
          const metrics = await withWebhooks!.admin.request('GET', '/metrics', undefined, { accept: 'text/plain' });
          return /apiserver_mutating_admission_policy_check_total\{[^}]*policy="piw-[^"]*-irsa-both"/.test(metrics.text);
        },
        30_000,
        250,
      );
      assertIdentity(await createPod(withWebhooks!.admin, 'both-modes', podManifest('app', 'app')), `${ROLE_PREFIX}app`);
    });
  });
}
