import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
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

/** Writes a file with exactly this mode, also when it already existed with another. */
async function writeWithMode(path: string, text: string, mode: number): Promise<void> {
  await writeFile(path, text, { mode });
  await chmod(path, mode);
}

/** Writes the four PEM files; keys are readable by the owner only. */
export async function writeCertificateFiles(directory: string, certificates: GeneratedCertificates): Promise<void> {
  await mkdir(directory, { recursive: true });
  await writeWithMode(join(directory, CERT_FILES.caCert), certificates.caCert, 0o644);
  await writeWithMode(join(directory, CERT_FILES.caKey), certificates.caKey, 0o600);
  await writeWithMode(join(directory, CERT_FILES.key), certificates.key, 0o600);
  // The certificate last: a watcher sees a complete pair as soon as it changes.
  await writeWithMode(join(directory, CERT_FILES.cert), certificates.cert, 0o644);
}
