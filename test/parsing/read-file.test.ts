import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileBytes, readTextFile } from '../../src/shared/files/read-file.js';
import { HOSTILE_FILES } from '../helpers/hostile-files.js';
import { assertBoundedAsync } from '../helpers/bounded.js';

describe('reading files the user names', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-read-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file, and refuses one larger than the limit before reading it', async () => {
    const path = join(dir, 'small.yaml');
    writeFileSync(path, 'kind: Pod\n');
    assert.deepEqual(await readTextFile(path), { ok: true, value: 'kind: Pod\n' });
    writeFileSync(path, Buffer.alloc(2048, 0x61));
    assert.deepEqual(await readFileBytes(path, { what: 'aws-auth', maxBytes: 1024 }), {
      ok: false,
      code: 'ERR_FILE_TOO_LARGE',
      error: `cannot read aws-auth ${path}: larger than 1024 bytes`,
    });
    assert.deepEqual(await readFileBytes(join(dir, 'missing')), {
      ok: false,
      code: 'ERR_FILE_NOT_FOUND',
      error: `cannot read ${join(dir, 'missing')}: no such file or directory`,
    });
  });

  for (const hostile of HOSTILE_FILES) {
    it(`answers quickly with a value or one message for ${hostile.name}`, async () => {
      const path = join(dir, 'target.yaml');
      hostile.write(path);
      const result = await assertBoundedAsync(() => readTextFile(path), 2000, `reading ${hostile.name}`);
      if (!result.ok) assert.match(result.error, new RegExp(`^cannot read ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    });
  }

  it('refuses a link to /dev/zero, a FIFO and a directory by what they are', async () => {
    const expectations: Record<string, string> = {
      'a link to /dev/zero': 'not a regular file',
      'a FIFO nobody writes to': 'not a regular file',
      'a directory': 'is a directory, expected a file',
      'a 20 MiB file': 'larger than 16 MiB',
      'a dangling link': 'no such file or directory',
    };
    for (const hostile of HOSTILE_FILES.filter((file) => file.name in expectations)) {
      const path = join(dir, 'target');
      hostile.write(path);
      const result = await readTextFile(path);
      assert.ok(!result.ok, hostile.name);
      assert.ok(result.error.endsWith(expectations[hostile.name]!), `${hostile.name}: ${result.error}`);
    }
  });
});
