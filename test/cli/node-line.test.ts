import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNodeLine, TESTED_NODE_LINES } from '../../src/cli/node-line.js';
import { CLI, ROOT } from '../helpers/paths.js';

interface Manifest {
  version: string;
  engines: { node: string };
  devDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
const major = (version: string): number => Number.parseInt(version.replace(/^v/, ''), 10);

/** The CLI in a process that reports `version` as its Node version. */
function cliOnNode(version: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const pretend = `data:text/javascript,Object.defineProperty(process.versions, 'node', { value: '${version}' });`;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', pretend, CLI, ...args], { timeout: 20_000 }, (_error, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr });
    });
  });
}

describe('Node.js lines', function () {
  this.timeout(30_000);

  it('the suite runs on a tested line, and npm test on the Node that package.json pins', () => {
    assert.ok(TESTED_NODE_LINES.includes(major(process.version)), `running on ${process.version}`);
    if (process.env.npm_lifecycle_event === 'test') assert.equal(process.version, `v${manifest.devDependencies.node}`);
  });

  it('engines names the tested lines, and the pinned Node and .ci/run cover each of them', () => {
    assert.equal(manifest.engines.node, TESTED_NODE_LINES.map((line) => `^${line}.0.0`).join(' || '));
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const others = [...ci.matchAll(/^(?:timed )?test_on_node (\S+)$/gm)].map((match) => match[1]!);
    assert.deepEqual([manifest.devDependencies.node!, ...others].map(major), TESTED_NODE_LINES);
  });

  it('tested lines pass; older ones are refused, newer untested ones warned about', () => {
    assert.deepEqual(checkNodeLine('24.21.0'), { verdict: 'tested' });
    assert.deepEqual(checkNodeLine('26.10.0'), { verdict: 'tested' });
    assert.deepEqual(checkNodeLine('20.20.2'), {
      verdict: 'too-old',
      message: 'Node 20.20.2 is too old: run it on Node 24 or 26 (npx pod-identity-webhook and the npm scripts use the Node that npm ci installed)',
    });
    assert.equal(checkNodeLine('22.23.3').verdict, 'too-old');
    assert.deepEqual(checkNodeLine('25.2.1'), { verdict: 'untested', message: 'warning: Node 25.2.1 is not a tested line (tested: Node 24 or 26)' });
    assert.equal(checkNodeLine('28.0.0').verdict, 'untested');
  });

  it('the CLI on Node 20 says so in one line and exits 1', async () => {
    const result = await cliOnNode('20.20.2', ['--version']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `pod-identity-webhook: ${(checkNodeLine('20.20.2') as { message: string }).message}\n`);
  });

  it('the CLI on an untested newer line runs, after one warning line', async () => {
    const result = await cliOnNode('28.0.0', ['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${manifest.version}\n`);
    assert.equal(result.stderr, 'pod-identity-webhook: warning: Node 28.0.0 is not a tested line (tested: Node 24 or 26)\n');
  });
});
