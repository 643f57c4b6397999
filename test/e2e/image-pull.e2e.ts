import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorReport } from '../../src/diagnose/report.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { helmBinary, kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import type { KubeClient } from './support/kube-client.js';
import { issueClientCertificate } from './support/pki.js';
import { createNamespace } from './support/pods.js';
import { runCommand } from './support/processes.js';
import { MANIFESTS } from './support/webhook.js';

const NAMESPACE = 'apps';
const NODE = 'node-1';
const AUDIENCE = 'sts.amazonaws.com';
const ECR_ROLE = 'arn:aws:iam::111122223333:role/ecr-pull';
const CHART = join(MANIFESTS, '..', 'charts', 'pod-identity-webhook');

/**
 * Image-pull identity on a real kube-apiserver (the newest release: ServiceAccountNodeAudienceRestriction
 * is beta and on since 1.32) with NodeRestriction and the Node authorizer, as a kubelet meets them. The
 * kubelet's own TokenRequest for ecr-credential-provider is made here as the node does it (a
 * system:node:NAME client certificate, a token bound to a pod scheduled on that node, audience
 * sts.amazonaws.com, which no volume of the pod names): refused without the RBAC of
 * `image-pull-config --rbac`, granted with it (manifests/optional/image-pull.yaml, or the chart's
 * `imagePull.nodeAudienceRbac`), and doctor says which. The pull itself needs a kubelet, ecr-credential-provider and ECR.
 */
describe(`image pulls with pod ServiceAccount tokens on a real kube-apiserver ${kubernetesReleases().at(-1)!.version}`, function () {
  this.timeout(180_000);
  const release = kubernetesReleases().at(-1)!;
  let controlPlane: ControlPlane | undefined;
  let cp: ControlPlane;
  let node: KubeClient;
  let podUid = '';

  /** The kubelet's request: a token for the pod's ServiceAccount, bound to the pod, for the provider's audience. */
  const nodeTokenRequest = (pod = { name: 'app', uid: podUid }): ReturnType<KubeClient['request']> =>
    node.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/puller/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [AUDIENCE], expirationSeconds: 600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', ...pod } },
    });

  const doctor = async (): Promise<DoctorReport> => {
    const result = await runCli(['doctor', '--kubeconfig', cp.adminKubeconfig, '-n', NAMESPACE, '--output', 'json'], { timeoutMs: 60_000 });
    try {
      return JSON.parse(result.stdout) as DoctorReport;
    } catch {
      return assert.fail(`doctor printed no report (exit ${result.code}): ${result.stderr}`);
    }
  };
  const imagePullFindings = (report: DoctorReport): string[] => report.findings.filter((finding) => finding.check === 'image-pull').map((finding) => `${finding.severity} ${finding.code ?? '-'} ${finding.object ?? '-'}`);

  const kubectl = async (...args: string[]): Promise<void> => {
    const result = await cp.kubectl(args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  };

  before(async () => {
    controlPlane = await ControlPlane.create(release, { flags: { 'enable-admission-plugins': 'NodeRestriction,MutatingAdmissionWebhook' } });
    cp = controlPlane;
    node = cp.admin.withCredentials({ clientCertificate: issueClientCertificate(cp.files.ca, `system:node:${NODE}`, ['system:nodes']) });
    // The Node object as its kubelet registers it (NodeRestriction lets a node create only its own).
    await node.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
    await createNamespace(cp.admin, NAMESPACE);
    await cp.admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'puller', annotations: { 'eks.amazonaws.com/ecr-role-arn': ECR_ROLE } } });
    // Scheduled on the node (no scheduler here: nodeName set at creation); no volume names the audience.
    const pod = await cp.admin.create(`/api/v1/namespaces/${NAMESPACE}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app' },
      spec: { nodeName: NODE, serviceAccountName: 'puller', automountServiceAccountToken: false, containers: [{ name: 'app', image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1' }] },
    });
    podUid = String((pod.metadata as { uid?: unknown }).uid);
  });
  after(async () => {
    await controlPlane?.stop();
  });

  it('without the RBAC: NodeRestriction refuses the node a token for the audience (unless the pod mounts one of it), and doctor reports NODE_AUDIENCE_NOT_GRANTED', async () => {
    // The Node authorizer learns the pod's binding to the node from its informers: wait until only the audience is in the way.
    const refused = await waitFor('the Node authorizer to see the pod on the node', async () => {
      const answer = await nodeTokenRequest();
      return answer.status === 403 && /is not authorized to request tokens for audience/.test(answer.text) ? answer : undefined;
    }, 30_000, 200);
    assert.match(refused.text, new RegExp(`system:node:${NODE} is not authorized to request tokens for audience \\\\?"${AUDIENCE.replaceAll('.', '\\.')}\\\\?"`));
    // A pod that mounts a token of the audience itself (as the IRSA injection adds) needs no RBAC: explain and doctor rely on it.
    const irsa = await cp.admin.create(`/api/v1/namespaces/${NAMESPACE}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'irsa' },
      spec: {
        nodeName: NODE,
        serviceAccountName: 'puller',
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: '111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1' }],
        volumes: [{ name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: AUDIENCE, expirationSeconds: 86400, path: 'token' } }] } }],
      },
    });
    const irsaUid = String((irsa.metadata as { uid?: unknown }).uid);
    await waitFor('the node to get a token for the pod that mounts the audience', async () => (await nodeTokenRequest({ name: 'irsa', uid: irsaUid })).status === 201, 30_000, 200);
    await cp.admin.expect(200, 'DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/irsa?gracePeriodSeconds=0`);
    const report = await doctor();
    assert.deepEqual(imagePullFindings(report), [`error NODE_AUDIENCE_NOT_GRANTED ${NAMESPACE}/puller`], JSON.stringify(report.findings, null, 1));
    const finding = report.findings.find((candidate) => candidate.code === 'NODE_AUDIENCE_NOT_GRANTED')!;
    assert.match(finding.detail, new RegExp(`system:node:${NODE} may not request-serviceaccounts-token-audience`), 'doctor asked as the node it listed');
  });

  it('with manifests/optional/image-pull.yaml (image-pull-config --rbac): the node gets the token, and doctor says the nodes may request it', async () => {
    await kubectl('apply', '-f', join(MANIFESTS, 'optional', 'image-pull.yaml'));
    try {
      const granted = await waitFor('the RBAC to reach the authorizer', async () => {
        const answer = await nodeTokenRequest();
        return answer.status === 201 ? answer : undefined;
      }, 30_000, 200);
      const token = (granted.body as { status?: { token?: unknown } }).status?.token;
      assert.equal(typeof token, 'string');
      const claims = JSON.parse(Buffer.from(String(token).split('.')[1]!, 'base64url').toString('utf8')) as { aud: string[]; sub: string; 'kubernetes.io': { pod: { name: string }; node?: { name: string } } };
      assert.deepEqual(claims.aud, [AUDIENCE]);
      assert.equal(claims.sub, `system:serviceaccount:${NAMESPACE}:puller`);
      assert.equal(claims['kubernetes.io'].pod.name, 'app');
      assert.equal(claims['kubernetes.io'].node?.name, NODE, 'a pod-bound token carries its node (1.32+)');
      const report = await doctor();
      assert.deepEqual(imagePullFindings(report), ['ok - -'], JSON.stringify(report.findings, null, 1));
      assert.match(report.findings.find((finding) => finding.check === 'image-pull')!.detail, new RegExp(`system:node:${NODE} may request "${AUDIENCE.replaceAll('.', '\\.')}" tokens for 1 of 1 ServiceAccount`));
    } finally {
      await kubectl('delete', '-f', join(MANIFESTS, 'optional', 'image-pull.yaml'));
    }
  });

  it('the chart with imagePull.nodeAudienceRbac=true grants the same, and its RBAC is the generator\'s', async () => {
    const rendered = await runCommand(helmBinary(), ['template', 'piw', CHART, '--namespace', 'pod-identity-webhook', '--set', 'imagePull.nodeAudienceRbac=true', '--show-only', 'templates/image-pull-rbac.yaml'], { timeoutMs: 60_000 });
    assert.equal(rendered.code, 0, rendered.stderr);
    const file = join(cp.dir, 'chart-image-pull.yaml');
    writeFileSync(file, rendered.stdout);
    await kubectl('apply', '-f', file);
    try {
      await waitFor('the chart\'s RBAC to reach the authorizer', async () => (await nodeTokenRequest()).status === 201, 30_000, 200);
      const generated = await runCli(['image-pull-config', '--rbac', '-o', 'json']);
      const [role] = (JSON.parse(generated.stdout) as { items: Array<{ rules: unknown }> }).items;
      const fromChart = await cp.admin.get('/apis/rbac.authorization.k8s.io/v1/clusterroles/pod-identity-webhook-node-token-audience');
      assert.deepEqual(fromChart.rules, role!.rules);
    } finally {
      await kubectl('delete', '-f', file);
    }
    // Deleted: refused again (the grant was the chart's, nothing else).
    await waitFor('the RBAC to be gone', async () => (await nodeTokenRequest()).status === 403, 30_000, 200);
  });

  it('an ecr-role-arn that is not an ARN: doctor reports ECR_ROLE_ARN_INVALID', async () => {
    await kubectl('-n', NAMESPACE, 'annotate', '--overwrite', 'serviceaccount/puller', 'eks.amazonaws.com/ecr-role-arn=ecr-pull');
    try {
      const report = await doctor();
      assert.ok(imagePullFindings(report).includes(`error ECR_ROLE_ARN_INVALID ${NAMESPACE}/puller`), JSON.stringify(report.findings, null, 1));
    } finally {
      await kubectl('-n', NAMESPACE, 'annotate', '--overwrite', 'serviceaccount/puller', `eks.amazonaws.com/ecr-role-arn=${ECR_ROLE}`);
    }
  });
});
