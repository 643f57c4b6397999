import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchedLogOutput, createLogger, formatLogLine } from '../src/shared/log.js';

describe('logging', () => {
  it('formats one JSON object per line: time, level and event first, then the fields, undefined ones left out', () => {
    const time = Date.UTC(2026, 10, 23, 12, 0, 0, 5);
    const line = formatLogLine(time, 'warn', 'admission', { uid: 'a"b', pod: undefined, patchOperations: 3, warnings: ['x\ny'] });
    assert.ok(line.endsWith('}\n'));
    assert.equal(line.split('\n').length, 2, 'a newline inside a value is escaped');
    assert.deepEqual(JSON.parse(line), { time: '2026-11-23T12:00:00.005Z', level: 'warn', event: 'admission', uid: 'a"b', patchOperations: 3, warnings: ['x\ny'] });
    assert.deepEqual(JSON.parse(formatLogLine(time, 'info', 'stopped', {})), { time: '2026-11-23T12:00:00.005Z', level: 'info', event: 'stopped' });
  });

  it('a field JSON cannot hold costs only its own line\'s fields: the batch is written, nothing throws', () => {
    const writes: string[] = [];
    const output = batchedLogOutput((text) => writes.push(text), { maxLines: 3, intervalMs: 60_000 });
    output.add(1, 'info', 'before', { n: 1 });
    output.add(2, 'info', 'bad', { n: 10n as unknown as number });
    assert.doesNotThrow(() => output.add(3, 'info', 'after', { n: 3 }));
    const lines = writes.join('').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines.map((line) => [line.event, line.n]), [['before', 1], ['bad', undefined], ['after', 3]]);
    assert.match(String(lines[1]!.logError), /could not be serialised: .*BigInt/);
  });

  it('drops lines below the minimum level', () => {
    const lines: string[] = [];
    const logger = createLogger((line) => lines.push(line), 'warn');
    logger.info('quiet');
    logger.log('debug', 'quieter');
    logger.warn('loud', { n: 1 });
    logger.error('louder');
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { event: string }).event), ['loud', 'louder']);
  });

  it('batches: nothing is written until the batch is full, then every line in order in one write', () => {
    const writes: string[] = [];
    const output = batchedLogOutput((text) => writes.push(text), { maxLines: 3, intervalMs: 60_000 });
    output.add(1, 'info', 'first', { n: 1 });
    output.add(2, 'info', 'second', { n: 2 });
    assert.equal(writes.length, 0);
    output.add(3, 'error', 'third', { n: 3 });
    assert.equal(writes.length, 1);
    assert.deepEqual(
      writes[0]!.trimEnd().split('\n').map((line) => (JSON.parse(line) as { event: string; n: number }).n),
      [1, 2, 3],
    );
    output.flush();
    assert.equal(writes.length, 1, 'an empty flush writes nothing');
  });

  it('writes a partial batch after the interval, and on an explicit flush', async () => {
    const writes: string[] = [];
    const output = batchedLogOutput((text) => writes.push(text), { maxLines: 100, intervalMs: 20 });
    output.add(Date.now(), 'info', 'alone', {});
    assert.equal(writes.length, 0);
    await sleep(80);
    assert.equal(writes.length, 1);
    assert.match(writes[0]!, /"event":"alone"/);

    output.add(Date.now(), 'info', 'flushed', {});
    output.flush();
    assert.equal(writes.length, 2);
    assert.match(writes[1]!, /"event":"flushed"/);
  });

  it('formats a line with the time it was logged, not the time it was written', async () => {
    const writes: string[] = [];
    const output = batchedLogOutput((text) => writes.push(text), { maxLines: 100, intervalMs: 60_000 });
    const loggedAt = Date.now() - 5_000;
    output.add(loggedAt, 'info', 'earlier', {});
    await sleep(5);
    output.flush();
    assert.equal((JSON.parse(writes[0]!) as { time: string }).time, new Date(loggedAt).toISOString());
  });
});
