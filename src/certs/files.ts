import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeneratedCertificates } from './generate.js';

export const CERT_FILES = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The certificate files already present in a directory. */
export async function existingCertificateFiles(directory: string): Promise<string[]> {
  const present: string[] = [];
  for (const file of Object.values(CERT_FILES)) if (await exists(join(directory, file))) present.push(file);
  return present;
}

/** Writes the four PEM files; keys are readable by the owner only. */
export async function writeCertificateFiles(directory: string, certificates: GeneratedCertificates): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, CERT_FILES.caCert), certificates.caCert, { mode: 0o644 });
  await writeFile(join(directory, CERT_FILES.caKey), certificates.caKey, { mode: 0o600 });
  await writeFile(join(directory, CERT_FILES.key), certificates.key, { mode: 0o600 });
  // The certificate last: a watcher sees a complete pair as soon as it changes.
  await writeFile(join(directory, CERT_FILES.cert), certificates.cert, { mode: 0o644 });
}
