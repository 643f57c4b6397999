import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readTextFile } from '../../shared/files/read-file.js';
import { serialized, watchFiles } from '../../shared/files/watch-files.js';
import { errorMessage, type Logger } from '../../shared/log.js';
import type { Parsed } from '../../shared/result.js';
import { NO_POD_IDENTITIES, type PodIdentities, parsePodIdentities } from './identities.js';
import type { PodIdentityEvents, PodIdentitySource } from './source.js';

/** The identities file is a ConfigMap's worth at most. */
const MAX_FILE_BYTES = 1024 * 1024;

export interface FileSourceOptions {
  readonly logger: Logger;
  readonly events: PodIdentityEvents;
  /** Quiet time after the last change before the file is read again (default 100 ms). */
  readonly debounceMs?: number;
}

type Read = Parsed<PodIdentities> & { readonly missing?: boolean };

async function readIdentities(path: string): Promise<Read> {
  const text = await readTextFile(path, { what: 'the container credentials config', maxBytes: MAX_FILE_BYTES });
  if (!text.ok) return text.code === 'ERR_FILE_NOT_FOUND' ? { ok: true, value: NO_POD_IDENTITIES, missing: true } : text;
  return parsePodIdentities(text.value, path);
}

/**
 * `--watch-container-credentials-config FILE`, as the Go webhook reads it: a missing or empty file
 * is the empty set (Pod Identity off for every pod), a malformed one keeps the previous set and is
 * logged. The file's directory is watched, so an atomic rename over the file and the `..data`
 * symlink swap of a mounted ConfigMap are both seen (the Go webhook's watcher misses the latter).
 * At start a malformed or unreadable file is an error (the caller exits 2); a missing one is not,
 * as the file is often written after the webhook starts.
 */
export async function watchPodIdentitiesFile(path: string, options: FileSourceOptions): Promise<Parsed<PodIdentitySource>> {
  const directory = dirname(resolve(path));
  const directoryStats = await stat(directory).catch(() => undefined);
  if (!directoryStats?.isDirectory()) return { ok: false, error: `cannot watch ${path}: its directory ${directory} does not exist` };
  const first = await readIdentities(path);
  if (!first.ok) return first;
  let identities = first.value;
  const { logger, events } = options;
  events.updated('success', identities.size);
  logger.log(first.missing ? 'warn' : 'info', 'pod-identities-loaded', { path, identities: identities.size, ...(first.missing ? { note: 'the file does not exist: no pod gets Pod Identity until it does' } : {}) });

  const reload = serialized(
    async () => {
      const read = await readIdentities(path);
      if (!read.ok) {
        // Keep the last good set: a half-written or broken file must not take Pod Identity from new pods.
        events.updated('invalid', identities.size);
        logger.error('pod-identities-invalid', { path, error: read.error, kept: identities.size });
        return;
      }
      identities = read.value;
      events.updated('success', identities.size);
      logger.info('pod-identities-updated', { path, identities: identities.size, ...(read.missing ? { note: 'the file was removed' } : {}) });
    },
    (error) => logger.error('pod-identities-reload-failed', { path, error: errorMessage(error) }),
  );
  const watch = watchFiles([path], () => void reload(), {
    debounceMs: options.debounceMs ?? 100,
    onError: (watched, error) => logger.error('pod-identities-watch-failed', { directory: watched, error: errorMessage(error) }),
  });
  return {
    ok: true,
    value: {
      current: () => identities,
      isReady: () => true,
      describe: () => `${identities.size} Pod Identity ServiceAccounts from ${path}`,
      stop: async () => watch.close(),
    },
  };
}
