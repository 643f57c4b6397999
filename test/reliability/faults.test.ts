import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates, type GeneratedCertificates } from '../../src/shared/certs/generate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { silentLogger } from '../../src/shared/log.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { type RunningWebhook, startWebhook } from '../../src/webhook/server/webhook.js';
import { ClusterServiceAccountSource } from '../../src/webhook/serviceaccounts/cluster-source.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { httpsRequest } from '../helpers/https-client.js';
import { CliProcess } from '../helpers/process.js';
import { admissionReview, decodePatch, pod, responseOf } from '../helpers/reviews.js';
import { waitFor } from '../helpers/wait.js';
import { accessFromKubeconfig } from '../helpers/cluster-access.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';

describe('faults: the API server going away, and SIGTERM under load', function () {
  this.timeout(60_000);
  let dir: string;
  let api: FakeApiServer;
  let certificates: GeneratedCertificates;

  before(() => {
    certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-faults-'));
    await writeCertificateFiles(dir, certificates);
    api = new FakeApiServer();
    await api.start();
  });
  afterEach(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (port: number, serviceAccount: string) =>
    httpsRequest(`https://127.0.0.1:${port}/mutate?timeout=10s`, { body: JSON.stringify(admissionReview(pod(serviceAccount), { namespace: 'shop' })), ca: certificates.caCert });

  it('during an API outage: cached ServiceAccounts still mutate, unknown ones are denied (retryable), and all recovers', async () => {
    api.apply('serviceaccounts', { metadata: { name: 'cached', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
    const cluster = await accessFromKubeconfig(api.kubeconfig());
    const metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    const source = new ClusterServiceAccountSource({
      cluster,
      annotationPrefix: 'eks.amazonaws.com',
      logger: silentLogger,
      events: metrics.serviceAccounts,
      lookupTimeoutMs: 500,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
    });
    source.start();
    let webhook: RunningWebhook | undefined;
    try {
      webhook = await startWebhook({
        bindAddress: '127.0.0.1',
        port: 0,
        metricsPort: undefined,
        tlsCertPath: join(dir, 'tls.crt'),
        tlsKeyPath: join(dir, 'tls.key'),
        options: DEFAULT_MUTATION_OPTIONS,
        serviceAccounts: source,
        logger: silentLogger,
        metrics,
      });
      const port = webhook.port;
      await source.waitForSync();
      await waitFor('a watch', () => api.activeWatches === 1);

      await api.stop();
      const cached = await post(port, 'cached');
      assert.ok(JSON.stringify(decodePatch(JSON.parse(cached.body))).includes(ROLE), 'the cache answers during the outage');
      const started = Date.now();
      const unknown = responseOf(JSON.parse((await post(port, 'created-during-outage')).body));
      assert.ok(Date.now() - started < 3000, 'the miss does not hang');
      assert.equal(unknown.allowed, false);
      assert.equal(unknown.status?.code, 503);
      assert.match(unknown.status?.message ?? '', /could not look up ServiceAccount shop\/created-during-outage: .*; retry the request/);

      api.apply('serviceaccounts', { metadata: { name: 'created-during-outage', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
      await api.start();
      await waitFor('the watch to come back', () => api.activeWatches === 1);
      const retried = await post(port, 'created-during-outage');
      assert.ok(JSON.stringify(decodePatch(JSON.parse(retried.body))).includes(ROLE), 'the retried pod gets its identity');
    } finally {
      await webhook?.close();
      await source.stop();
    }
  });

  it('SIGTERM while requests are in flight: every accepted request is answered, then the process exits 0', async () => {
    for (let index = 0; index < 40; index += 1) {
      api.apply('serviceaccounts', { metadata: { name: `sa${index}`, namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
    }
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
    const server = CliProcess.start([
      'serve', '--kubeconfig', join(dir, 'kubeconfig'), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0',
      '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
    ]);
    try {
      const port = await server.port();
      await waitFor('ready', async () => (await httpsRequest(`https://127.0.0.1:${port}/readyz`, { ca: certificates.caCert })).status === 200);
      // Unknown ServiceAccounts each cost a live GET the API answers after 500 ms: requests stay in flight.
      api.holdEvents();
      for (let index = 0; index < 40; index += 1) {
        api.apply('serviceaccounts', { metadata: { name: `slow${index}`, namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
      }
      api.delayGets(500);
      const inFlight = Array.from({ length: 40 }, (_, index) => post(port, index % 2 === 0 ? `slow${index}` : `sa${index}`));
      await waitFor('the slow lookups to reach the API', () => api.requests.filter((record) => record.kind === 'get').length >= 20);
      server.child.kill('SIGTERM');
      const results = await Promise.all(inFlight);
      assert.deepEqual(results.map((result) => result.status), Array(40).fill(200));
      for (const result of results) assert.ok(JSON.stringify(decodePatch(JSON.parse(result.body))).includes(ROLE));
      assert.equal(await server.exited(), 0);
      assert.ok(server.lines.some((line) => line.event === 'stopped'));
      await assert.rejects(httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: certificates.caCert }), /ECONNREFUSED/);
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
