import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { httpsRequest } from '../helpers/https-client.js';
import { CliProcess } from '../helpers/process.js';

/**
 * A rejected promise nobody handles must not end a server: the long-running commands log it and
 * keep serving. The rejection is injected from outside (a module preloaded with --import), as a
 * bug in any code path would produce it.
 */
describe('an unhandled rejection does not end a server', function () {
  this.timeout(60_000);
  let dir: string;
  let child: CliProcess | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-rejection-'));
  });
  after(async () => {
    await child?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serve logs unhandled-rejection and keeps answering', async () => {
    const certificates = generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(join(dir, 'certs'), certificates);
    writeFileSync(join(dir, 'sa.yaml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: default}\n');
    const inject = join(dir, 'inject.mjs');
    // Once the server says it listens, a promise is rejected with nothing to handle it.
    writeFileSync(
      inject,
      [
        'const write = process.stdout.write.bind(process.stdout);',
        'let armed = true;',
        'process.stdout.write = (chunk, ...rest) => {',
        "  if (armed && String(chunk).includes('\"event\":\"listening\"')) {",
        '    armed = false;',
        "    setTimeout(() => { Promise.reject(new Error('injected by the test')); }, 100);",
        '  }',
        '  return write(chunk, ...rest);',
        '};',
        '',
      ].join('\n'),
    );
    child = CliProcess.start(
      ['serve', '--service-accounts', join(dir, 'sa.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')],
      { env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(inject).href}` } },
    );
    const port = await child.port();
    const logged = await child.line('unhandled-rejection');
    assert.equal(logged.error, 'injected by the test');
    assert.equal(child.child.exitCode, null);
    const answer = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: certificates.caCert });
    assert.equal(answer.status, 200);
  });
});
