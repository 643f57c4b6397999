import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { httpsRequest } from '../helpers/https-client.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { runCommand } from './support/processes.js';

/**
 * No Docker engine runs here, so the image's contents are assembled as its Dockerfile assembles
 * them: the package as `npm pack` makes it, production dependencies from the lockfile (`npm ci
 * --omit=dev`), and the webhook run from that directory with the image's Node line (24).
 */
describe('the image layout: npm pack + npm ci --omit=dev, run with Node 24', function () {
  this.timeout(240_000);
  let dir: string;
  let app: string;
  let server: CliProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-image-'));
    const packed = await runCommand('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, ROOT], { timeoutMs: 120_000 });
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made no tarball');
    const extracted = await runCommand('tar', ['-xzf', join(dir, tarball), '-C', dir]);
    assert.equal(extracted.code, 0, extracted.stderr);
    app = join(dir, 'package');
    copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
    const installed = await runCommand('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', app], { timeoutMs: 180_000 });
    assert.equal(installed.code, 0, installed.stderr);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds what the Dockerfile copies, and no development dependency', () => {
    const copied = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('COPY ') && !line.includes('package-lock.json') && !line.includes('tsconfig') && !line.includes(' src ./src') && !line.includes(' scripts ./scripts'))
      .map((line) => line.split(/\s+/).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''))
      .filter((path) => path !== '' && path !== '.');
    for (const path of copied) assert.ok(existsSync(join(app, path)), `the layout has no ${path}`);
    assert.ok(copied.includes('dist/src') && copied.includes('node_modules') && copied.includes('manifests'), copied.join(', '));
    for (const development of ['typescript', 'mocha', 'node', 'fast-check', 'supertest']) {
      assert.ok(!existsSync(join(app, 'node_modules', development)), `${development} is in the production install`);
    }
    assert.ok(!existsSync(join(app, 'dist', 'test')), 'the tests are packed');
  });

  it('serves admission reviews with the image\'s Node, without the lab\'s modules or dependencies', async () => {
    // The lab is not needed to serve: take its code and its dependencies away.
    rmSync(join(app, 'dist', 'src', 'lab'), { recursive: true, force: true });
    rmSync(join(app, 'node_modules', 'jose'), { recursive: true, force: true });
    const certificates = generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(join(dir, 'certs'), certificates);
    writeFileSync(join(dir, 'sa.yaml'), readFileSync(join(ROOT, 'manifests', 'examples', 'serviceaccount.yaml')));
    const node = join(ROOT, 'node_modules', '.bin', 'node');
    const version = await runCommand(node, ['--version']);
    assert.match(version.stdout, /^v24\./);
    server = new CliProcess(
      (await import('node:child_process')).spawn(node, [join(app, 'dist', 'src', 'cli.js'), 'serve', '--service-accounts', join(app, 'manifests', 'examples'), '--port', '0', '--metrics-port', '0', '--tls-cert', join(dir, 'certs', 'tls.crt'), '--tls-key', join(dir, 'certs', 'tls.key')], {
        cwd: app,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const port = await server.port();
    const review = readFileSync(join(app, 'manifests', 'examples', 'admission-review.json'), 'utf8');
    const answer = await httpsRequest(`https://127.0.0.1:${port}/mutate`, { body: review, ca: certificates.caCert });
    assert.equal(answer.status, 200);
    const response = (JSON.parse(answer.body) as { response: { allowed: boolean; patch?: string } }).response;
    assert.equal(response.allowed, true);
    assert.match(Buffer.from(response.patch ?? '', 'base64').toString(), /AWS_ROLE_ARN/);
  });
});
