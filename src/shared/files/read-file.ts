import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Parsed } from '../result.js';

/** Why a file could not be read or listed, in words, naming the path once: `cannot read PATH: no such file or directory`. */
export function fileError(path: string, error: unknown, what = ''): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const reason =
    code === 'ENOENT' ? 'no such file or directory'
    : code === 'EACCES' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory, expected a file'
    : code === 'ELOOP' ? 'too many levels of symbolic links'
    : message;
  return `cannot read ${what ? `${what} ` : ''}${path}: ${reason}`;
}

/**
 * Files the commands read are small: manifests, ConfigMaps (at most 1 MiB in Kubernetes), keys and
 * certificates. Anything larger is refused before it is read, so a wrong path (a log file, a disk
 * image, a link to /dev/zero) cannot take the process's memory.
 */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface ReadFileOptions {
  /** Names the file in messages ("key", say). */
  readonly what?: string;
  readonly maxBytes?: number;
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/**
 * A file's bytes, or why it could not be read. Only regular files are read (a FIFO or a device
 * would block or never end), and at most `maxBytes`: the size is checked before reading and the
 * read itself stops there, in case the file grows meanwhile.
 */
export async function readFileBytes(path: string, options: ReadFileOptions = {}): Promise<Parsed<Buffer>> {
  const { what, maxBytes = DEFAULT_MAX_FILE_BYTES } = options;
  const named = `${what ? `${what} ` : ''}${path}`;
  const tooLarge = (): Parsed<Buffer> => ({ ok: false, code: 'ERR_FILE_TOO_LARGE', error: `cannot read ${named}: larger than ${sizeText(maxBytes)}` });
  const failed = (error: unknown): Parsed<Buffer> => ({
    ok: false,
    code: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'ERR_FILE_NOT_FOUND' : 'ERR_FILE_UNREADABLE',
    error: fileError(path, error, what),
  });
  let handle;
  try {
    // Non-blocking: opening a FIFO to read would otherwise wait for a writer, forever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return failed(error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) return { ok: false, code: 'ERR_FILE_NOT_REGULAR', error: fileError(path, { code: 'EISDIR' }, what) };
    if (!stats.isFile()) return { ok: false, code: 'ERR_FILE_NOT_REGULAR', error: `cannot read ${named}: not a regular file` };
    if (stats.size > maxBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) return tooLarge();
    }
    return { ok: true, value: Buffer.concat(chunks, length) };
  } catch (error) {
    return failed(error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A UTF-8 text file (see readFileBytes for the limits), or why it could not be read. */
export async function readTextFile(path: string, options: ReadFileOptions | string = {}): Promise<Parsed<string>> {
  const bytes = await readFileBytes(path, typeof options === 'string' ? { what: options } : options);
  return bytes.ok ? { ok: true, value: bytes.value.toString('utf8') } : bytes;
}
