import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's own `gc` function (its gc extension), with the options it reads. */
type CollectGarbage = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' } | { type: 'minor'; execution: 'sync' }) => void;

/** What one release did. */
export interface MemoryRelease {
  readonly durationMs: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
}

let collector: CollectGarbage | null | undefined;

/**
 * V8's gc function without `--expose-gc` on the command line: the flag is turned on just long
 * enough for a throwaway context to receive the function, then off again, so no other context
 * (the main one, or a vm context made later) gains a global `gc`. Null where this Node refuses.
 */
function collectGarbage(): CollectGarbage | null {
  if (collector !== undefined) return collector;
  const exposed: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return (collector = exposed as CollectGarbage);
  try {
    setFlagsFromString('--expose-gc');
    const candidate: unknown = runInNewContext('gc');
    collector = typeof candidate === 'function' ? (candidate as CollectGarbage) : null;
  } catch {
    collector = null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return collector;
}

/**
 * After a burst of allocation that is over (a full list of every ServiceAccount), give the memory
 * it used back: one memory-reducing collection, V8's "last resort" one, which compacts the old
 * generation and shrinks the young generation to its minimum. Left alone, V8 keeps a young
 * generation grown to its ceiling for as long as the process is idle (bench/README.md, fifth
 * round). Blocks for the collection (tens of milliseconds on a heap of 50,000 ServiceAccounts), so
 * it is for rare events, never per request. Undefined when this Node offers no way to ask.
 */
export function releaseMemory(): MemoryRelease | undefined {
  const collect = collectGarbage();
  if (collect === null) return undefined;
  const rssBeforeBytes = process.memoryUsage.rss();
  const started = performance.now();
  collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { durationMs: performance.now() - started, rssBeforeBytes, rssAfterBytes: process.memoryUsage.rss() };
}

/**
 * One collection of the young generation only (a scavenge, about a millisecond), for the pages of a
 * long list: each page arrives in buffers allocated outside V8's heap (glibc's), which are freed
 * only when V8 collects the small objects that hold them. With a young generation of 16 MiB
 * semi-spaces a whole list's buffers could pile up before the next collection and leave glibc's
 * heap fragmented for good (16 MB more RSS at 50,000 ServiceAccounts; bench/README.md, seventh
 * round). False when this Node offers no way to ask.
 */
export function collectYoungGeneration(): boolean {
  const collect = collectGarbage();
  if (collect === null) return false;
  collect({ type: 'minor', execution: 'sync' });
  return true;
}
