import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../shared/log.js';
import type { Parsed } from '../shared/result.js';

/**
 * Writes `text` to `path` through a temporary file in the same directory and a rename, so that a
 * process watching the file (the webhook, an SDK re-reading a token) never reads half of it.
 */
export async function writeFileAtomically(path: string, text: string, mode = 0o644): Promise<Parsed<void>> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { mode, flag: 'wx' });
    await rename(temporary, path);
    return { ok: true, value: undefined };
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    return { ok: false, error: `cannot write ${path}: ${errorMessage(error)}` };
  }
}
