import type { Logger } from '../../shared/log.js';
import { collectYoungGeneration, releaseMemory } from '../../shared/v8-memory.js';
import type { ListMemoryHooks } from './cluster-source.js';

const megabytes = (bytes: number): number => Math.round(bytes / 104_857.6) / 10;

/**
 * What `serve` does about memory while it lists every ServiceAccount, which grows V8's heap and
 * glibc's far beyond what the cache keeps: each page's buffers are collected as soon as the page is
 * done, and what the list used is given back once it is in the cache (logged as `memory-released`).
 */
export function listMemoryHooks(logger: Logger): ListMemoryHooks {
  return {
    afterPage: () => void collectYoungGeneration(),
    afterList: () => {
      const released = releaseMemory();
      if (released === undefined) return;
      logger.info('memory-released', {
        after: 'serviceaccounts list',
        durationMs: Math.round(released.durationMs * 10) / 10,
        rssBeforeMb: megabytes(released.rssBeforeBytes),
        rssAfterMb: megabytes(released.rssAfterBytes),
      });
    },
  };
}
