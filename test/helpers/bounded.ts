import assert from 'node:assert/strict';

export interface Bounds {
  readonly milliseconds: number;
  /** Heap growth allowed while `run` runs (measured after it returns, so only what it retained or left as garbage). */
  readonly heapBytes?: number;
}

/** Runs `run` once and fails when it takes longer than the bounds allow or grows the heap past them. */
export function assertBounded<T>(run: () => T, bounds: Bounds, what = 'the call'): T {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed <= bounds.milliseconds, `${what} took ${elapsed.toFixed(1)} ms (bound ${bounds.milliseconds} ms)`);
  if (bounds.heapBytes !== undefined) {
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown <= bounds.heapBytes, `${what} grew the heap by ${(grown / 1048576).toFixed(1)} MiB (bound ${(bounds.heapBytes / 1048576).toFixed(1)} MiB)`);
  }
  return result;
}

/** The async form of assertBounded (time only: the heap of concurrent work is not attributable). */
export async function assertBoundedAsync<T>(run: () => Promise<T>, milliseconds: number, what = 'the call'): Promise<T> {
  const started = performance.now();
  const result = await run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed <= milliseconds, `${what} took ${elapsed.toFixed(1)} ms (bound ${milliseconds} ms)`);
  return result;
}
