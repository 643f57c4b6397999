import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { runCli } from '../helpers/cli.js';
import { HOSTILE_FILES } from '../helpers/hostile-files.js';

/** Loaded before the CLI: writes the process's peak resident set size (KiB) to $PIW_MAX_RSS_FILE at exit. */
const RECORD_MAX_RSS = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.PIW_MAX_RSS_FILE, String(process.resourceUsage().maxRSS)));",
)}`;

const FIFO = HOSTILE_FILES.find((hostile) => hostile.name === 'a FIFO nobody writes to')!;
const DEV_ZERO = HOSTILE_FILES.find((hostile) => hostile.name === 'a link to /dev/zero')!;

/**
 * Every command that reads a kubeconfig (serve, explain, doctor), given a kubeconfig that is, or
 * names, a file that would block or never end: exit 2 with one line, in bounded time and memory.
 * The client library used to open these files itself, synchronously: a FIFO stopped the process
 * for good, /dev/zero grew it past 800 MB.
 */
describe('hostile kubeconfigs: serve, explain and doctor exit 2 with one line', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-hostile-kubeconfig-'));
    await writeCertificateFiles(join(dir, 'certs'), generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1'] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const commands = [
    { name: 'serve', args: (kubeconfig: string) => ['serve', '--kubeconfig', kubeconfig, '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')] },
    { name: 'explain', args: (kubeconfig: string) => ['explain', '--kubeconfig', kubeconfig, '--pod', 'app'] },
    { name: 'doctor', args: (kubeconfig: string) => ['doctor', '--kubeconfig', kubeconfig, '--request-timeout', '2000'] },
  ] as const;

  /** A kubeconfig for an API server nobody answers at (port 1 on loopback), with `user` and `cluster` fields added. */
  function kubeconfig(cluster: Record<string, string>, user: Record<string, string>): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', ...cluster } }],
      users: [{ name: 'u', user: { ...user } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    });
  }

  async function assertOneLine(command: (typeof commands)[number], kubeconfigPath: string, pattern: RegExp, maxRssFile?: string): Promise<void> {
    const env = maxRssFile ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${RECORD_MAX_RSS}`, PIW_MAX_RSS_FILE: maxRssFile } : process.env;
    const started = Date.now();
    const result = await runCli(command.args(kubeconfigPath), { timeoutMs: 15_000, cwd: dir, env });
    const described = `${command.name}: exit ${result.code} after ${Date.now() - started} ms, stderr ${JSON.stringify(result.stderr.slice(0, 400))}`;
    assert.equal(result.code, 2, described);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, described);
    assert.match(lines[0]!, /^pod-identity-webhook: /, described);
    assert.match(lines[0]!, pattern, described);
    assert.ok(Date.now() - started < 10_000, described);
  }

  for (const command of commands) {
    it(`${command.name} --kubeconfig FIFO`, async () => {
      const path = join(dir, `${command.name}-fifo.kubeconfig`);
      FIFO.write(path);
      await assertOneLine(command, path, /cannot read the kubeconfig .*: not a regular file$/);
    });

    it(`${command.name} --kubeconfig /dev/zero: refused at once, the process never grows past 256 MiB`, async () => {
      const path = join(dir, `${command.name}-zero.kubeconfig`);
      DEV_ZERO.write(path);
      const maxRssFile = join(dir, `${command.name}-zero.maxrss`);
      await assertOneLine(command, path, /cannot read the kubeconfig .*: not a regular file$/, maxRssFile);
      const maxRssKib = Number(readFileSync(maxRssFile, 'utf8'));
      assert.ok(maxRssKib > 0 && maxRssKib < 256 * 1024, `peak RSS ${Math.round(maxRssKib / 1024)} MiB`);
    });

    for (const field of ['certificate-authority', 'client-certificate', 'client-key', 'token-file'] as const) {
      it(`${command.name} with a kubeconfig whose ${field} is a FIFO`, async () => {
        const named = join(dir, `${command.name}-${field}.fifo`);
        FIFO.write(named);
        const path = join(dir, `${command.name}-${field}.kubeconfig`);
        writeFileSync(path, field === 'certificate-authority' ? kubeconfig({ [field]: named }, { token: 't' }) : kubeconfig({}, { [field]: named }));
        await assertOneLine(command, path, new RegExp(`kubeconfig .*: cannot read ${field} .*\\.fifo: not a regular file$`));
      });
    }
  }
});
