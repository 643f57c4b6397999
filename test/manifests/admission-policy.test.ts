import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cleanPathPattern, cleanRelativePathPattern } from '../../src/webhook/admission-policy/cel.js';
import { renderAdmissionPolicies } from '../../src/webhook/admission-policy/policies.js';
import { parseKubernetesVersion, policyVersionProblem } from '../../src/webhook/admission-policy/version.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { runCli } from '../helpers/cli.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test navigation of parsed YAML

function documents(text: string): Json[] {
  return parseAllDocuments(text).map((document) => {
    assert.deepEqual(document.errors, []);
    return document.toJS() as Json;
  });
}

describe('admission policies (manifests --mode admission-policy)', () => {
  describe('the Kubernetes version check', () => {
    for (const [text, offered] of [
      ['v1.36.0', true],
      ['1.36', true],
      ['v1.37.2', true],
      ['v1.36.0-eks-4f4795d', true],
      ['v2.0.0', true],
      ['v1.35.9', false],
      ['v1.30.14', false],
    ] as const) {
      it(`${text}: ${offered ? 'offered' : 'refused'}`, () => {
        const version = parseKubernetesVersion(text);
        assert.ok(version.ok);
        assert.equal(policyVersionProblem(version.value) === undefined, offered);
      });
    }

    for (const text of ['', 'latest', '1', 'v1.x', `1.36.${'9'.repeat(50)}`]) {
      it(`"${text.slice(0, 20)}" is not a version`, () => assert.equal(parseKubernetesVersion(text).ok, false));
    }
  });

  describe('the mount-path pattern matches what the engine normalises to the token mount path', () => {
    const wanted = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
    const pattern = new RegExp(cleanPathPattern(wanted));
    const samples = [
      wanted,
      `${wanted}/`,
      `${wanted}//`,
      `${wanted}/.`,
      `${wanted}/./`,
      '//var//run/secrets/./eks.amazonaws.com/serviceaccount',
      '/var/run/secrets/eks.amazonaws.com/./serviceaccount/./.',
      '/var/run/secrets/eksXamazonaws.com/serviceaccount',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount2',
      '/var/run/secrets/eks.amazonaws.com',
      'var/run/secrets/eks.amazonaws.com/serviceaccount',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount/..',
      '/var/run/secrets/eks.amazonaws.com/serviceaccount/.x',
      '/./var/run/secrets/eks.amazonaws.com/serviceaccount',
    ];
    for (const sample of samples) {
      const normalised = posix.normalize(sample).replace(/\/+$/, '') || '/';
      const same = sample.startsWith('/') && normalised === wanted;
      it(`${sample}: ${same ? 'the token mount path' : 'another path'}`, () => assert.equal(pattern.test(sample), same));
    }
  });

  describe('the token-file pattern matches the paths the engine takes for the token file (a token volume is one by its content)', () => {
    for (const wanted of ['token', 'eks-pod-identity-token', 'a/token']) {
      const pattern = new RegExp(cleanRelativePathPattern(wanted));
      const samples = [wanted, `./${wanted}`, `.//${wanted}`, `${wanted}/`, `${wanted}/.`, `./${wanted}/./`, `/${wanted}`, `${wanted}x`, `x${wanted}`, `${wanted}/x`, `../${wanted}`, `..${wanted}`, '.', ''];
      for (const sample of samples) {
        // The engine's sameFile; paths through `..` are left to the engine (named in docs/admission-policy.md).
        const same = !sample.split('/').includes('..') && posix.normalize(sample).replace(/\/+$/, '') === wanted;
        it(`${wanted} ← ${JSON.stringify(sample)}: ${same ? 'the token file' : 'another file'}`, () => assert.equal(pattern.test(sample), same));
      }
    }
  });

  it('renders the IRSA policy and its binding; the Pod Identity pair only for listed ServiceAccounts', () => {
    const irsaOnly = renderAdmissionPolicies({ mutation: DEFAULT_MUTATION_OPTIONS, podIdentities: new Set() });
    assert.deepEqual(irsaOnly.map((object) => `${String(object.kind)}/${String((object.metadata as Json).name)}`), [
      'MutatingAdmissionPolicy/pod-identity-webhook-irsa',
      'MutatingAdmissionPolicyBinding/pod-identity-webhook-irsa',
    ]);
    const both = renderAdmissionPolicies({ mutation: DEFAULT_MUTATION_OPTIONS, podIdentities: new Set(['apps/agent']) });
    assert.equal(both.length, 4);
    const [irsa, , podIdentity, podIdentityBinding] = both as Json[];
    assert.match(JSON.stringify(irsa!.spec.matchConditions), /not-pod-identity/);
    assert.match(podIdentity!.spec.matchConditions[1].expression, /"apps\/agent": true/);
    assert.deepEqual(podIdentityBinding!.spec.paramRef, { selector: {}, parameterNotFoundAction: 'Allow' });
    assert.deepEqual(podIdentity!.spec.paramKind, { apiVersion: 'v1', kind: 'ServiceAccount' });
  });

  describe('the command line', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'piw-policy-cli-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('prints the policies with the given options for Kubernetes 1.36', async () => {
      const result = await runCli(['manifests', '--mode', 'admission-policy', '--kubernetes-version', 'v1.36.0', '--annotation-prefix', 'irsa.example.com', '--aws-default-region', 'us-west-2', '--token-expiration', '3600']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      const objects = documents(result.stdout);
      assert.deepEqual(objects.map((object) => object.kind), ['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding']);
      const text = JSON.stringify(objects[0]);
      assert.match(text, /irsa\.example\.com\/role-arn/);
      assert.match(text, /us-west-2/);
      assert.match(text, /: 3600\)/);
      assert.doesNotMatch(text, /eks\.amazonaws\.com\/role-arn/);
    });

    it('adds the Pod Identity policy for the identities file', async () => {
      const file = join(dir, 'identities.json');
      writeFileSync(file, '{"identities":[{"namespace":"apps","serviceAccount":"agent"}]}');
      const result = await runCli(['manifests', '--mode', 'admission-policy', '--kubernetes-version', '1.37', '--watch-container-credentials-config', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(documents(result.stdout).map((object) => object.metadata.name), [
        'pod-identity-webhook-irsa',
        'pod-identity-webhook-irsa',
        'pod-identity-webhook-pod-identity',
        'pod-identity-webhook-pod-identity',
      ]);
    });

    const refusals: Array<[string, string[], RegExp]> = [
      ['Kubernetes before 1.36', ['--kubernetes-version', 'v1.35.4'], /^pod-identity-webhook: Kubernetes v1\.35\.4 has no MutatingAdmissionPolicy v1 \(GA in 1\.36\)/],
      ['a version that is none', ['--kubernetes-version', 'latest'], /^pod-identity-webhook: --kubernetes-version: "latest" is not a Kubernetes version/],
      ['a webhook flag', ['--kubernetes-version', '1.36', '--certs', 'certs'], /^pod-identity-webhook: --certs is a flag of --mode webhook/],
      ['a malformed identities file', ['--kubernetes-version', '1.36', '--watch-container-credentials-config', '/nonexistent/identities.json'], /^pod-identity-webhook: .*identities\.json/],
      ['both version sources', ['--kubernetes-version', '1.36', '--kubeconfig', '/nonexistent/kubeconfig'], /^pod-identity-webhook: --kubernetes-version and --kubeconfig or --context exclude each other/],
    ];
    for (const [what, args, message] of refusals) {
      it(`refuses ${what} in one line, exit 2`, async () => {
        const result = await runCli(['manifests', '--mode', 'admission-policy', ...args]);
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, message);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
      });
    }

    it('refuses the injection flags in webhook mode (they belong to the Deployment)', async () => {
      const result = await runCli(['manifests', '--aws-default-region', 'us-west-2']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^pod-identity-webhook: --aws-default-region needs --mode admission-policy/);
    });

    it('warns on stderr without a version to check', async () => {
      const result = await runCli(['manifests', '--mode', 'admission-policy']);
      assert.equal(result.code, 0);
      assert.match(result.stderr, /^warning: no --kubernetes-version, --kubeconfig or --context/);
    });

    it('--help lists the mode', async () => {
      const result = await runCli(['manifests', '--help']);
      assert.match(result.stdout, /--mode <mode>/);
      assert.match(result.stdout, /admission-policy/);
    });
  });
});
