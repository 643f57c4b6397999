import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { HOSTILE_FILES } from '../helpers/hostile-files.js';
import { httpsRequest } from '../helpers/https-client.js';
import { CliProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const AWS_AUTH = (role: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/${role}\n      username: ${role}\n      groups: [${role}s]\n`;

/**
 * The servers' watch-and-reload paths, given every hostile file over every file they watch: the
 * process keeps running and answering with its last good configuration, logs why, and still picks
 * up a good file afterwards.
 */
describe('hostile files over watched paths: servers keep answering', function () {
  this.timeout(180_000);
  let dir: string;
  let child: CliProcess | undefined;
  let certificates: ReturnType<typeof generateCertificates>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-hostile-reload-'));
    certificates = generateCertificates({ service: 's', namespace: 'n', hosts: ['127.0.0.1'] });
    await writeCertificateFiles(join(dir, 'certs'), certificates);
  });
  afterEach(async () => {
    await child?.stop('SIGKILL');
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

  async function assertServing(port: number, path: string): Promise<void> {
    const answer = await httpsRequest(`https://127.0.0.1:${port}${path}`, { ca: certificates.caCert, timeoutMs: 5000 });
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.peerFingerprint, fingerprint(certificates.cert), 'the last good certificate is served');
  }

  it('authenticator: the aws-auth file and the serving certificate', async () => {
    const awsAuth = join(dir, 'aws-auth.yaml');
    writeFileSync(awsAuth, AWS_AUTH('first'));
    const certs = join(dir, 'certs');
    child = CliProcess.start(['authenticator', '--cluster-id', 'c', '--aws-auth', awsAuth, '--port', '0', '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key'), '--log-level', 'debug']);
    const port = await child.port();
    for (const watched of [awsAuth, join(certs, 'tls.crt'), join(certs, 'tls.key')]) {
      for (const hostile of HOSTILE_FILES) {
        const before = child.lines.length;
        hostile.write(watched);
        const failure = await child.lineWhere(`a refused reload of ${hostile.name} at ${watched}`, (line) =>
          child!.lines.indexOf(line) >= before && ['aws-auth-reload-failed', 'certificate-reload-skipped'].includes(String(line.event)),
        );
        assert.ok(typeof (failure.error ?? failure.reason) === 'string', `${hostile.name}: ${JSON.stringify(failure)}`);
        assert.equal(child.child.exitCode, null, `the authenticator exited after ${hostile.name}`);
        await assertServing(port, '/healthz');
        const review = await httpsRequest(`https://127.0.0.1:${port}/authenticate`, {
          ca: certificates.caCert,
          body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'k8s-aws-v1.bm9wZQ' } }),
        });
        assert.equal(review.status, 200);
        assert.equal(JSON.parse(review.body).status.authenticated, false);
      }
      // Put the good file back: the watcher still works after all of that.
      const before = child.lines.length;
      if (watched === awsAuth) writeFileSync(awsAuth, AWS_AUTH('second'));
      else await writeCertificateFiles(certs, certificates);
      if (watched === awsAuth) {
        const loaded = await child.lineWhere('the good aws-auth loaded again', (line) => child!.lines.indexOf(line) >= before && line.event === 'aws-auth-loaded');
        assert.equal(loaded.roles, 1);
      }
    }
    assert.equal(child.lines.filter((line) => line.event === 'aws-auth-loaded').length, 1, 'no hostile file was ever loaded');
  });

  it('webhook: the serving certificate and key', async () => {
    const certs = join(dir, 'certs');
    const serviceAccounts = join(dir, 'sa.yaml');
    writeFileSync(serviceAccounts, 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: default}\n');
    child = CliProcess.start(['serve', '--service-accounts', serviceAccounts, '--port', '0', '--metrics-port', '0', '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key')]);
    const port = await child.port();
    for (const watched of [join(certs, 'tls.crt'), join(certs, 'tls.key')]) {
      for (const hostile of HOSTILE_FILES) {
        const before = child.lines.length;
        hostile.write(watched);
        await child.lineWhere(`a skipped reload of ${hostile.name} at ${watched}`, (line) => child!.lines.indexOf(line) >= before && line.event === 'certificate-reload-skipped');
        assert.equal(child.child.exitCode, null, `the webhook exited after ${hostile.name}`);
        await assertServing(port, '/readyz');
      }
      await writeCertificateFiles(certs, certificates);
    }
    await waitFor('the webhook still serving', async () => (await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: certificates.caCert })).status === 200);
  });
});
