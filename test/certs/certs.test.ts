import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { generateCertificates, serviceAltNames } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { opensslCertificate } from '../helpers/openssl.js';

describe('certificate generation', () => {
  const generated = generateCertificates({ service: 'piw', namespace: 'irsa', hosts: ['webhook.example.com', '127.0.0.1'] });
  const ca = new X509Certificate(generated.caCert);
  const leaf = new X509Certificate(generated.cert);

  it('names the Service in every form the API server may use, then the extra hosts', () => {
    assert.deepEqual(serviceAltNames('piw', 'irsa', ['x']), ['piw', 'piw.irsa', 'piw.irsa.svc', 'piw.irsa.svc.cluster.local', 'x']);
    assert.equal(
      leaf.subjectAltName,
      'DNS:piw, DNS:piw.irsa, DNS:piw.irsa.svc, DNS:piw.irsa.svc.cluster.local, DNS:webhook.example.com, IP Address:127.0.0.1',
    );
  });

  it('signs the serving certificate with the CA; only the CA may sign', () => {
    assert.ok(leaf.checkIssued(ca));
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage serverAuth');
    assert.equal(createPrivateKey(generated.key).asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(new Date(leaf.validTo).getTime() > Date.now() + 364 * 24 * 3600 * 1000);
  });

  it('passes real TLS verification for the Service DNS name (as the API server dials it)', async () => {
    const server = createServer({ cert: generated.cert, key: generated.key }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const servername of ['piw.irsa.svc', 'webhook.example.com']) {
        await new Promise<void>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, servername, ca: generated.caCert }, () => {
            socket.end();
            resolve();
          });
          socket.on('error', reject);
        });
      }
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, servername: 'other.irsa.svc', ca: generated.caCert }, () => resolve());
          socket.on('error', reject);
        }),
        /Hostname\/IP does not match/,
      );
    } finally {
      server.close();
    }
  });
});

describe('certs command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-certs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the CA and serving pair, keys private, and prints the base64 caBundle', async () => {
    const out = join(dir, 'out');
    const result = await runCli(['certs', '--service', 'hook', '--namespace', 'sys', '--hosts', 'a.example.com, 10.0.0.7', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const caBundle = result.stdout.trim();
    assert.equal(Buffer.from(caBundle, 'base64').toString(), readFileSync(join(out, 'ca.crt'), 'utf8'));
    assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'ca.key')).mode & 0o777, 0o600);
    const leaf = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    assert.match(leaf.subjectAltName ?? '', /DNS:hook\.sys\.svc\.cluster\.local, DNS:a\.example\.com, IP Address:10\.0\.0\.7$/);
    assert.match(result.stderr, /SANs: hook, hook\.sys/);
  });

  it('refuses to overwrite without --force; --force re-signs with the existing CA; --new-ca replaces it', async () => {
    assert.equal((await runCli(['certs', '--out', dir])).code, 0);
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    const [ca, cert] = [read('ca.crt'), read('tls.crt')];
    const refused = await runCli(['certs', '--out', dir]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already exist; pass --force to overwrite/);
    assert.equal(read('tls.crt'), cert);

    chmodSync(join(dir, 'tls.key'), 0o644); // someone loosened it
    const rotated = await runCli(['certs', '--out', dir, '--force']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stderr, /kept the CA \(the caBundle is unchanged\)/);
    assert.equal(read('ca.crt'), ca, 'the CA stays, so the caBundle stays valid');
    assert.notEqual(read('tls.crt'), cert);
    assert.ok(new X509Certificate(read('tls.crt')).verify(new X509Certificate(ca).publicKey), 'signed by the kept CA');
    assert.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600, 'key permissions are restored');
    assert.equal(Buffer.from(rotated.stdout.trim(), 'base64').toString(), ca);

    const replaced = await runCli(['certs', '--out', dir, '--force', '--new-ca']);
    assert.equal(replaced.code, 0);
    assert.notEqual(read('ca.crt'), ca);
    assert.ok(new X509Certificate(read('tls.crt')).verify(new X509Certificate(read('ca.crt')).publicKey));
  });

  it('says so when the existing CA cannot be reused', async () => {
    assert.equal((await runCli(['certs', '--out', dir])).code, 0);
    writeFileSync(join(dir, 'ca.key'), generateCertificates({ service: 'x', namespace: 'y' }).caKey);
    const result = await runCli(['certs', '--out', dir, '--force']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot reuse the CA in .*: the CA certificate and key do not belong together \(pass --new-ca to replace it\)/);
  });

  it('--force reuses a CA of a key type it does not make (EC P-256), and refuses one it cannot sign with (Ed448)', async () => {
    const ec = opensslCertificate({ keyType: 'ec-p256' });
    writeFileSync(join(dir, 'ca.crt'), ec.certPem);
    writeFileSync(join(dir, 'ca.key'), ec.keyPem);
    const reused = await runCli(['certs', '--out', dir, '--force']);
    assert.equal(reused.code, 0, reused.stderr);
    assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), ec.certPem);
    assert.ok(new X509Certificate(readFileSync(join(dir, 'tls.crt'))).verify(new X509Certificate(ec.certPem).publicKey));
    const ed448 = opensslCertificate({ keyType: 'ed448' });
    writeFileSync(join(dir, 'ca.crt'), ed448.certPem);
    writeFileSync(join(dir, 'ca.key'), ed448.keyPem);
    const refused = await runCli(['certs', '--out', dir, '--force']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^pod-identity-webhook: cannot reuse the CA in .*: the CA cannot sign for the API server: its key is ed448: .* \(pass --new-ca to replace it\)\n$/);
  });

  it('rejects names that cannot be DNS labels', async () => {
    const result = await runCli(['certs', '--service', 'Bad_Name', '--out', dir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is not a DNS label/);
  });
});
