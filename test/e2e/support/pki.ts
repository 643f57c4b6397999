import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { type CertificateAuthority, createCertificateAuthority, issueServingCertificate } from '../../../src/shared/certs/generate.js';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A client certificate (extKeyUsage clientAuth): the API server reads the user from CN and the groups from O. */
export function issueClientCertificate(ca: CertificateAuthority, user: string, groups: readonly string[] = []): KeyPair {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(key) as forge.pki.rsa.PrivateKey;
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  certificate.validity.notBefore = new Date(Date.now() - 5 * 60 * 1000);
  certificate.validity.notAfter = new Date(Date.now() + 24 * 60 * 60 * 1000);
  certificate.setSubject([{ name: 'commonName', value: user }, ...groups.map((group) => ({ name: 'organizationName', value: group }))]);
  certificate.setIssuer(ca.certificate.subject.attributes);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  certificate.sign(ca.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(certificate), key };
}

/** The files a control plane starts from, written into its directory. */
export interface ControlPlaneFiles {
  readonly caCert: string;
  readonly caCertPem: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** The service-account signing key (PKCS#1, as kubeadm writes sa.key). */
  readonly saKey: string;
  readonly admin: KeyPair;
  /** The CA itself, to issue the node's client certificates. */
  readonly ca: CertificateAuthority;
}

/** A CA, the API server's serving certificate (127.0.0.1, localhost and `hosts`), sa.key and a system:masters client. */
export function writeControlPlanePki(dir: string, hosts: readonly string[] = []): ControlPlaneFiles {
  const ca = createCertificateAuthority('kubernetes');
  const serving = issueServingCertificate(ca, { service: 'kubernetes', namespace: 'default', hosts: ['127.0.0.1', 'localhost', ...hosts], validityDays: 2 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
  };
  writeFileSync(files.caCert, ca.certPem);
  writeFileSync(files.serverCert, serving.cert);
  writeFileSync(files.serverKey, serving.key, { mode: 0o600 });
  writeFileSync(files.saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { mode: 0o600 });
  return { ...files, caCertPem: ca.certPem, admin: issueClientCertificate(ca, 'e2e-admin', ['system:masters']), ca };
}
