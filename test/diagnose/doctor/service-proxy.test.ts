import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorReport } from '../../../src/diagnose/report.js';
import { writeCertificateFiles } from '../../../src/shared/certs/files.js';
import { type GeneratedCertificates, generateCertificates } from '../../../src/shared/certs/generate.js';
import { applyPatch } from '../../../src/webhook/apply-patch.js';
import { runCli } from '../../helpers/cli.js';
import { httpsRequest } from '../../helpers/https-client.js';
import { CliProcess } from '../../helpers/process.js';
import { admissionReview, decodePatch } from '../../helpers/reviews.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeApiServer } from '../../support/fake-apiserver.js';

const NS = 'pod-identity-webhook';
const NAME = 'pod-identity-webhook';
const ROLE = 'arn:aws:iam::111122223333:role/app';
const CONFIGURATION = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`;

/**
 * A service clientConfig, which doctor reaches through the API server's service proxy. A real
 * kube-apiserver refuses to proxy to a loopback endpoint (and these tests may listen on loopback
 * only), so here the fake API server plays it: the objects as the API server would return them,
 * and `services/https:NAME:443/proxy/...` forwarded to a real webhook process (`serve` in cluster
 * mode against the same fake, checking its configuration's caBundle), without verifying its
 * certificate, as the API server's proxy does. Everything else about doctor runs against a real
 * API server in test/e2e/doctor.e2e.ts.
 */
describe('doctor through the service proxy (the fake API server in front of a real webhook)', function () {
  this.timeout(60_000);
  let dir: string;
  let api: FakeApiServer;
  let webhook: CliProcess | undefined;
  let webhookPort = 0;
  let served: GeneratedCertificates;
  let configuration: Record<string, unknown>;

  function webhookConfiguration(caBundle: string): Record<string, unknown> {
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: NAME, resourceVersion: '1' },
      webhooks: [
        {
          name: 'mutate.pod-identity-webhook.io',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          reinvocationPolicy: 'IfNeeded',
          clientConfig: { service: { name: NAME, namespace: NS, path: '/mutate', port: 443 }, caBundle: Buffer.from(caBundle).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS] }] },
        },
      ],
    };
  }

  /** The API server's service proxy: GET forwarded to the webhook over TLS, its answer returned as it is. */
  function proxy(path: string, res: import('node:http').ServerResponse): void {
    const upstream = request({ host: '127.0.0.1', port: webhookPort, path, method: 'GET', rejectUnauthorized: false, agent: false, timeout: 5000 }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      // What kube-apiserver answers when it cannot dial the endpoint.
      api.send(res, 503, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `error trying to reach service: ${error.message}`, reason: 'ServiceUnavailable', code: 503 });
    });
    upstream.end();
  }

  async function startWebhook(): Promise<void> {
    webhook = CliProcess.start([
      'serve', '--kubeconfig', join(dir, 'webhook.kubeconfig'), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0',
      '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--webhook-configuration', NAME, '--certificate-check-interval', '1',
    ]);
    webhookPort = await webhook.port();
  }

  const readiness = async (): Promise<number> => (await httpsRequest(`https://127.0.0.1:${webhookPort}/readyz`, { ca: served.caCert }).catch(() => ({ status: 0 }))).status;

  /** A pod as the API server stores it after the webhook mutated it (the real webhook's patch applied). */
  async function mutated(pod: Record<string, unknown>, namespace: string): Promise<Record<string, unknown>> {
    const answer = await httpsRequest(`https://127.0.0.1:${webhookPort}/mutate`, { body: JSON.stringify(admissionReview(pod, { namespace })), ca: served.caCert });
    const patch = decodePatch(JSON.parse(answer.body));
    assert.ok(patch.length > 0, 'the webhook mutates the pod');
    return applyPatch(structuredClone(pod), patch);
  }

  const doctor = async (...args: string[]): Promise<{ code: number; report: DoctorReport; stderr: string }> => {
    const result = await runCli(['doctor', '--kubeconfig', join(dir, 'doctor.kubeconfig'), '--output', 'json', ...args], { timeoutMs: 30_000 });
    assert.equal(result.stderr.includes('unexpected error'), false, result.stderr);
    return { code: result.code, report: JSON.parse(result.stdout) as DoctorReport, stderr: result.stderr };
  };
  const codes = (report: DoctorReport): string[] => report.findings.filter((finding) => finding.severity === 'warning' || finding.severity === 'error').map((finding) => `${finding.code} ${finding.object ?? ''}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-doctor-proxy-'));
    api = new FakeApiServer();
    served = generateCertificates({ service: NAME, namespace: NS, hosts: ['127.0.0.1'] });
    await writeCertificateFiles(dir, served);
    configuration = webhookConfiguration(served.caCert);
    api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { major: '1', minor: '37', gitVersion: 'v1.37.2-fake' }));
    api.serveRoute(new RegExp(`^${CONFIGURATION}$`), (_req, res) => api.send(res, 200, configuration));
    api.serveObject('/api/v1/namespaces', { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'apps' } }, { metadata: { name: NS } }] });
    api.serveObject(`/api/v1/namespaces/${NS}/services/${NAME}`, {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: NAME, namespace: NS },
      spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
    });
    api.serveObject(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: {},
      items: [{ metadata: { name: `${NAME}-x1`, namespace: NS }, addressType: 'IPv4', ports: [{ name: 'https', port: 8443 }], endpoints: [{ addresses: ['10.244.0.7'], conditions: { ready: true } }] }],
    });
    api.serveObject(`/api/v1/namespaces/${NS}/secrets/${NAME}-tls`, { kind: 'Secret', apiVersion: 'v1', metadata: { name: `${NAME}-tls`, namespace: NS }, data: { 'tls.crt': Buffer.from(served.cert).toString('base64'), 'ca.crt': Buffer.from(served.caCert).toString('base64') } });
    api.serveRoute(new RegExp(`^/api/v1/namespaces/${NS}/services/https:${NAME}:443/proxy(/.*)$`), (req, res, match) => proxy(`${match[1]}${new URL(req.url ?? '/', 'https://x').search}`, res));
    api.serveObject('/.well-known/openid-configuration', { issuer: 'https://oidc.example.com/id/FAKE', jwks_uri: 'https://oidc.example.com/id/FAKE/openid/v1/jwks', response_types_supported: ['id_token'] });
    api.serveObject('/openid/v1/jwks', { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'k1', n: 'sXch', e: 'AQAB' }] });
    api.apply('serviceaccounts', { metadata: { name: 'app', namespace: 'apps', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
    await api.start();
    writeFileSync(join(dir, 'webhook.kubeconfig'), api.kubeconfig());
    writeFileSync(join(dir, 'doctor.kubeconfig'), api.kubeconfig());
    await startWebhook();
    await waitFor('the webhook ready (its caBundle check passed)', async () => (await readiness()) === 200, 20_000, 100);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app-1', namespace: 'apps' }, spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'app:1' }] }, status: { phase: 'Running' } };
    api.apply('pods', await mutated(pod, 'apps'));
  });
  after(async () => {
    await webhook?.stop('SIGKILL');
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy installation: exit 0, the webhook ready through the proxy, the Secret certificate verified, each said how', async () => {
    const { code, report } = await doctor();
    assert.deepEqual(codes(report), []);
    assert.equal(report.verdict, 'ok');
    assert.equal(code, 0);
    const details = report.findings.filter((finding) => finding.severity === 'ok').map((finding) => finding.detail);
    assert.ok(details.some((detail) => /answers GET \/readyz through the API server's service proxy .*: 200 \(tls true, serviceAccounts true, caBundle true/.test(detail)), details.join('\n'));
    assert.ok(details.some((detail) => /reports that the caBundle of its --webhook-configuration verifies the certificate it serves/.test(detail)));
    assert.ok(details.some((detail) => /the caBundle verifies the certificate in Secret pod-identity-webhook\/pod-identity-webhook-tls .*Compared from the Secret/.test(detail)));
    assert.ok(details.some((detail) => /1 whose ServiceAccount has an identity, 1 of them carrying exactly/.test(detail)));
  });

  it('a pod stored while the webhook was down: POD_NOT_MUTATED, exit 1; paginated with --max-pods', async () => {
    api.apply('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app-2', namespace: 'apps' }, spec: { serviceAccountName: 'app', containers: [{ name: 'app', image: 'app:1' }] }, status: { phase: 'Running' } });
    const { code, report } = await doctor();
    assert.deepEqual(codes(report), ['POD_NOT_MUTATED apps/app-2']);
    assert.equal(code, 1);
    const capped = await doctor('--max-pods', '1');
    assert.ok(capped.report.findings.some((finding) => /stopped after 1 pods/.test(finding.detail)), JSON.stringify(capped.report));
    assert.ok(api.requests.some((entry) => entry.path === '/api/v1/pods' && entry.query.limit === '1'), 'the pods are listed with a limit');
    api.delete('pods', 'apps', 'app-2');
  });

  it('the configuration\'s caBundle from another CA: the webhook reports it (not ready), and the Secret comparison fails too', async () => {
    configuration = webhookConfiguration(generateCertificates({ service: NAME, namespace: NS }).caCert);
    await waitFor('the webhook not ready', async () => (await readiness()) === 503, 20_000, 100);
    const { code, report } = await doctor();
    assert.deepEqual(codes(report).sort(), ['CA_BUNDLE_MISMATCH webhook/mutate.pod-identity-webhook.io', 'CA_BUNDLE_MISMATCH webhook/mutate.pod-identity-webhook.io', 'WEBHOOK_NOT_READY webhook/mutate.pod-identity-webhook.io']);
    assert.equal(code, 1);
    configuration = webhookConfiguration(served.caCert);
    await waitFor('the webhook ready again', async () => (await readiness()) === 200, 20_000, 100);
  });

  it('the webhook process gone: the proxy cannot reach it, WEBHOOK_UNREACHABLE', async () => {
    await webhook!.stop();
    const { code, report } = await doctor();
    assert.deepEqual(codes(report), ['WEBHOOK_UNREACHABLE webhook/mutate.pod-identity-webhook.io']);
    assert.match(report.findings.find((finding) => finding.code === 'WEBHOOK_UNREACHABLE')!.detail, /error trying to reach service/);
    assert.equal(code, 1);
  });
});
