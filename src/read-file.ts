import { readFile } from 'node:fs/promises';
import type { Parsed } from './k8s/objects.js';

/** Why a file could not be read or listed, in words, naming the path once: `cannot read PATH: no such file or directory`. */
export function fileError(path: string, error: unknown, what = ''): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const reason =
    code === 'ENOENT' ? 'no such file or directory'
    : code === 'EACCES' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory, expected a file'
    : message;
  return `cannot read ${what ? `${what} ` : ''}${path}: ${reason}`;
}

/** A UTF-8 text file, or why it could not be read (`what` names it in the message: "key", say). */
export async function readTextFile(path: string, what?: string): Promise<Parsed<string>> {
  try {
    return { ok: true, value: await readFile(path, 'utf8') };
  } catch (error) {
    return { ok: false, error: fileError(path, error, what) };
  }
}
