import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { runCli } from '../helpers/cli.js';
import { HOSTILE_FILES } from '../helpers/hostile-files.js';
import { FIXTURES } from '../helpers/paths.js';

/**
 * Every command that reads a file the user names, given each hostile file: one line on stderr and
 * exit 2 (exit 1 with findings for lint-aws-auth), never a stack trace, a hang or a crash.
 * Commands that would start a server on a file they accept (an empty file is zero ServiceAccounts)
 * are given --port 0 and are stopped by runCli's timeout, which fails the test.
 */
describe('hostile input files: every file-reading command exits with one line', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-hostile-cli-'));
    await writeCertificateFiles(join(dir, 'certs'), generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1'] }));
    copyFileSync(join(FIXTURES, 'mutation', 'minimal-pod', 'pod.yaml'), join(dir, 'pod.yaml'));
    copyFileSync(join(FIXTURES, 'mutation', 'minimal-pod', 'serviceaccount.yaml'), join(dir, 'sa.yaml'));
    // A kubeconfig whose API server nobody answers at (port 1 on loopback is refused at once).
    writeFileSync(join(dir, 'closed.kubeconfig'), ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]', 'current-context: c', ''].join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  interface Command {
    readonly name: string;
    readonly args: (file: string) => string[];
    readonly codes: readonly number[];
    /** Hostile files that are valid input for this command (it would start serving): not tried. */
    readonly accepts?: readonly string[];
  }
  const commands: readonly Command[] = [
    { name: 'render --pod', args: (file) => ['render', '--pod', file, '--service-account', join(dir, 'sa.yaml')], codes: [2] },
    { name: 'render --service-account', args: (file) => ['render', '--pod', join(dir, 'pod.yaml'), '--service-account', file], codes: [2] },
    { name: 'lint-aws-auth', args: (file) => ['lint-aws-auth', file], codes: [1, 2] },
    { name: 'sts --config', args: (file) => ['sts', '--config', file, '--port', '0', '--secret-file', join(dir, 'sts.key')], codes: [2] },
    { name: 'issuer --key', args: (file) => ['issuer', '--key', file, '--port', '0'], codes: [2] },
    { name: 'token --key', args: (file) => ['token', '--key', file, '--namespace', 'default', '--service-account', 'app'], codes: [2] },
    {
      name: 'authenticator --aws-auth',
      args: (file) => ['authenticator', '--cluster-id', 'c', '--aws-auth', file, '--port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')],
      codes: [2],
    },
    {
      name: 'authenticator --access-entries',
      args: (file) => ['authenticator', '--cluster-id', 'c', '--authentication-mode', 'API', '--access-entries', file, '--port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')],
      codes: [2],
      // No entries: nobody can log in, but the file is valid.
      accepts: ['an empty file'],
    },
    { name: 'lint-aws-auth --role-paths', args: (file) => ['lint-aws-auth', join(FIXTURES, 'aws-auth', 'valid.yaml'), '--to-access-entries', '--role-paths', file], codes: [2] },
    {
      name: 'lint-aws-auth --access-entries',
      args: (file) => ['lint-aws-auth', join(FIXTURES, 'aws-auth', 'valid.yaml'), '--to-access-entries', '--target-mode', 'API_AND_CONFIG_MAP', '--access-entries', file],
      codes: [2],
      accepts: ['an empty file'],
    },
    { name: 'access-entries rbac', args: (file) => ['access-entries', 'rbac', file], codes: [2], accepts: ['an empty file'] },
    {
      name: 'serve --service-accounts',
      args: (file) => ['serve', '--service-accounts', file, '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')],
      codes: [2],
      // No ServiceAccounts: an empty file, an empty directory of manifests, a ConfigMap (other kinds are ignored).
      accepts: ['an empty file', 'a directory', 'an unclosed template and 10,000 spaces'],
    },
    { name: 'render --watch-container-credentials-config', args: (file) => ['render', '--pod', join(dir, 'pod.yaml'), '--service-account', join(dir, 'sa.yaml'), '--watch-container-credentials-config', file], codes: [2], accepts: ['an empty file'] },
    { name: 'pod-identity-config --config', args: (file) => ['pod-identity-config', '--config', file, '--cluster-name', 'lab'], codes: [2] },
    { name: 'pod-identity-agent --config', args: (file) => ['pod-identity-agent', '--config', file, '--cluster-name', 'lab', '--port', '0', '--metrics-port', '0', '--secret-file', join(dir, 'sts.key')], codes: [2] },
    {
      name: 'serve --watch-container-credentials-config',
      args: (file) => ['serve', '--service-accounts', join(dir, 'sa.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key'), '--watch-container-credentials-config', file],
      codes: [2],
      // The empty set, as the Go webhook reads a missing or empty file: the server starts.
      accepts: ['an empty file', 'a dangling link'],
    },
    { name: 'explain --pod', args: (file) => ['explain', '--pod', file, '--service-account', join(dir, 'sa.yaml')], codes: [2] },
    // An empty file holds no ServiceAccounts, or no identities: a valid input, and a report.
    { name: 'explain --service-account', args: (file) => ['explain', '--pod', join(dir, 'pod.yaml'), '--service-account', file], codes: [2], accepts: ['an empty file'] },
    ...['--trust-policy', '--token', '--webhook-config', '--lab-config'].map((flag) => ({
      name: `explain ${flag}`,
      args: (file: string) => ['explain', '--pod', join(dir, 'pod.yaml'), '--service-account', join(dir, 'sa.yaml'), flag, file],
      codes: [2],
    })),
    { name: 'explain --watch-container-credentials-config', args: (file) => ['explain', '--pod', join(dir, 'pod.yaml'), '--service-account', join(dir, 'sa.yaml'), '--watch-container-credentials-config', file], codes: [2], accepts: ['an empty file'] },
    { name: 'serve --kubeconfig', args: (file) => ['serve', '--kubeconfig', file, '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')], codes: [2] },
    { name: 'explain --kubeconfig', args: (file) => ['explain', '--kubeconfig', file, '--pod', 'app'], codes: [2] },
    // The API server there is closed: a kubeconfig doctor accepts still ends in exit 2 ("cannot reach").
    { name: 'doctor --kubeconfig', args: (file) => ['doctor', '--kubeconfig', file, '--request-timeout', '2000'], codes: [2] },
    {
      name: 'doctor --watch-container-credentials-config',
      args: (file) => ['doctor', '--kubeconfig', join(dir, 'closed.kubeconfig'), '--request-timeout', '2000', '--watch-container-credentials-config', file],
      codes: [2],
    },
    {
      name: 'serve --tls-cert',
      args: (file) => ['serve', '--service-accounts', join(dir, 'sa.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', file, '--tls-key', join(dir, 'certs', 'tls.key')],
      codes: [2],
    },
  ];

  /** Runs `tasks` with at most `limit` at a time (each is a separate process). */
  async function pooled<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
    const results: T[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    };
    await Promise.all(Array.from({ length: limit }, worker));
    return results;
  }

  for (const hostile of HOSTILE_FILES) {
    it(`${hostile.name}`, async () => {
      const file = join(dir, 'hostile.yaml');
      hostile.write(file);
      const tried = commands.filter((command) => !command.accepts?.includes(hostile.name));
      const results = await pooled(
        tried.map((command) => () => runCli(command.args(file), { timeoutMs: 15_000, cwd: dir })),
        4,
      );
      for (const [index, result] of results.entries()) {
        const command = tried[index]!;
        const lines = result.stderr.trimEnd().split('\n');
        const described = `${command.name} with ${hostile.name}: exit ${result.code}, stderr ${JSON.stringify(result.stderr.slice(0, 400))}`;
        assert.ok(command.codes.includes(result.code), described);
        if (result.code === 2) {
          assert.equal(lines.length, 1, described);
          assert.match(lines[0]!, /^pod-identity-webhook: /, described);
        }
        assert.doesNotMatch(result.stderr, /unexpected error|\n\s+at |Warning:/, described);
      }
    });
  }
});
