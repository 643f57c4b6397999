import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

/** Registers a resolve hook that appends every module URL the process loads to $PIW_MODULE_LOG. */
const RECORD_MODULES = `data:text/javascript,${encodeURIComponent(
  `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    appendFileSync(process.env.PIW_MODULE_LOG, resolved.url + '\\n');
    return resolved;
  },
});`,
)}`;

// A long-running server's heap size shows in every request it answers (bench/README.md): the
// libraries other commands need must stay out of `serve` in local mode.
describe('module loading', function () {
  this.timeout(30_000);

  it('serve in local mode loads neither the Kubernetes client, the AWS SDK, jose, node-forge nor express', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piw-modules-'));
    try {
      await writeCertificateFiles(dir, generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] }));
      const moduleLog = join(dir, 'modules.txt');
      const args = ['serve', '--service-accounts', join(ROOT, 'manifests', 'examples'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')];
      const server = new CliProcess(
        spawn(process.execPath, ['--import', RECORD_MODULES, CLI, ...args], { env: { ...process.env, PIW_MODULE_LOG: moduleLog }, stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      await server.port();
      assert.equal(await server.stop('SIGTERM'), 0);

      const loaded = readFileSync(moduleLog, 'utf8').split('\n');
      assert.ok(loaded.some((url) => url.includes('/node_modules/prom-client/')), 'the hook records the modules serve does load');
      for (const heavy of ['@kubernetes/client-node', '@aws-sdk/', '@smithy/', '/jose/', '/node-forge/', '/node_modules/express/']) {
        assert.deepEqual(loaded.filter((url) => url.includes(heavy)).slice(0, 3), [], `serve in local mode loaded ${heavy}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The serving process applies the kubeconfig itself (src/shared/k8s/request-auth.ts): client-node's
  // config.js pulls in the whole generated API, ~80 MB resident (bench/README.md, issue 29).
  it('serve in cluster mode loads no part of the Kubernetes client but exec_auth.js, and that only for an exec plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piw-modules-'));
    const api = new FakeApiServer();
    await api.start();
    try {
      await writeCertificateFiles(dir, generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] }));
      const plugin = join(dir, 'plugin.sh');
      writeFileSync(plugin, `#!/bin/sh\nprintf '%s' '${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: api.token } })}'\n`);
      chmodSync(plugin, 0o755);
      const withToken = api.kubeconfig();
      const withExec = withToken.replace(`    token: ${api.token}`, `    exec: {apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never}`);
      assert.notEqual(withExec, withToken);
      const loadedBy = async (kubeconfig: string, name: string): Promise<string[]> => {
        writeFileSync(join(dir, name), kubeconfig);
        const moduleLog = join(dir, `${name}.modules`);
        const args = ['serve', '--kubeconfig', join(dir, name), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')];
        const server = new CliProcess(spawn(process.execPath, ['--import', RECORD_MODULES, CLI, ...args], { env: { ...process.env, PIW_MODULE_LOG: moduleLog }, stdio: ['ignore', 'pipe', 'pipe'] }));
        await server.port();
        await server.line('list-complete');
        // After the list, serve hands the memory it used back to the system (src/shared/v8-memory.ts).
        const released = await server.line('memory-released');
        assert.equal(released.after, 'serviceaccounts list');
        assert.ok(Number(released.durationMs) >= 0 && Number(released.rssAfterMb) > 0, JSON.stringify(released));
        assert.equal(await server.stop('SIGTERM'), 0);
        return readFileSync(moduleLog, 'utf8').split('\n').filter((url) => url.includes('@kubernetes/client-node'));
      };
      assert.deepEqual(await loadedBy(withToken, 'token'), []);
      const exec = await loadedBy(withExec, 'exec');
      assert.ok(exec.some((url) => url.endsWith('/dist/exec_auth.js')), 'the hook records client-node modules when they load');
      assert.deepEqual(exec.filter((url) => !url.endsWith('/dist/exec_auth.js')), []);
    } finally {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
