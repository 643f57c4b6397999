import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDoctor } from '../../../src/diagnose/doctor/index.js';
import type { DoctorReport } from '../../../src/diagnose/report.js';
import { loadClusterAccess } from '../../../src/shared/k8s/kubeconfig.js';
import { ApiClient } from '../../../src/shared/k8s/api-client.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../../src/webhook/engine/defaults.js';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../e2e/support/processes.js';
import { FakeApiServer } from '../../support/fake-apiserver.js';

/** doctor's exits for bad input (2, one line), and its bounds: pagination, caps, a request that never answers. */
describe('doctor: bad input, an unusable API server, and bounded reads', function () {
  this.timeout(60_000);
  let dir: string;
  let api: FakeApiServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-doctor-cli-'));
    api = new FakeApiServer();
    api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { gitVersion: 'v1.37.2-fake' }));
    // A configuration GET that never answers: doctor's request timeout must end it.
    api.serveRoute(/^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/hangs$/, () => undefined);
    await api.start();
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
    writeFileSync(join(dir, 'wrong-token.kubeconfig'), api.kubeconfig().replace(`token: ${api.token}`, 'token: not-the-token'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const oneLine = (stderr: string): void => {
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^pod-identity-webhook: /);
  };

  it('no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a cluster: exit 2', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
    delete env.KUBERNETES_SERVICE_HOST;
    delete env.KUBECONFIG;
    const result = await runCli(['doctor'], { env });
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, /doctor needs a cluster \(--kubeconfig FILE or --context NAME\): no --kubeconfig, \$KUBECONFIG or ~\/\.kube\/config, and not running in a cluster/);
  });

  it('an unreadable kubeconfig: exit 2 naming it', async () => {
    const result = await runCli(['doctor', '--kubeconfig', join(dir, 'absent.kubeconfig')]);
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, /absent\.kubeconfig/);
  });

  it('an API server nobody answers at: exit 2, "cannot reach the API server"', async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'closed.kubeconfig'), api.kubeconfig().replace(api.url, `https://127.0.0.1:${port}`));
    const result = await runCli(['doctor', '--kubeconfig', join(dir, 'closed.kubeconfig')]);
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, new RegExp(`cannot reach the API server https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  it('credentials the API server refuses: exit 2', async () => {
    const result = await runCli(['doctor', '--kubeconfig', join(dir, 'wrong-token.kubeconfig')]);
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, /refused the kubeconfig's credentials: HTTP 401/);
  });

  it('both Pod Identity sources, a bad flag value, a malformed identities file: exit 2', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(join(dir, 'identities.json'), '{"identities": {}}');
    for (const args of [
      ['--watch-container-credentials-config', join(dir, 'identities.json'), '--watch-container-credentials-config-map', 'ns/name'],
      ['--watch-container-credentials-config', join(dir, 'identities.json')],
      ['--output', 'xml'],
      ['--max-pods', '0'],
      ['--watch-container-credentials-config-map', 'no-slash'],
    ]) {
      const result = await runCli(['doctor', '--kubeconfig', kubeconfig, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^pod-identity-webhook: /, args.join(' '));
    }
  });

  it('every GET is bounded in time: a configuration GET that never answers is CHECK_FAILED after --request-timeout', async () => {
    const started = Date.now();
    const result = await runCli(['doctor', '--kubeconfig', join(dir, 'kubeconfig'), '--webhook-configuration', 'hangs', '--request-timeout', '500', '--output', 'json']);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const failed = report.findings.find((finding) => finding.code === 'CHECK_FAILED' && finding.check === 'webhook-configuration');
    assert.ok(failed, result.stdout);
    assert.match(failed.detail, /no answer within 500 ms/);
    assert.ok(Date.now() - started < 15_000);
  });

  it('an API server that answers /version and then stalls: every check CHECK_FAILED, verdict incomplete, exit 3 (not ok, exit 0)', async () => {
    const stalled = new FakeApiServer();
    stalled.serveRoute(/^\/version$/, (_req, res) => stalled.send(res, 200, { gitVersion: 'v1.37.2-fake' }));
    // Every other read is accepted and never answered.
    stalled.serveRoute(/^\/(?!version$)/, () => undefined);
    await stalled.start();
    try {
      writeFileSync(join(dir, 'stalled.kubeconfig'), stalled.kubeconfig());
      const started = Date.now();
      const json = await runCli(['doctor', '--kubeconfig', join(dir, 'stalled.kubeconfig'), '--request-timeout', '300', '--output', 'json'], { timeoutMs: 20_000 });
      assert.ok(Date.now() - started < 15_000);
      assert.equal(json.code, 3, json.stderr);
      const report = JSON.parse(json.stdout) as DoctorReport;
      assert.equal(report.verdict, 'incomplete');
      const raised = report.findings.filter((finding) => finding.severity === 'warning' || finding.severity === 'error');
      assert.ok(raised.length >= 4, JSON.stringify(report.findings, null, 1));
      assert.deepEqual([...new Set(raised.map((finding) => finding.code))], ['CHECK_FAILED']);
      assert.ok(!report.findings.some((finding) => finding.severity === 'ok'), 'nothing was checked');

      const text = await runCli(['doctor', '--kubeconfig', join(dir, 'stalled.kubeconfig'), '--request-timeout', '300'], { timeoutMs: 20_000 });
      assert.equal(text.code, 3);
      assert.match(text.stdout, /\nverdict: incomplete \(0 errors, \d+ warnings; \d+ reads failed or were refused: those checks were not made\)\n$/);
    } finally {
      await stalled.stop();
    }
  });

  it('doctor --help says what each exit status means', async () => {
    const help = await runCli(['doctor', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout.replace(/\s+/g, ' '), /exit 0: no error found; 1: an error finding; 2: bad input .*; 3: incomplete/);
  });

  it('lists are paginated (limit + continue) and capped, and the report says when it stopped', async () => {
    for (let index = 0; index < 7; index += 1) {
      api.apply('serviceaccounts', { metadata: { name: `sa-${index}`, namespace: 'apps', annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::111122223333:role/r${index}` } } });
      api.apply('pods', { metadata: { name: `pod-${index}`, namespace: 'apps' }, spec: { serviceAccountName: `sa-${index}`, containers: [{ name: 'app', image: 'app' }] }, status: { phase: 'Running' } });
    }
    const kubeConfig = await loadClusterAccess(join(dir, 'kubeconfig'));
    assert.ok(kubeConfig.ok);
    const client = new ApiClient(kubeConfig.value);
    const before = api.requests.length;
    try {
      const report = await runDoctor({
        api: client,
        server: api.url,
        configurationName: 'pod-identity-webhook',
        namespace: undefined,
        options: DEFAULT_MUTATION_OPTIONS,
        identities: undefined,
        certificateSecret: undefined,
        pageSize: 2,
        maxPods: 5,
        maxServiceAccounts: 100,
      });
      assert.ok(report.findings.some((finding) => /^7 ServiceAccounts read, 7 with an identity/.test(finding.detail)), JSON.stringify(report.findings, null, 1));
      const notMutated = report.findings.filter((finding) => finding.code === 'POD_NOT_MUTATED');
      assert.equal(notMutated.length, 5, 'the first five pods only');
      assert.ok(report.findings.some((finding) => /stopped after 5 pods: the rest were not checked/.test(finding.detail)));
      const podPages = api.requests.slice(before).filter((entry) => entry.path === '/api/v1/pods');
      assert.deepEqual(podPages.map((entry) => entry.query.limit), ['2', '2', '1']);
      assert.equal(podPages.filter((entry) => entry.query.continue).length, 2);
      assert.equal(podPages[0]!.query.fieldSelector, 'status.phase!=Succeeded,status.phase!=Failed');
    } finally {
      client.close();
    }
  });
});
