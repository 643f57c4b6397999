import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { buildCommit } from '../../src/shared/package-info.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';

const run = promisify(execFile);
const manifestVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('version: the package, the commit it was built from, the runtime', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-version-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints text, JSON and YAML of the same facts; --version still prints the version alone', async () => {
    const json = await runCli(['version', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const info = JSON.parse(json.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(info), ['version', 'commit', 'node', 'platform']);
    assert.equal(info.version, manifestVersion);
    assert.equal(info.node, process.version);
    assert.equal(info.platform, `${process.platform}/${process.arch}`);
    assert.match(info.commit!, /^([0-9a-f]{7,64}|unknown)$/);
    const yaml = await runCli(['version', '--output', 'yaml']);
    assert.deepEqual(parse(yaml.stdout), info);
    const text = await runCli(['version']);
    assert.equal(text.stdout, `pod-identity-webhook ${info.version}\ncommit: ${info.commit}\nnode: ${info.node}\nplatform: ${info.platform}\n`);
    const flag = await runCli(['--version']);
    assert.equal(flag.stdout, `${manifestVersion}\n`);
  });

  it('the build step records $GIT_COMMIT (or git\'s HEAD, else unknown) in a file version reads; a missing or malformed file is "unknown"', async () => {
    const file = join(dir, 'build-info.json');
    const script = join(ROOT, 'scripts', 'build-info.mjs');
    await run(process.execPath, [script, file], { env: { ...process.env, GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567' } });
    assert.equal(await buildCommit(file), '0123456789abcdef0123456789abcdef01234567');
    // Not a commit in $GIT_COMMIT, and no git repository in the working directory: unknown, written as such.
    await run(process.execPath, [script, file], { env: { ...process.env, GIT_COMMIT: '$(reboot)' }, cwd: dir });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { commit: 'unknown' });
    assert.equal(await buildCommit(join(dir, 'absent.json')), 'unknown');
    for (const malformed of ['{', '[]', '{"commit": 42}', '{"commit": "not a commit\\nforged line"}']) {
      writeFileSync(file, malformed);
      assert.equal(await buildCommit(file), 'unknown', malformed);
    }
  });
});
