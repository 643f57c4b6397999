import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates, type GeneratedCertificates } from '../../src/shared/certs/generate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { createLogger, silentLogger } from '../../src/shared/log.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { CertificateReloader } from '../../src/shared/http/tls.js';
import { type RunningWebhook, startWebhook, ServiceStartError } from '../../src/webhook/server/webhook.js';
import type { ServiceAccountLookup, ServiceAccountSource } from '../../src/webhook/serviceaccounts/source.js';
import { httpsRequest } from '../helpers/https-client.js';
import { admissionReview, decodePatch, pod, responseOf } from '../helpers/reviews.js';
import { LogCapture, waitFor } from '../helpers/wait.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';

/** A source that answers after an optional delay (to keep requests in flight). */
function delayedSource(delayMs = 0): ServiceAccountSource {
  return {
    lookup: async (namespace, name): Promise<ServiceAccountLookup> => {
      if (delayMs > 0) await sleep(delayMs);
      return { status: 'found', from: 'cache', serviceAccount: { name, namespace, annotations: { 'eks.amazonaws.com/role-arn': ROLE } } };
    },
    isReady: () => true,
    describe: () => 'test source',
    stop: async () => undefined,
  };
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('HTTPS admission server', function () {
  this.timeout(60_000);
  let dir: string;
  let first: GeneratedCertificates;
  let webhook: RunningWebhook | undefined;

  before(() => {
    first = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1', 'localhost'] });
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-https-'));
    await writeCertificateFiles(dir, first);
  });
  afterEach(async () => {
    await webhook?.close();
    webhook = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(
    source: ServiceAccountSource = delayedSource(),
    logs?: LogCapture,
    shutdownTimeoutMs?: number,
    shutdownDelayMs?: number,
    readinessChecks?: Parameters<typeof startWebhook>[0]['readinessChecks'],
  ): Promise<RunningWebhook> {
    webhook = await startWebhook({
      bindAddress: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      tlsCertPath: join(dir, 'tls.crt'),
      tlsKeyPath: join(dir, 'tls.key'),
      options: DEFAULT_MUTATION_OPTIONS,
      serviceAccounts: source,
      logger: logs ? createLogger(logs.write) : silentLogger,
      metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      shutdownTimeoutMs,
      shutdownDelayMs,
      readinessChecks,
    });
    return webhook;
  }

  it('serves /mutate over TLS with a certificate for 127.0.0.1 signed by the generated CA', async () => {
    const server = await start();
    const result = await httpsRequest(`https://127.0.0.1:${server.port}/mutate?timeout=10s`, { body: JSON.stringify(admissionReview(pod('app'))), ca: first.caCert });
    assert.equal(result.status, 200);
    assert.equal(result.peerFingerprint, fingerprint(first.cert));
    assert.ok(decodePatch(JSON.parse(result.body)).length > 0);
    const ready = await httpsRequest(`https://localhost:${server.port}/readyz`, { ca: first.caCert });
    assert.equal(ready.status, 200);
  });

  it('refuses TLS 1.1 and below', async () => {
    const server = await start();
    await assert.rejects(
      httpsRequest(`https://127.0.0.1:${server.port}/healthz`, { ca: first.caCert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }),
      /protocol|version|alert|SSL/i,
    );
  });

  it('serves Prometheus metrics on the metrics port', async () => {
    const server = await start();
    await httpsRequest(`https://127.0.0.1:${server.port}/mutate`, { body: JSON.stringify(admissionReview(pod('app'))), ca: first.caCert });
    const response = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /pod_identity_webhook_admission_requests_total\{decision="mutated"\} 1/);
    assert.match(text, /pod_identity_webhook_certificate_expiry_timestamp_seconds \d+/);
    assert.equal((await fetch(`http://127.0.0.1:${server.metricsPort}/other`)).status, 404);
  });

  it('reports each readiness check as pod_identity_webhook_ready{check} on the metrics port, as /readyz answers it at each scrape', async () => {
    let cacheReady = false;
    let caBundle = true;
    const source: ServiceAccountSource = { ...delayedSource(), isReady: () => cacheReady };
    const server = await start(source, undefined, undefined, 1500, () => ({ caBundle }));
    const scrape = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
      return Object.fromEntries([...text.matchAll(/^pod_identity_webhook_ready\{check="([^"]+)"\} (\S+)$/gm)].map((match) => [match[1]!, Number(match[2])]));
    };
    const readyz = async (): Promise<number> => (await httpsRequest(`https://127.0.0.1:${server.port}/readyz`, { ca: first.caCert })).status;

    assert.deepEqual(await scrape(), { tls: 1, serviceAccounts: 0, caBundle: 1, shuttingDown: 1 });
    assert.equal(await readyz(), 503);
    cacheReady = true;
    assert.deepEqual(await scrape(), { tls: 1, serviceAccounts: 1, caBundle: 1, shuttingDown: 1 });
    assert.equal(await readyz(), 200);
    caBundle = false;
    assert.deepEqual(await scrape(), { tls: 1, serviceAccounts: 1, caBundle: 0, shuttingDown: 1 });
    assert.equal(await readyz(), 503);
    caBundle = true;
    const closing = server.close();
    assert.deepEqual(await scrape(), { tls: 1, serviceAccounts: 1, caBundle: 1, shuttingDown: 0 }, 'draining');
    assert.equal(await readyz(), 503);
    await closing;
    webhook = undefined;
  });

  it('reloads a replaced certificate while 1,000 requests are in flight, without a single failure', async () => {
    const server = await start(delayedSource(5));
    const second = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
    const body = JSON.stringify(admissionReview(pod('app')));
    // Half the requests share keep-alive connections, half open a TLS connection each.
    const agents = [new Agent({ keepAlive: true, maxSockets: 64, ca: [first.caCert, second.caCert] }), new Agent({ keepAlive: false, maxSockets: 64, ca: [first.caCert, second.caCert] })];
    let completed = 0;
    const requests = Array.from({ length: 1000 }, (_, index) =>
      httpsRequest(`https://127.0.0.1:${server.port}/mutate`, { body, agent: agents[index % 2], timeoutMs: 30_000 }).then(
        (result) => {
          completed += 1;
          return { ok: result.status === 200 && responseOf(JSON.parse(result.body)).allowed === true, fingerprint: result.peerFingerprint };
        },
        (error: Error) => ({ ok: false, fingerprint: error.message }),
      ),
    );
    await waitFor('some requests done', () => completed > 150);
    // Written the way a careless tool would: certificate first, key a moment later (a mismatched pair in between).
    writeFileSync(join(dir, 'tls.crt'), second.cert);
    await sleep(30);
    writeFileSync(join(dir, 'tls.key'), second.key);
    const results = await Promise.all(requests);
    for (const agent of agents) agent.destroy();
    assert.deepEqual(results.filter((result) => !result.ok), []);
    const fingerprints = new Set(results.map((result) => result.fingerprint));
    assert.ok(fingerprints.has(fingerprint(first.cert)), 'the old certificate served the first requests');
    assert.ok(fingerprints.has(fingerprint(second.cert)), 'the new certificate served later requests');
    const fresh = await httpsRequest(`https://127.0.0.1:${server.port}/healthz`, { ca: second.caCert });
    assert.equal(fresh.peerFingerprint, fingerprint(second.cert));
  });

  it('ignores other files changing in the certificate directory', async () => {
    const server = await start();
    let reloads = 0;
    assert.ok(server.certificates instanceof CertificateReloader, 'file mode reloads files');
    const reloader = server.certificates;
    const original = reloader.reload.bind(reloader);
    reloader.reload = () => {
      reloads += 1;
      return original();
    };
    for (let index = 0; index < 5; index += 1) {
      writeFileSync(join(dir, 'webhook.log'), `line ${index}\n`);
      await sleep(40);
    }
    await sleep(300);
    assert.equal(reloads, 0, 'a log file next to the certificates caused reloads');
    writeFileSync(join(dir, 'tls.crt'), first.cert); // touched, same content
    await waitFor('a reload attempt', () => reloads > 0, 3000);
  });

  it('keeps the old certificate when the new files are not a valid pair', async () => {
    const logs = new LogCapture();
    const server = await start(delayedSource(), logs);
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    await waitFor('the skipped reload logged', () => logs.events('certificate-reload-skipped').length > 0);
    const result = await httpsRequest(`https://127.0.0.1:${server.port}/healthz`, { ca: first.caCert });
    assert.equal(result.peerFingerprint, fingerprint(first.cert));
  });

  it('drains in-flight requests on close, then refuses new connections', async () => {
    const server = await start(delayedSource(400));
    const body = JSON.stringify(admissionReview(pod('app')));
    const inFlight = Array.from({ length: 10 }, () => httpsRequest(`https://127.0.0.1:${server.port}/mutate`, { body, ca: first.caCert }));
    await sleep(100);
    const closing = server.close();
    const results = await Promise.all(inFlight);
    assert.deepEqual(results.map((result) => result.status), Array(10).fill(200));
    await closing;
    webhook = undefined;
    await assert.rejects(httpsRequest(`https://127.0.0.1:${server.port}/healthz`, { ca: first.caCert }), /ECONNREFUSED/);
  });

  it('with a shutdown delay, keeps answering (not ready) before it closes, as a preStop sleep would', async () => {
    const server = await start(delayedSource(), undefined, undefined, 1500);
    const url = `https://127.0.0.1:${server.port}`;
    assert.equal((await httpsRequest(`${url}/readyz`, { ca: first.caCert })).status, 200);
    const started = Date.now();
    const closing = server.close();
    const readiness = await httpsRequest(`${url}/readyz`, { ca: first.caCert });
    assert.equal(readiness.status, 503, 'not ready during the delay');
    assert.equal(JSON.parse(readiness.body).checks.shuttingDown, true);
    const review = await httpsRequest(`${url}/mutate`, { body: JSON.stringify(admissionReview(pod('app'))), ca: first.caCert });
    assert.equal(review.status, 200, 'reviews are still answered during the delay');
    await closing;
    assert.ok(Date.now() - started >= 1400, `closed after ${Date.now() - started} ms`);
    await assert.rejects(httpsRequest(`${url}/healthz`, { ca: first.caCert, timeoutMs: 2000 }));
    webhook = undefined;
  });

  it('is not ready while its serving certificate is expired', async () => {
    const expired = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'], validityDays: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    await writeCertificateFiles(dir, expired);
    const server = await start();
    const readiness = await httpsRequest(`https://127.0.0.1:${server.port}/readyz`, { ca: expired.caCert, rejectUnauthorized: false });
    assert.equal(readiness.status, 503);
    assert.equal(JSON.parse(readiness.body).checks.tls, false);
  });

  it('reports unusable certificate files and busy ports as start errors', async () => {
    await assert.rejects(
      startWebhook({
        bindAddress: '127.0.0.1',
        port: 0,
        metricsPort: undefined,
        tlsCertPath: join(dir, 'missing.crt'),
        tlsKeyPath: join(dir, 'tls.key'),
        options: DEFAULT_MUTATION_OPTIONS,
        serviceAccounts: delayedSource(),
        logger: silentLogger,
        metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      }),
      (error: unknown) => error instanceof ServiceStartError && /cannot read the TLS certificate .*missing\.crt: no such file or directory/.test(error.message),
    );
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    await assert.rejects(
      startWebhook({
        bindAddress: '127.0.0.1',
        port,
        metricsPort: undefined,
        tlsCertPath: join(dir, 'tls.crt'),
        tlsKeyPath: join(dir, 'tls.key'),
        options: DEFAULT_MUTATION_OPTIONS,
        serviceAccounts: delayedSource(),
        logger: silentLogger,
        metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      }),
      new RegExp(`cannot listen on 127.0.0.1:${port}: the port is in use`),
    );
    blocker.close();
  });
});
