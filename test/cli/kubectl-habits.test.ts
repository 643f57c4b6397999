import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { freePort } from '../e2e/support/processes.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

/**
 * The commands that talk to a cluster find it as kubectl does, run as a user runs them: the real
 * CLI in a child process, HOME set to a temporary directory (~/.kube/config), KUBECONFIG set or not.
 */
describe('kubectl habits: KUBECONFIG, ~/.kube/config, --context, -n, -o yaml, durations', function () {
  this.timeout(60_000);
  let dir: string;
  let home: string;
  let api: FakeApiServer;
  let closedServer: string;

  /** The fake API server's kubeconfig with its names changed, and `server` replaced when given. */
  const kubeconfig = (names: { cluster?: string; user?: string; context?: string; current?: string; server?: string; namespace?: string }): string =>
    api
      .kubeconfig()
      .replace('- name: fake\n  cluster:', `- name: ${names.cluster ?? 'fake'}\n  cluster:`)
      .replace(`server: ${api.url}`, `server: ${names.server ?? api.url}`)
      .replace('- name: webhook', `- name: ${names.user ?? 'webhook'}`)
      .replace('- name: fake\n  context: {cluster: fake, user: webhook}', `- name: ${names.context ?? 'fake'}\n  context: {cluster: ${names.cluster ?? 'fake'}, user: ${names.user ?? 'webhook'}${names.namespace ? `, namespace: ${names.namespace}` : ''}}`)
      .replace('current-context: fake', `current-context: ${names.current ?? names.context ?? 'fake'}`);

  /** The environment of a user without a cluster: HOME empty, no KUBECONFIG, not in a pod. */
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
    if (!('KUBECONFIG' in extra)) delete base.KUBECONFIG;
    delete base.KUBERNETES_SERVICE_HOST;
    delete base.KUBERNETES_SERVICE_PORT;
    return base;
  };

  const oneLine = (stderr: string): void => {
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^pod-identity-webhook: /);
  };

  before(async () => {
    api = new FakeApiServer();
    api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { gitVersion: 'v1.37.2-fake' }));
    api.serveRoute(/^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/hangs$/, () => undefined);
    await api.start();
    closedServer = `https://127.0.0.1:${await freePort()}`;
  });
  after(() => api.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-kubectl-'));
    home = join(dir, 'home');
    mkdirSync(home);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeHomeConfig = (text: string): string => {
    mkdirSync(join(home, '.kube'));
    const path = join(home, '.kube', 'config');
    writeFileSync(path, text);
    return path;
  };

  interface DoctorJson {
    readonly cluster: { readonly server: string; readonly kubeconfig: string };
    readonly verdict: string;
    readonly findings: readonly { readonly code?: string; readonly check: string; readonly detail: string }[];
  }
  const doctorJson = async (args: readonly string[], environment: NodeJS.ProcessEnv): Promise<DoctorJson> => {
    const result = await runCli(['doctor', '-o', 'json', ...args], { env: environment });
    assert.notEqual(result.code, 2, result.stderr);
    return JSON.parse(result.stdout) as DoctorJson;
  };

  it('doctor without --kubeconfig uses ~/.kube/config and says so (text first line, JSON cluster)', async () => {
    const path = writeHomeConfig(kubeconfig({}));
    const report = await doctorJson([], env());
    assert.deepEqual(report.cluster, { server: api.url, kubeconfig: `kubeconfig ${path} (~/.kube/config), context "fake"` });
    const text = await runCli(['doctor'], { env: env() });
    assert.equal(text.stdout.split('\n')[0], `cluster: ${api.url} from kubeconfig ${path} (~/.kube/config), context "fake"`);
  });

  it('$KUBECONFIG wins over ~/.kube/config, and its files merge as kubectl merges them: the first to define a name or set current-context wins', async () => {
    writeHomeConfig(kubeconfig({ context: 'home', server: closedServer }));
    // a: the current-context and the cluster "fake"; b: a cluster "fake" of its own (shadowed), the user, another current-context.
    const a = join(dir, 'a.yaml');
    writeFileSync(a, ['apiVersion: v1', 'kind: Config', 'current-context: merged', 'contexts:', '- name: merged', '  context: {cluster: fake, user: webhook}', kubeconfig({}).split('\n').slice(2, 7).join('\n'), ''].join('\n'));
    const b = join(dir, 'b.yaml');
    writeFileSync(b, kubeconfig({ server: closedServer, context: 'broken' }));
    const merged = await doctorJson([], env({ KUBECONFIG: [join(dir, 'missing.yaml'), a, b].join(delimiter) }));
    assert.deepEqual(merged.cluster, { server: api.url, kubeconfig: `kubeconfig ${a}${delimiter}${b} ($KUBECONFIG), context "merged"` });
    // The other order: b's current-context and cluster win.
    const reversed = await runCli(['doctor'], { env: env({ KUBECONFIG: [b, a].join(delimiter) }) });
    assert.equal(reversed.code, 2, reversed.stdout);
    oneLine(reversed.stderr);
    assert.match(reversed.stderr, new RegExp(`cannot reach the API server ${closedServer.replace(/\./g, '\\.')}`));
  });

  it('--context picks a context; one the kubeconfig lacks exits 2 naming those it has', async () => {
    const path = writeHomeConfig(
      kubeconfig({ context: 'broken', server: closedServer }).replace('contexts:\n', 'contexts:\n- name: good\n  context: {cluster: good, user: webhook}\n').replace('clusters:\n', `clusters:\n- name: good\n  cluster:\n    server: ${api.url}\n    certificate-authority-data: ${Buffer.from(api.caCert).toString('base64')}\n`),
    );
    const report = await doctorJson(['--context', 'good'], env());
    assert.deepEqual(report.cluster, { server: api.url, kubeconfig: `kubeconfig ${path} (~/.kube/config), context "good"` });
    for (const command of [['doctor'], ['explain', '--pod', 'web'], ['manifests', '--mode', 'admission-policy'], ['serve']]) {
      const unknown = await runCli([...command, '--context', 'nope'], { env: env() });
      assert.equal(unknown.code, 2, `${command[0]}: ${unknown.stderr}`);
      oneLine(unknown.stderr);
      assert.match(unknown.stderr, /has no context "nope" \(it has "good", "broken"\)/, command[0]);
    }
  });

  it('serve takes its cluster from $KUBECONFIG and logs which one at debug level', async () => {
    const path = join(dir, 'listed.yaml');
    writeFileSync(path, kubeconfig({ context: 'listed' }));
    // Missing TLS files end it after the cluster is chosen; the log is flushed at exit.
    const result = await runCli(['serve', '--log-level', 'debug', '--tls-cert', join(dir, 'none'), '--tls-key', join(dir, 'none'), '--port', '0', '--metrics-port', '0'], { env: env({ KUBECONFIG: path }) });
    assert.equal(result.code, 2, result.stderr);
    const line = result.stdout.split('\n').find((entry) => entry.includes('"event":"kubeconfig"'));
    assert.ok(line, result.stdout);
    assert.deepEqual(
      { source: (JSON.parse(line) as { source: string }).source, level: (JSON.parse(line) as { level: string }).level },
      { source: `kubeconfig ${path} ($KUBECONFIG), context "listed"`, level: 'debug' },
    );
  });

  it('$KUBECONFIG naming no file that exists, outside a cluster: exit 2 saying what was looked for', async () => {
    writeHomeConfig(kubeconfig({}));
    const result = await runCli(['doctor'], { env: env({ KUBECONFIG: join(dir, 'absent.yaml') }) });
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, /no file of \$KUBECONFIG \(.*absent\.yaml\) exists, and not running in a cluster/);
  });

  it('explain reads the cluster of ~/.kube/config when no files are given (-n is the namespace), and says when it is offline', async () => {
    const path = writeHomeConfig(kubeconfig({ namespace: 'from-context' }));
    const online = await runCli(['explain', '--pod', 'web', '-n', 'apps'], { env: env() });
    assert.equal(online.code, 2);
    oneLine(online.stderr);
    assert.match(online.stderr, new RegExp(`no pod apps/web in the cluster \\(kubeconfig ${path} \\(~/\\.kube/config\\), context "fake"`));
    const contextNamespace = await runCli(['explain', '--pod', 'web'], { env: env() });
    assert.match(contextNamespace.stderr, /no pod from-context\/web in the cluster/);

    const common = join(FIXTURES, 'explain', 'common');
    const offline = await runCli(['explain', '--pod', join(common, 'pod.yaml'), '--service-account', join(common, 'serviceaccount.yaml'), '-o', 'yaml'], { env: env() });
    assert.ok(offline.code === 0 || offline.code === 1, offline.stderr);
    assert.match(offline.stderr, /^explain: offline: reading the pod and its ServiceAccount from files \(--service-account\)[^\n]*\n$/);
    assert.ok(Array.isArray((parse(offline.stdout) as { links?: unknown }).links), offline.stdout);
  });

  it('explain with no kubeconfig anywhere and no --service-account: exit 2, not a silent offline run', async () => {
    const result = await runCli(['explain', '--pod', join(FIXTURES, 'explain', 'common', 'pod.yaml')], { env: env() });
    assert.equal(result.code, 2);
    oneLine(result.stderr);
    assert.match(result.stderr, /--service-account FILE is needed with --pod FILE offline \(to read a cluster instead, give --kubeconfig or --context: no kubeconfig: no --kubeconfig, \$KUBECONFIG or ~\/\.kube\/config\)/);
  });

  it('-o yaml prints the object -o json prints (doctor, explain, lint-aws-auth)', async () => {
    writeHomeConfig(kubeconfig({}));
    const common = join(FIXTURES, 'explain', 'common');
    for (const args of [
      ['doctor'],
      ['explain', '--pod', join(common, 'pod.yaml'), '--service-account', join(common, 'serviceaccount.yaml')],
      ['lint-aws-auth', join(FIXTURES, 'aws-auth', 'assumed-role-arn.yaml')],
    ]) {
      const json = await runCli([...args, '--output', 'json'], { env: env() });
      const yaml = await runCli([...args, '-o', 'yaml'], { env: env() });
      assert.equal(yaml.code, json.code, args[0]);
      assert.deepEqual(parse(yaml.stdout), JSON.parse(json.stdout), args[0]);
      assert.doesNotMatch(yaml.stdout, /^\s*[{[]/, `${args[0]}: YAML, not JSON`);
    }
  });

  it('durations: --request-timeout 1s ends a GET that never answers; a bad duration exits 2 with the forms it takes', async () => {
    writeHomeConfig(kubeconfig({}));
    const started = Date.now();
    const report = await doctorJson(['--webhook-configuration', 'hangs', '--request-timeout', '1s'], env());
    const failed = report.findings.find((finding) => finding.code === 'CHECK_FAILED' && finding.check === 'webhook-configuration');
    assert.match(failed?.detail ?? '', /no answer within 1000 ms/);
    assert.ok(Date.now() - started < 15_000);
    for (const [args, message] of [
      [['doctor', '--request-timeout', '10x'], /option '--request-timeout <duration>' argument '10x' is invalid\. "10x" is not a duration such as 500ms, 10s, 2m or 1h30m \(a bare number is milliseconds\)/],
      [['doctor', '--request-timeout', '1h'], /must be between 100ms and 5m, got "1h"/],
      [['serve', '--shutdown-delay', '1500ms'], /"1500ms" is not a whole number of seconds/],
    ] as const) {
      const result = await runCli(args, { env: env() });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
  });
});
