import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` once things settle (`debounceMs` after the last event) whenever one of `paths` may
 * have changed. It watches their directories rather than the files, so the atomic `..data` symlink swap
 * of a mounted Kubernetes Secret or ConfigMap is seen; other files in those directories (a log
 * written next to the certificates, say) are ignored.
 */
export function watchFiles(
  paths: readonly string[],
  onChange: () => void,
  options: { readonly debounceMs: number; readonly onError: (directory: string, error: Error) => void },
): FileWatch {
  const relevant = new Set(paths.map((path) => basename(path)));
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onChange, options.debounceMs);
    timer.unref();
  };
  const watchers = [...new Set(paths.map((path) => dirname(resolve(path))))].map((directory) => {
    const watcher = watch(directory, { persistent: false }, (_event, file) => {
      // A null name means the platform could not say which file changed.
      if (file === null || relevant.has(file) || file.startsWith('..')) schedule();
    });
    watcher.on('error', (error) => options.onError(directory, error));
    return watcher;
  });
  return {
    close: () => {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/**
 * `task` run one call at a time: a call made while one runs starts after it, so an older file's
 * contents can never be installed after a newer one's. The promise never rejects: a throw becomes
 * `onError`'s value, so a watcher's fire-and-forget call cannot end the process.
 */
export function serialized<T>(task: () => Promise<T>, onError: (error: unknown) => T): () => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return () => {
    const next = queue.then(task).catch(onError);
    queue = next;
    return next;
  };
}
