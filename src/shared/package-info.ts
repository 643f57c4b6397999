import { readFileSync, existsSync } from 'node:fs';
import { readTextFile } from './files/read-file.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root directory (the one holding package.json), from compiled or source files. */
export function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('package.json not found above the running module');
    directory = parent;
  }
  return directory;
}

export function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8'));
  const version = (manifest as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}

/** Where `npm run build` (scripts/build-info.mjs) writes the commit: dist/src/build-info.json, beside the compiled shared/. */
export const BUILD_INFO_PATH = fileURLToPath(new URL('../build-info.json', import.meta.url));

/** The git commit the build was made from, or `unknown` (no build-info file, or not a commit in it); never throws. */
export async function buildCommit(path: string = BUILD_INFO_PATH): Promise<string> {
  const text = await readTextFile(path, { what: 'the build info', maxBytes: 4096 });
  if (!text.ok) return 'unknown';
  try {
    const info: unknown = JSON.parse(text.value);
    const commit = typeof info === 'object' && info !== null && 'commit' in info ? info.commit : undefined;
    return typeof commit === 'string' && /^[0-9a-f]{7,64}$/.test(commit) ? commit : 'unknown';
  } catch {
    return 'unknown';
  }
}
