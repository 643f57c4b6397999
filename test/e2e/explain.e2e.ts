import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExplainReport } from '../../src/diagnose/report.js';
import { oidcProviderArn, oidcProviderId } from '../../src/shared/aws/trust-requests.js';
import { runCli } from '../helpers/cli.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import { assertNoIdentity, createAppServiceAccounts, createPod, createServiceAccount, podManifest, type Probe, ROLE_PREFIX, setWebhookConfigurations, TOKEN_DIR } from './support/pods.js';
import { ClusterWebhook, serviceAccountToken } from './support/webhook.js';

const ROLE = `${ROLE_PREFIX}explained`;
const NAMESPACE = 'apps';
const PROBE: Probe = { namespace: 'e2e-probe', serviceAccount: 'probe' };

/**
 * `explain --kubeconfig` against a real API server: it reads the pod, its ServiceAccount and
 * namespace, the MutatingWebhookConfiguration and the issuer's discovery document; a real
 * TokenRequest token; a pod created before the webhook was registered.
 */
for (const release of kubernetesReleases()) {
  describe(`explain on a real kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let webhook: ClusterWebhook | undefined;
    let cp: ControlPlane;
    let trustPolicy: string;

    const run = async (pod: string, extra: readonly string[] = [], namespace = NAMESPACE): Promise<{ code: number; report: ExplainReport }> => {
      const result = await runCli(['explain', '--kubeconfig', cp.adminKubeconfig, '--namespace', namespace, '--pod', pod, '--trust-policy', trustPolicy, '--aws-default-region', 'us-west-2', '--output', 'json', ...extra]);
      assert.equal(result.stderr, '');
      return { code: result.code, report: JSON.parse(result.stdout) as ExplainReport };
    };

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      cp = controlPlane;
      await createAppServiceAccounts(cp.admin, NAMESPACE, ROLE, PROBE);
      // Before the webhook is registered: admitted without identity, as while it was unreachable.
      assertNoIdentity(await createPod(cp.admin, NAMESPACE, podManifest('early', 'app')));
      // As a webhook matching volumes by name left a pod with an emptyDir named aws-iam-token.
      const nameMatched = podManifest('name-matched', 'app');
      nameMatched.metadata = { ...nameMatched.metadata, annotations: { 'eks.amazonaws.com/injected-role-arn': ROLE } };
      nameMatched.spec.volumes = [{ name: 'aws-iam-token', emptyDir: {} }];
      nameMatched.spec.containers[0] = {
        ...nameMatched.spec.containers[0]!,
        env: [
          { name: 'AWS_DEFAULT_REGION', value: 'us-west-2' },
          { name: 'AWS_REGION', value: 'us-west-2' },
          { name: 'AWS_ROLE_ARN', value: ROLE },
          { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
        ],
        volumeMounts: [{ name: 'aws-iam-token', mountPath: TOKEN_DIR, readOnly: true }],
      };
      await createPod(cp.admin, NAMESPACE, nameMatched);
      webhook = await ClusterWebhook.start(cp, { args: ['--aws-default-region', 'us-west-2'] });
      await setWebhookConfigurations(cp, [webhook.configuration()], PROBE);
      const provider = oidcProviderId(cp.issuer);
      trustPolicy = join(cp.dir, 'trust-policy.json');
      writeFileSync(
        trustPolicy,
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: oidcProviderArn('aws', '111122223333', provider) },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { [`${provider}:sub`]: `system:serviceaccount:${NAMESPACE}:app`, [`${provider}:aud`]: 'sts.amazonaws.com' } },
            },
          ],
        }),
      );
    });
    after(async () => {
      await webhook?.stop();
      await controlPlane?.stop();
    });

    it('a mutated pod: every link holds, with the issuer from the cluster and a real token', async () => {
      const stored = await createPod(cp.admin, NAMESPACE, podManifest('mutated', 'app'));
      const env = stored.spec.containers[0]!.env ?? [];
      assert.deepEqual(env.find((variable) => variable.name === 'AWS_ROLE_ARN')?.value, ROLE);
      assert.deepEqual(env.find((variable) => variable.name === 'AWS_REGION')?.value, 'us-west-2');
      const { code, report } = await run('mutated');
      assert.equal(report.verdict, 'ok', JSON.stringify(report.links, null, 1));
      assert.equal(code, 0);
      const byName = new Map(report.links.map((link) => [link.name, link]));
      assert.equal(byName.get('running pod')!.status, 'ok');
      assert.match(byName.get('webhook configuration')!.detail.join('\n'), /cluster's MutatingWebhookConfiguration pod-identity-webhook/);
      assert.match(byName.get('token')!.detail.join('\n'), new RegExp(`iss ${cp.issuer}`));

      const tokenFile = join(cp.dir, 'app.token');
      writeFileSync(tokenFile, await serviceAccountToken(cp, NAMESPACE, 'app', { audiences: ['sts.amazonaws.com'] }));
      const withToken = await run('mutated', ['--token', tokenFile]);
      assert.equal(withToken.report.verdict, 'ok', JSON.stringify(withToken.report.links, null, 1));
      assert.match(withToken.report.links.find((link) => link.name === 'token')!.detail.join('\n'), /expires at /);
    });

    it('a pod created before the webhook was there: POD_NOT_MUTATED', async () => {
      const { code, report } = await run('early');
      assert.equal(report.code, 'POD_NOT_MUTATED', JSON.stringify(report.links, null, 1));
      assert.equal(code, 1);
    });

    it('a pod whose token variable points into an emptyDir named aws-iam-token: TOKEN_FILE_NOT_A_TOKEN', async () => {
      const { code, report } = await run('name-matched');
      assert.equal(report.code, 'TOKEN_FILE_NOT_A_TOKEN', JSON.stringify(report.links, null, 1));
      assert.match(report.links.find((link) => link.name === 'running pod')!.detail.join('\n'), /volume "aws-iam-token" \(emptyDir\) is not a projected serviceAccountToken/);
      assert.equal(code, 1);
    });

    it('a pod whose ServiceAccount has no role: SA_NOT_ANNOTATED', async () => {
      await createPod(cp.admin, NAMESPACE, podManifest('plain', 'no-role'));
      assert.equal((await run('plain')).report.code, 'SA_NOT_ANNOTATED');
    });

    it('a pod with the opt-out label: WEBHOOK_NOT_CALLED (the objectSelector)', async () => {
      assertNoIdentity(await createPod(cp.admin, NAMESPACE, podManifest('opted-out', 'app', { 'pod-identity-webhook.io/skip': 'true' })));
      const { report } = await run('opted-out');
      assert.equal(report.code, 'WEBHOOK_NOT_CALLED');
      assert.match(report.links[0]!.detail.join('\n'), /objectSelector: pod-identity-webhook\.io\/skip NotIn \[true\]/);
    });

    it('a namespace the namespaceSelector excludes, read with its real labels: WEBHOOK_NOT_CALLED', async () => {
      await createServiceAccount(cp.admin, 'pod-identity-webhook', 'app', ROLE);
      // The namespace enforces the restricted Pod Security level.
      const base = podManifest('in-webhook-namespace', 'app');
      const pod = {
        ...base,
        spec: {
          ...base.spec,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: base.spec.containers.map((container) => ({ ...container, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } })),
        },
      };
      assertNoIdentity(await createPod(cp.admin, 'pod-identity-webhook', pod));
      const { report } = await run('in-webhook-namespace', [], 'pod-identity-webhook');
      assert.equal(report.code, 'WEBHOOK_NOT_CALLED');
      assert.doesNotMatch(report.links[0]!.detail.join('\n'), /namespace labels unknown/);
      assert.match(report.links[0]!.detail.join('\n'), /namespaceSelector: kubernetes\.io\/metadata\.name NotIn \[pod-identity-webhook\]/);
    });

    it('no configuration of that name (and no admission policy bound): WEBHOOK_NOT_INSTALLED; a pod that does not exist: exit 2', async () => {
      const { report } = await run('mutated', ['--webhook-configuration', 'not-installed']);
      assert.equal(report.code, 'WEBHOOK_NOT_INSTALLED');
      assert.doesNotMatch(report.fix ?? '', /opt-out/);
      assert.match(report.links[0]!.detail.join('\n'), /no MutatingWebhookConfiguration not-installed/);
      const missing = await runCli(['explain', '--kubeconfig', cp.adminKubeconfig, '--namespace', NAMESPACE, '--pod', 'nope']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no pod apps\/nope in the cluster/);
    });
  });
}
