import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TLSSocket } from 'node:tls';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates, type GeneratedCertificates } from '../../src/shared/certs/generate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { silentLogger } from '../../src/shared/log.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { type RunningWebhook, startWebhook } from '../../src/webhook/server/webhook.js';
import type { ServiceAccountLookup } from '../../src/webhook/serviceaccounts/source.js';
import { httpsRequest } from '../helpers/https-client.js';
import { admissionReview, pod } from '../helpers/reviews.js';

interface SlowConnection {
  readonly closedAfterMs: Promise<number>;
  readonly received: () => string;
  stop(): void;
}

describe('slow and abusive clients', function () {
  this.timeout(60_000);
  let dir: string;
  let certificates: GeneratedCertificates;
  let webhook: RunningWebhook;
  const body = JSON.stringify(admissionReview(pod('app')));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-slow-'));
    certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(dir, certificates);
    webhook = await startWebhook({
      bindAddress: '127.0.0.1',
      port: 0,
      metricsPort: undefined,
      tlsCertPath: join(dir, 'tls.crt'),
      tlsKeyPath: join(dir, 'tls.key'),
      options: DEFAULT_MUTATION_OPTIONS,
      serviceAccounts: {
        lookup: (namespace, name): ServiceAccountLookup => ({
          status: 'found',
          from: 'cache',
          serviceAccount: { name, namespace, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } },
        }),
        isReady: () => true,
        describe: () => 'test',
        stop: async () => undefined,
      },
      logger: silentLogger,
      metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      // Production defaults are 10 s / 30 s / 10 s; shorter here so the test is quick.
      timeouts: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, handshakeTimeoutMs: 1000, checkIntervalMs: 100 },
    });
  });
  after(async () => {
    await webhook.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A TLS connection that writes `first`, then `drip` every interval, forever. */
  function slowConnection(first: string, drip: string, intervalMs: number): SlowConnection {
    const started = Date.now();
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: webhook.port, ca: certificates.caCert }, () => {
      socket.write(first);
      timer = setInterval(() => socket.write(drip), intervalMs);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('error', () => undefined);
    const closedAfterMs = new Promise<number>((resolve) =>
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      }),
    );
    return { closedAfterMs, received: () => received, stop: () => socket.destroy() };
  }

  it('slowloris: connections that never finish their headers are cut after the headers timeout, while others are served', async () => {
    const slow = Array.from({ length: 50 }, (_, index) => slowConnection('POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n', `X-Drip-${index}: a\r\n`, 200));
    await sleep(300);
    const latencies: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const started = performance.now();
      const result = await httpsRequest(`https://127.0.0.1:${webhook.port}/mutate`, { body, ca: certificates.caCert });
      latencies.push(performance.now() - started);
      assert.equal(result.status, 200);
    }
    const closed = await Promise.all(slow.map((connection) => connection.closedAfterMs));
    for (const connection of slow) connection.stop();
    assert.ok(Math.max(...closed) < 3000, `slow connections lived up to ${Math.max(...closed)} ms`);
    assert.ok(Math.min(...closed) >= 900, `cut too early (${Math.min(...closed)} ms)`);
    assert.match(slow[0]!.received(), /^HTTP\/1\.1 408 Request Timeout/);
    assert.ok(Math.max(...latencies) < 1000, `normal requests waited up to ${Math.max(...latencies)} ms`);
  });

  it('a body that trickles in is cut after the request timeout', async () => {
    const slow = slowConnection(`POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, ' ', 200);
    const closedAfter = await slow.closedAfterMs;
    assert.ok(closedAfter >= 1900 && closedAfter < 4000, `closed after ${closedAfter} ms`);
    assert.match(slow.received(), /^HTTP\/1\.1 408 Request Timeout/);
  });

  it('a TCP connection that never starts TLS is dropped after the handshake timeout', async () => {
    const started = Date.now();
    const socket = connectTcp({ host: '127.0.0.1', port: webhook.port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const lived = Date.now() - started;
    assert.ok(lived >= 900 && lived < 3000, `lived ${lived} ms`);
  });

  it('serves 200 concurrent connections', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 200, ca: certificates.caCert });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, () => httpsRequest(`https://127.0.0.1:${webhook.port}/mutate`, { body, agent, timeoutMs: 30_000 })),
      );
      assert.deepEqual(
        results.map((result) => result.status),
        Array(200).fill(200),
      );
      const sockets = Object.values(agent.freeSockets).flat().length;
      assert.ok(sockets > 100, `only ${sockets} connections were opened`);
    } finally {
      agent.destroy();
    }
  });
});
