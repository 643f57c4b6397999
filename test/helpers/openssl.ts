import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Key types the openssl command line makes (`-newkey` and its options). */
export type OpensslKeyType = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ec-secp256k1' | 'ed25519' | 'ed448' | 'rsa-1024' | 'rsa-pss';

export interface OpensslCaOptions {
  readonly keyType: OpensslKeyType;
  readonly commonName?: string;
  /** The extensions section (openssl x509v3_config lines); default: a CA allowed to sign certificates. */
  readonly extensions?: readonly string[];
}

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

const NEWKEY: Record<OpensslKeyType, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'ec-p521': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'],
  'ec-secp256k1': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
  ed25519: ['-newkey', 'ed25519'],
  ed448: ['-newkey', 'ed448'],
  'rsa-1024': ['-newkey', 'rsa:1024'],
  'rsa-pss': ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

export const CA_EXTENSIONS = ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash'] as const;

/**
 * A self-signed certificate and its key made by the openssl command line, not by the code under
 * test: CAs of the key types the project's own generator never makes (EC, Ed25519, Ed448, ...).
 */
export function opensslCertificate(options: OpensslCaOptions): PemPair {
  const dir = mkdtempSync(join(tmpdir(), 'piw-openssl-'));
  try {
    const config = [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${options.commonName ?? `foreign-${options.keyType}-ca`}`,
      '[ext]',
      ...(options.extensions ?? CA_EXTENSIONS),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'openssl.cnf'), config);
    execFileSync(
      'openssl',
      ['req', '-x509', ...NEWKEY[options.keyType], '-nodes', '-days', '30', '-config', join(dir, 'openssl.cnf'), '-extensions', 'ext', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 },
    );
    return { certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
