/**
 * Run inside a network namespace of its own (test/reliability/dual-stack.test.ts): there the only
 * interface is loopback, so a server listening on every address is still reachable from nowhere
 * else. Starts `serve` in cluster mode with the default bind address and reports, as one JSON line,
 * whether its HTTPS and metrics ports answer over IPv6 (::1) and IPv4 (127.0.0.1).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { httpsRequest } from './https-client.js';
import { CliProcess } from './process.js';

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), 'piw-dual-stack-'));
const api = new FakeApiServer();
let server: CliProcess | undefined;
try {
  await api.start();
  const certificates = generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1', '::1'] });
  await writeCertificateFiles(dir, certificates);
  writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
  server = CliProcess.start(['serve', '--kubeconfig', join(dir, 'kubeconfig'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')]);
  const listening = await server.line('listening');
  const port = Number(new URL(String(listening.address)).port);
  const metricsPort = Number(new URL(String(listening.metrics)).port);
  const https = async (host: string): Promise<number> => (await httpsRequest(`https://${host}:${port}/healthz`, { ca: certificates.caCert }).catch(() => ({ status: 0 }))).status;
  process.stdout.write(
    `${JSON.stringify({
      address: listening.address,
      v6: await https('[::1]'),
      v4: await https('127.0.0.1'),
      metricsV6: await httpStatus(`http://[::1]:${metricsPort}/metrics`),
      metricsV4: await httpStatus(`http://127.0.0.1:${metricsPort}/metrics`),
    })}\n`,
  );
} finally {
  await server?.stop();
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
