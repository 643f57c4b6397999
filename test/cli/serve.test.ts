import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeCertificateFiles } from '../../src/shared/certs/files.js';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { httpsRequest } from '../helpers/https-client.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { admissionReview, decodePatch, pod, responseOf } from '../helpers/reviews.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';

describe('serve and start commands (separate processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let processes: CliProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-serve-'));
  });
  afterEach(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    processes = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const launch = (args: string[], cwd?: string): CliProcess => {
    const child = CliProcess.start(args, { cwd });
    processes.push(child);
    return child;
  };

  it('cluster mode: watches ServiceAccounts through a kubeconfig, finds a brand-new one by GET, exits 0 on SIGTERM', async () => {
    const api = new FakeApiServer();
    await api.start();
    try {
      api.apply('serviceaccounts', { metadata: { name: 'app', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } } });
      writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
      const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
      await writeCertificateFiles(dir, certificates);
      const server = launch([
        'serve', '--kubeconfig', join(dir, 'kubeconfig'), '--bind-address', '127.0.0.1', '--port', '0', '--metrics-port', '0',
        '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--aws-default-region', 'eu-west-1',
      ]);
      const port = await server.port();
      const url = `https://127.0.0.1:${port}`;
      await waitFor('ready', async () => (await httpsRequest(`${url}/readyz`, { ca: certificates.caCert })).status === 200);

      const cached = await httpsRequest(`${url}/mutate`, { body: JSON.stringify(admissionReview(pod('app'), { namespace: 'shop' })), ca: certificates.caCert });
      assert.ok(JSON.stringify(decodePatch(JSON.parse(cached.body))).includes(ROLE));
      assert.ok(JSON.stringify(decodePatch(JSON.parse(cached.body))).includes('eu-west-1'));

      api.holdEvents();
      api.apply('serviceaccounts', { metadata: { name: 'fresh', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': `${ROLE}-fresh` } } });
      const fresh = await httpsRequest(`${url}/mutate`, { body: JSON.stringify(admissionReview(pod('fresh'), { namespace: 'shop' })), ca: certificates.caCert });
      assert.ok(JSON.stringify(decodePatch(JSON.parse(fresh.body))).includes(`${ROLE}-fresh`));
      assert.ok(api.requests.some((request) => request.kind === 'get' && request.path === '/api/v1/namespaces/shop/serviceaccounts/fresh'));

      const metricsPort = Number(new URL(String((await server.line('listening')).metrics)).port);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /pod_identity_webhook_serviceaccount_cache_misses_total 1/);

      assert.equal(await server.stop('SIGTERM'), 0);
      assert.ok(server.lines.some((line) => line.event === 'stopped'));
      const admissions = server.lines.filter((line) => line.event === 'admission');
      assert.equal(admissions.length, 2);
    } finally {
      await api.stop();
    }
  });

  it('start: generates certificates on first run, serves the example ServiceAccounts and prints a working curl command', async () => {
    const certsDir = join(dir, 'certs');
    const server = launch(['start', '--certs-dir', certsDir, '--port', '0', '--metrics-port', '0']);
    const port = await server.port();
    await waitFor('the curl hint', () => server.stderr.includes('curl'));
    assert.match(server.stderr, /generated a CA and a serving certificate/);
    const curl = /curl --cacert (\S+) -H 'Content-Type: application\/json' \\\n\s+--data-binary @(\S+) (https:\/\/127\.0\.0\.1:\d+\/mutate)/.exec(server.stderr);
    assert.ok(curl, server.stderr);
    const [, caPath, reviewPath, url] = curl;
    assert.equal(url, `https://127.0.0.1:${port}/mutate`);
    // The printed paths are relative to the directory the command ran in (here, ours).
    const review = readFileSync(resolve(reviewPath!), 'utf8');
    const result = await httpsRequest(url!, { body: review, ca: readFileSync(resolve(caPath!), 'utf8') });
    assert.equal(result.status, 200);
    const answer = responseOf(JSON.parse(result.body));
    assert.equal(answer.allowed, true);
    assert.ok(JSON.stringify(decodePatch(JSON.parse(result.body))).includes('arn:aws:iam::111122223333:role/demo-app'));
    assert.equal(await server.stop('SIGINT'), 0);

    // Second run reuses the certificates.
    const again = launch(['start', '--certs-dir', certsDir, '--port', '0', '--metrics-port', '0']);
    await again.port();
    assert.doesNotMatch(again.stderr, /generated/);
    assert.equal(await again.stop(), 0);
  });

  it('start keeps its certificates apart from the certs command\'s, and regenerates ones that do not name its address', async () => {
    // The certs command's output (for the Service's DNS names, no 127.0.0.1) lives in certs/.
    assert.equal((await runCli(['certs'], { cwd: dir })).code, 0);
    const serviceCert = readFileSync(join(dir, 'certs', 'tls.crt'), 'utf8');
    const first = launch(['start', '--port', '0', '--metrics-port', '0'], dir);
    await first.port();
    await waitFor('the curl hint', () => first.stderr.includes('curl'));
    assert.match(first.stderr, /generated a CA and a serving certificate for localhost, 127\.0\.0\.1, ::1 in certs\/local\//);
    assert.match(first.stderr, /running in local mode/);
    assert.equal(readFileSync(join(dir, 'certs', 'tls.crt'), 'utf8'), serviceCert, 'start overwrote the certs command\'s certificate');
    assert.equal(await first.stop(), 0);
    // A certificate that does not name the address start serves on is replaced, not served.
    const certsDir = join(dir, 'certs', 'local');
    assert.equal((await runCli(['certs', '--out', certsDir, '--force', '--new-ca'], { cwd: dir })).code, 0);
    const second = launch(['start', '--port', '0', '--metrics-port', '0'], dir);
    const port = await second.port();
    await waitFor('the curl hint', () => second.stderr.includes('curl'));
    assert.match(second.stderr, /generated a CA and a serving certificate/);
    const ca = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
    assert.equal((await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca })).status, 200);
    assert.equal(await second.stop(), 0);
  });

  it('exits 2 with one line for a missing ServiceAccount source, bad files or conflicting modes', async () => {
    const env = { ...process.env, KUBERNETES_SERVICE_HOST: '' };
    const noSource = await runCli(['serve', '--port', '0'], { env });
    assert.equal(noSource.code, 2);
    assert.match(noSource.stderr, /^pod-identity-webhook: no ServiceAccount source: pass --service-accounts PATH/);
    const both = await runCli(['serve', '--service-accounts', join(ROOT, 'manifests', 'examples'), '--kubeconfig', 'x']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exclude each other/);
    const missingCert = await runCli(['serve', '--service-accounts', join(ROOT, 'manifests', 'examples'), '--port', '0', '--tls-cert', join(dir, 'nope.crt'), '--tls-key', join(dir, 'nope.key')]);
    assert.equal(missingCert.code, 2);
    assert.match(missingCert.stderr, /cannot read the TLS certificate .*nope\.crt: no such file or directory/);
    const badConfigMap = await runCli(['serve', '--kubeconfig', 'x', '--watch-config-map', 'no-slash']);
    assert.equal(badConfigMap.code, 2);
    assert.match(badConfigMap.stderr, /is not NAMESPACE\/NAME/);
    // Every listening command takes an IP address only, checked before anything starts.
    for (const command of [['serve', '--service-accounts', join(ROOT, 'manifests', 'examples')], ['sts'], ['issuer'], ['authenticator', '--cluster-id', 'c', '--aws-auth', 'x']]) {
      const badAddress = await runCli([...command, '--bind-address', 'not-an-address', '--port', '0']);
      assert.equal(badAddress.code, 2, command[0]);
      assert.match(badAddress.stderr, /--bind-address <address>' argument 'not-an-address' is invalid\. "not-an-address" is not an IP address/, command[0]);
    }
    const badKubeconfig = await runCli(['serve', '--kubeconfig', join(dir, 'missing-kubeconfig'), '--port', '0']);
    assert.equal(badKubeconfig.code, 2);
    assert.match(badKubeconfig.stderr, /^pod-identity-webhook: cannot read the kubeconfig .*missing-kubeconfig: no such file or directory\n$/);
    // start takes the cluster mode too: --kubeconfig replaces the example ServiceAccounts.
    const startCluster = await runCli(['start', '--certs-dir', join(dir, 'certs'), '--kubeconfig', join(dir, 'missing-kubeconfig'), '--port', '0']);
    assert.equal(startCluster.code, 2);
    assert.match(startCluster.stderr, /\npod-identity-webhook: cannot read the kubeconfig .*missing-kubeconfig: no such file or directory\n$/);
    // A dangling symlink in a ServiceAccount directory is a one-line error, not a crash.
    const { mkdirSync, symlinkSync } = await import('node:fs');
    mkdirSync(join(dir, 'accounts'));
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'accounts', 'broken.yaml'));
    const broken = await runCli(['serve', '--service-accounts', join(dir, 'accounts'), '--port', '0']);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /^pod-identity-webhook: .*broken\.yaml: no such file or directory\n$/);
  });
});
