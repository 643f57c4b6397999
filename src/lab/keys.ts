import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, type JWK } from 'jose';
import type { Parsed } from '../shared/result.js';
import { errorMessage } from '../shared/log.js';
import { readTextFile } from '../shared/files/read-file.js';

/** A key the issuer publishes; `privateKey` is present when it can also sign. */
export interface IssuerKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject | undefined;
  readonly jwk: JWK;
  /** Where the key came from, for messages. */
  readonly source: string;
}

/** Kubernetes' key id: base64url(SHA-256(DER SubjectPublicKeyInfo)). */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

async function issuerKey(publicKey: KeyObject, privateKey: KeyObject | undefined, source: string): Promise<Parsed<IssuerKey>> {
  if (publicKey.asymmetricKeyType !== 'rsa') {
    return { ok: false, error: `${source}: only RSA keys are supported (tokens are signed RS256), got ${publicKey.asymmetricKeyType ?? 'unknown'}` };
  }
  const kid = keyId(publicKey);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { ok: true, value: { kid, publicKey, privateKey, jwk, source } };
}

/** Reads a PEM private key (PKCS#1 or PKCS#8, e.g. a kube-apiserver's sa.key) or a public key (verify only). */
export async function loadIssuerKey(path: string): Promise<Parsed<IssuerKey>> {
  const file = await readTextFile(path, 'key');
  if (!file.ok) return file;
  const pem = file.value;
  try {
    if (pem.includes('PRIVATE KEY')) {
      const privateKey = createPrivateKey(pem);
      return issuerKey(createPublicKey(privateKey), privateKey, path);
    }
    return issuerKey(createPublicKey(pem), undefined, path);
  } catch (error) {
    return { ok: false, error: `${path} is not a PEM RSA key: ${errorMessage(error)}` };
  }
}

/** Loads the key at `path`, generating an RSA-2048 key there first if the file does not exist. */
export async function loadOrCreateIssuerKey(path: string): Promise<Parsed<IssuerKey> & { created?: boolean }> {
  const missing = await access(path).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  // Anything but a missing file (unreadable, a directory) is reported by the loader, never overwritten.
  if (!missing) return loadIssuerKey(path);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    return { ok: false, error: `cannot create ${path}: ${errorMessage(error)}` };
  }
  const loaded = await issuerKey(createPublicKey(privateKey), privateKey, path);
  return { ...loaded, created: true };
}

/** The JSON Web Key Set the issuer serves: every key, public parts only. */
export function jwksOf(keys: readonly IssuerKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.jwk) };
}
