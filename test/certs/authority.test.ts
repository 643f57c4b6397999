import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { readCertificateAuthority } from '../../src/shared/certs/authority.js';
import { createCertificateAuthority, issueServingCertificate } from '../../src/shared/certs/generate.js';
import { opensslCertificate, type PemPair } from '../helpers/openssl.js';

const DAY_MS = 24 * 3600 * 1000;

/** A TLS handshake to a server presenting `cert`, trusting only `caPem`, for `servername`. */
async function handshake(cert: string, key: string, caPem: string, servername: string): Promise<void> {
  const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, ca: caPem, timeout: 5000 }, () => {
        socket.end();
        resolve();
      });
      socket.on('timeout', () => socket.destroy(new Error('handshake timed out')));
      socket.on('error', reject);
    });
  } finally {
    server.close();
  }
}

/**
 * `openssl verify`: chain building by issuer name and key identifier, the CA's basicConstraints and
 * keyUsage; strict (RFC 5280's profile) unless the CA itself breaks it (no subjectKeyIdentifier).
 */
function opensslVerify(caPem: string, leafPem: string, strict: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'piw-verify-'));
  try {
    writeFileSync(join(dir, 'ca.crt'), caPem);
    writeFileSync(join(dir, 'leaf.crt'), leafPem);
    return execFileSync('openssl', ['verify', ...(strict ? ['-x509_strict'] : []), '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'leaf.crt')], { encoding: 'utf8', timeout: 20_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('certificate authorities of any key type the API server verifies (node:crypto signs, forge encodes)', function () {
  this.timeout(30_000);
  const own = createCertificateAuthority('own');
  const supported: Array<[string, () => PemPair]> = [
    ['RSA (the webhook\'s own)', () => own],
    ['EC P-256', () => opensslCertificate({ keyType: 'ec-p256' })],
    ['EC P-384', () => opensslCertificate({ keyType: 'ec-p384' })],
    ['EC P-521', () => opensslCertificate({ keyType: 'ec-p521' })],
    ['Ed25519', () => opensslCertificate({ keyType: 'ed25519' })],
    ['EC P-256 without a subjectKeyIdentifier', () => opensslCertificate({ keyType: 'ec-p256', extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign', 'subjectKeyIdentifier = none', 'authorityKeyIdentifier = none'] })],
  ];
  for (const [name, make] of supported) {
    it(`${name}: the serving certificate it signs passes openssl verify and a real TLS handshake`, async () => {
      const ca = make();
      const read = readCertificateAuthority(ca.certPem, ca.keyPem);
      assert.ok(read.ok, read.ok ? '' : read.error);
      const issued = issueServingCertificate(ca, { service: 'piw', namespace: 'irsa', hosts: ['127.0.0.1'] });
      const leaf = new X509Certificate(issued.cert);
      const authority = new X509Certificate(ca.certPem);
      assert.ok(leaf.checkIssued(authority));
      assert.ok(leaf.verify(authority.publicKey));
      assert.equal(leaf.issuer, authority.subject);
      assert.equal(issued.caCert, ca.certPem);
      assert.match(opensslVerify(ca.certPem, issued.cert, !name.includes('without a subjectKeyIdentifier')), /: OK/);
      await handshake(issued.cert, issued.key, ca.certPem, 'piw.irsa.svc');
    });
  }

  const ec = (): PemPair => opensslCertificate({ keyType: 'ec-p256' });
  const problems: Array<[string, string, () => PemPair, Date?]> = [
    ['Ed448', 'unsupported-key', () => opensslCertificate({ keyType: 'ed448' })],
    ['EC secp256k1', 'unsupported-key', () => opensslCertificate({ keyType: 'ec-secp256k1' })],
    ['RSA-PSS', 'unsupported-key', () => opensslCertificate({ keyType: 'rsa-pss' })],
    ['RSA 1024 bits', 'unsupported-key', () => opensslCertificate({ keyType: 'rsa-1024' })],
    ['another CA\'s key', 'key-mismatch', () => ({ certPem: ec().certPem, keyPem: ec().keyPem })],
    ['not a CA', 'not-a-ca', () => opensslCertificate({ keyType: 'ec-p256', extensions: ['basicConstraints = critical,CA:FALSE'] })],
    ['keyUsage without keyCertSign', 'not-a-ca', () => opensslCertificate({ keyType: 'ec-p256', extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature,cRLSign'] })],
    ['expired', 'expired', () => createCertificateAuthority('old', 3650, new Date(Date.now() - 3651 * DAY_MS))],
    ['not yet valid', 'not-yet-valid', () => createCertificateAuthority('early', 3650, new Date(Date.now() + DAY_MS))],
    ['a certificate that is not PEM', 'unreadable', () => ({ certPem: 'garbage', keyPem: own.keyPem })],
    ['a key that is not PEM', 'unreadable', () => ({ certPem: own.certPem, keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })],
  ];
  for (const [name, code, make] of problems) {
    it(`${name}: refused with code ${code} and one line; issuing with it throws that line`, () => {
      const ca = make();
      const read = readCertificateAuthority(ca.certPem, ca.keyPem);
      assert.equal(read.ok, false);
      if (read.ok) return;
      assert.equal(read.code, code, read.error);
      assert.doesNotMatch(read.error, /\n/);
      assert.throws(() => issueServingCertificate(ca, { service: 'piw', namespace: 'irsa' }), { message: read.error });
    });
  }
});
