import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const moduleUrl = new URL('../../src/shared/v8-memory.js', import.meta.url).href;

/** Grows V8's young generation to its ceiling, releases, and reports what V8 says before and after. */
const script = `
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectYoungGeneration, releaseMemory } from ${JSON.stringify(moduleUrl)};
const newSpaceStatistics = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
const newSpace = () => newSpaceStatistics().space_size;
let garbage = [];
for (let index = 0; index < 20000; index += 1) garbage.push({ index });
garbage = undefined;
const youngBefore = newSpaceStatistics().space_used_size;
const young = collectYoungGeneration();
const youngAfter = newSpaceStatistics().space_used_size;
let kept = [];
for (let index = 0; index < 400000; index += 1) {
  kept.push({ index, text: 'x' + index });
  if (kept.length > 2000) kept = [];
}
const before = newSpace();
const first = releaseMemory();
const after = newSpace();
const second = releaseMemory();
process.stdout.write(JSON.stringify({ young, youngBefore, youngAfter, before, after, first, second, mainGc: typeof globalThis.gc, laterContextGc: runInNewContext('typeof gc') }));
`;

async function releaseIn(nodeOptions: readonly string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], { timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('releasing memory after a list (src/shared/v8-memory.ts)', function () {
  this.timeout(60_000);

  it('shrinks a grown young generation without --expose-gc, and leaves no gc function behind', async () => {
    const result = await releaseIn(['--max-semi-space-size=4']);
    const first = result.first as { durationMs: number; rssBeforeBytes: number; rssAfterBytes: number } | undefined;
    assert.ok(first, 'this Node gave the gc function');
    assert.ok(first.durationMs >= 0 && first.rssBeforeBytes > 0 && first.rssAfterBytes > 0);
    assert.ok(Number(result.after) < Number(result.before), `new space ${String(result.before)} → ${String(result.after)} bytes`);
    assert.ok(result.second, 'a second release works too');
    assert.equal(result.young, true);
    assert.ok(Number(result.youngAfter) < Number(result.youngBefore), `young generation in use ${String(result.youngBefore)} → ${String(result.youngAfter)} bytes`);
    assert.equal(result.mainGc, 'undefined', 'the main context gains no gc');
    assert.equal(result.laterContextGc, 'undefined', 'the flag is off again for contexts made later');
  });

  it('uses the gc that --expose-gc gives, when there is one', async () => {
    const result = await releaseIn(['--max-semi-space-size=4', '--expose-gc']);
    assert.ok(result.first);
    assert.ok(Number(result.after) < Number(result.before));
    assert.equal(result.mainGc, 'function');
  });
});
