import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createCertificateAuthority, generateCertificates } from '../../src/shared/certs/generate.js';
import { bundleCertificates } from '../../src/webhook/certificates/bundle.js';
import { httpsRequest } from '../helpers/https-client.js';
import { opensslCertificate, type PemPair } from '../helpers/openssl.js';
import { CliProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

const NAMESPACE = 'pod-identity-webhook';
const SECRET_PATH = `/api/v1/namespaces/${NAMESPACE}/secrets/pod-identity-webhook-certs`;
const CONFIGURATION = 'pod-identity-webhook';
const CONFIGURATION_PATH = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${CONFIGURATION}`;

type Data = Partial<Record<'ca.crt' | 'ca.key' | 'tls.crt' | 'tls.key', string>>;

/**
 * One object the webhook reads and updates (GET and PUT, the write carrying the resourceVersion
 * read: 409 otherwise), as the API server keeps a Secret or a MutatingWebhookConfiguration.
 */
class WritableObject {
  object: Record<string, unknown>;
  private version = 1;

  constructor(
    api: FakeApiServer,
    path: string,
    initial: Record<string, unknown>,
  ) {
    this.object = { ...initial, metadata: { ...(initial.metadata as object), resourceVersion: '1' } };
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    api.serveRoute(new RegExp(`^${escaped}$`), (req, res) => this.handle(api, req, res));
  }

  private handle(api: FakeApiServer, req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') return api.send(res, 200, this.object);
    if (req.method !== 'PUT') return api.send(res, 405, { kind: 'Status', code: 405 });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const sent = (body.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (sent !== String(this.version)) return api.send(res, 409, { kind: 'Status', code: 409, reason: 'Conflict' });
      this.version += 1;
      this.object = { ...body, metadata: { ...(body.metadata as object), resourceVersion: String(this.version) } };
      api.send(res, 200, this.object);
    });
  }
}

const encode = (data: Data): Record<string, string> => Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
const decode = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : '', 'base64').toString('utf8');
const fingerprintsOf = (pem: string): string[] => bundleCertificates(pem).map((certificate) => certificate.fingerprint256);
const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** Connects to 127.0.0.1:port trusting only `caPem`; resolves with the served certificate's fingerprint. */
function verifiedFingerprint(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem, timeout: 5000 }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('timeout', () => socket.destroy(new Error('TLS connect timed out')));
    socket.on('error', reject);
  });
}

/**
 * `serve --certificate-mode self-managed` (a real process) against the fake API server, starting
 * from whatever the Secret holds: a CA of a key type the webhook did not make, one it cannot sign
 * with, garbage, a bundle repeating a CA. Whatever it holds, the process stays up and serves.
 */
describe('self-managed certificates: what the Secret holds (serve against the fake API server)', function () {
  this.timeout(60_000);
  let api: FakeApiServer;
  let dir: string;
  let running: CliProcess | undefined;

  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    dir = mkdtempSync(join(tmpdir(), 'piw-self-managed-'));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
  });
  afterEach(async () => {
    await running?.stop('SIGKILL');
    running = undefined;
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serveFrom(data: Data): Promise<{ secret: WritableObject; configuration: WritableObject; port: number; metricsPort: number; serving: CliProcess }> {
    const secret = new WritableObject(api, SECRET_PATH, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pod-identity-webhook-certs', namespace: NAMESPACE }, type: 'Opaque', data: encode(data) });
    const configuration = new WritableObject(api, CONFIGURATION_PATH, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: CONFIGURATION },
      webhooks: [{ name: 'mutate.pod-identity-webhook.io', clientConfig: { url: 'https://127.0.0.1/mutate' } }],
    });
    const serving = CliProcess.start([
      'serve', '--kubeconfig', join(dir, 'kubeconfig'), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0',
      '--certificate-mode', 'self-managed', '--webhook-configuration', CONFIGURATION, '--certificate-hosts', '127.0.0.1', '--certificate-check-interval', '1',
    ]);
    running = serving;
    const listening = await Promise.race([
      serving.line('listening', 20_000),
      serving.exited().then((code) => assert.fail(`serve exited ${String(code)} instead of serving: ${serving.stderr.trim()}`)),
    ]);
    return { secret, configuration, serving, port: Number(new URL(String(listening.address)).port), metricsPort: Number(new URL(String(listening.metrics)).port) };
  }

  const secretData = (secret: WritableObject): Data => {
    const data = (secret.object.data ?? {}) as Record<string, string>;
    return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, decode(value)]));
  };
  const caBundleOf = (configuration: WritableObject): string =>
    decode((configuration.object.webhooks as Array<{ clientConfig: { caBundle?: string } }>)[0]?.clientConfig.caBundle);
  const metricsText = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const ready = async (port: number, caPem: string): Promise<boolean> => (await httpsRequest(`https://127.0.0.1:${port}/readyz`, { ca: caPem }).catch(() => ({ status: 0 }))).status === 200;

  const supported: Array<[string, () => PemPair]> = [
    ['EC P-256', () => opensslCertificate({ keyType: 'ec-p256' })],
    ['EC P-384', () => opensslCertificate({ keyType: 'ec-p384' })],
    ['Ed25519', () => opensslCertificate({ keyType: 'ed25519' })],
  ];
  for (const [name, make] of supported) {
    it(`an ${name} CA with its key: signs the serving certificate with it, writes it into the caBundle, becomes ready`, async () => {
      const ca = make();
      const { secret, configuration, port, serving } = await serveFrom({ 'ca.crt': ca.certPem, 'ca.key': ca.keyPem });
      const served = await verifiedFingerprint(port, ca.certPem);
      const held = secretData(secret);
      assert.equal(held['ca.key'], ca.keyPem, 'the CA is kept');
      assert.equal(fingerprintsOf(held['ca.crt'] ?? '')[0], fingerprintOf(ca.certPem));
      assert.equal(served, fingerprintOf(held['tls.crt'] ?? ''), 'it serves the certificate it wrote, verified by the CA');
      assert.ok(new X509Certificate(held['tls.crt'] ?? '').verify(new X509Certificate(ca.certPem).publicKey));
      await waitFor('ready', () => ready(port, ca.certPem), 10_000, 100);
      assert.deepEqual(fingerprintsOf(caBundleOf(configuration)), [fingerprintOf(ca.certPem)]);
      assert.equal(serving.lines.filter((line) => line.event === 'ca-unusable').length, 0);
    });
  }

  const ec = (): PemPair => opensslCertificate({ keyType: 'ec-p256' });
  const unusable: Array<[string, string, () => Data]> = [
    ['an Ed448 CA (a key type the API server cannot verify)', 'unsupported-key', () => pairData(opensslCertificate({ keyType: 'ed448' }))],
    ['an RSA-PSS CA', 'unsupported-key', () => pairData(opensslCertificate({ keyType: 'rsa-pss' }))],
    ['a CA with a 1024-bit RSA key', 'unsupported-key', () => pairData(opensslCertificate({ keyType: 'rsa-1024' }))],
    ['a CA and the key of another', 'key-mismatch', () => ({ 'ca.crt': ec().certPem, 'ca.key': ec().keyPem })],
    ['an expired CA', 'expired', () => {
      const old = createCertificateAuthority('old', 3650, new Date(Date.now() - 3651 * 24 * 3600 * 1000));
      return { 'ca.crt': old.certPem, 'ca.key': old.keyPem };
    }],
    ['a certificate that is not a CA', 'not-a-ca', () => pairData(opensslCertificate({ keyType: 'ec-p256', extensions: ['basicConstraints = critical,CA:FALSE'] }))],
    ['a CA whose key usage does not allow signing certificates', 'not-a-ca', () => pairData(opensslCertificate({ keyType: 'ec-p256', extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature'] }))],
    ['garbage', 'unreadable', () => ({ 'ca.crt': 'not a certificate', 'ca.key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })],
    ['a CA without its key', 'unreadable', () => ({ 'ca.crt': ec().certPem })],
  ];
  for (const [name, reason, make] of unusable) {
    it(`${name}: replaced by a new CA, with a log line and a metric (reason ${reason}); the process stays up and serves`, async () => {
      const data = make();
      const { secret, configuration, port, metricsPort, serving } = await serveFrom(data);
      const held = secretData(secret);
      assert.notEqual(held['ca.key'], data['ca.key'], 'a new CA key');
      const newCa = bundleCertificates(held['ca.crt'] ?? '')[0];
      assert.ok(newCa?.ca, 'a new CA first in ca.crt');
      assert.ok(newCa.checkPrivateKey(createPrivateKey(held['ca.key'] ?? '')));
      assert.equal(await verifiedFingerprint(port, newCa.toString()), fingerprintOf(held['tls.crt'] ?? ''));
      const line = await serving.line('ca-unusable');
      assert.equal(line.level, 'warn');
      assert.equal(line.reason, reason, JSON.stringify(line));
      assert.match(String(line.error), /\S/);
      assert.match(await metricsText(metricsPort), new RegExp(`^pod_identity_webhook_unusable_ca_replaced_total\\{reason="${reason}"\\} 1$`, 'm'));
      await waitFor('ready', () => ready(port, newCa.toString()), 10_000, 100);
      assert.equal(fingerprintsOf(caBundleOf(configuration))[0], newCa.fingerprint256);
      assert.equal(serving.child.exitCode, null);
    });
  }

  it('a Secret emptied under a running replica (helm upgrade --force): refilled with what it serves, no new CA, the caBundle unchanged', async () => {
    const { secret, configuration, port, serving } = await serveFrom({});
    await waitFor('the certificate made and the caBundle written', async () => caBundleOf(configuration) !== '' && (await ready(port, caBundleOf(configuration))), 20_000, 100);
    const made = secretData(secret);
    const bundle = caBundleOf(configuration);
    // What the chart's empty Secret looks like once Helm has replaced the object.
    secret.object = { ...secret.object, data: undefined };
    await waitFor('the Secret refilled', async () => secretData(secret)['ca.crt'] !== undefined, 20_000, 100);
    await serving.line('secret-refilled', 5000);
    assert.deepEqual(secretData(secret), made, 'the same CA, key and serving certificate');
    assert.deepEqual(fingerprintsOf(caBundleOf(configuration)), fingerprintsOf(bundle), 'the caBundle as it was');
    assert.equal(await verifiedFingerprint(port, bundle), fingerprintOf(made['tls.crt']!));
    assert.equal(serving.lines.filter((line) => line.event === 'certificate-issued').length, 1, 'one certificate issued, at the start');
  });

  it('a caBundle repeating a foreign CA: each CA once, in the order first seen, in the Secret and the configuration', async () => {
    const ours = generateCertificates({ service: 'pod-identity-webhook', namespace: NAMESPACE, hosts: ['127.0.0.1'] });
    const foreign = createCertificateAuthority('foreign').certPem;
    const other = opensslCertificate({ keyType: 'ec-p256' }).certPem;
    const { secret, configuration, port } = await serveFrom({
      'ca.crt': [ours.caCert, foreign, foreign, other, foreign, other].join(''),
      'ca.key': ours.caKey,
      'tls.crt': ours.cert,
      'tls.key': ours.key,
    });
    const wanted = [ours.caCert, foreign, other].map(fingerprintOf);
    await waitFor('ready', () => ready(port, ours.caCert), 10_000, 100);
    assert.deepEqual(fingerprintsOf(secretData(secret)['ca.crt'] ?? ''), wanted);
    assert.deepEqual(fingerprintsOf(caBundleOf(configuration)), wanted);
    assert.equal(secretData(secret)['tls.crt'], ours.cert, 'the serving certificate is kept');
  });
});

function pairData(pair: PemPair): Data {
  return { 'ca.crt': pair.certPem, 'ca.key': pair.keyPem };
}
