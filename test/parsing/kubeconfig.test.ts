import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import { ApiClient } from '../../src/shared/k8s/api-client.js';
import { loadClusterAccess, type KubeConfigOptions } from '../../src/shared/k8s/kubeconfig.js';
import { readKubeconfig } from '../../src/shared/k8s/kubeconfig-files.js';
import { assertBoundedAsync } from '../helpers/bounded.js';
import { HOSTILE_FILES } from '../helpers/hostile-files.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Kubeconfigs are read as every other input is: the file itself and every file it names
 * (certificate-authority, client-certificate, client-key, token-file), through the bounded reader,
 * paths relative to the kubeconfig's directory (as kubectl resolves them). The client library is
 * handed inline data only, so it never opens a file the user named.
 */
describe('kubeconfig loading: every file through the bounded reader', function () {
  this.timeout(30_000);
  let dir: string;
  let api: FakeApiServer;

  before(async () => {
    api = new FakeApiServer();
    api.serveRoute(/^\/version$/, (_req, res) => api.send(res, 200, { gitVersion: 'v1.37.2-fake' }));
    await api.start();
  });
  after(() => api.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A kubeconfig for the fake API server; `cluster` and `user` replace its entries' fields. */
  function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: api.url, ...cluster } }],
      users: [{ name: 'webhook', user }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'webhook', namespace: 'apps' } }],
      'current-context': 'fake',
      ...extra,
    });
  }

  async function version(options: KubeConfigOptions = {}, path = join(dir, 'config', 'kubeconfig')): Promise<unknown> {
    const loaded = await loadClusterAccess(path, options);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
    const client = new ApiClient(loaded.value);
    try {
      return await client.getJson('/version', AbortSignal.timeout(5000));
    } finally {
      client.close();
    }
  }

  it('the existing form (inline certificate-authority-data and token) still works', async () => {
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'kubeconfig'), api.kubeconfig());
    assert.deepEqual(await version(), { gitVersion: 'v1.37.2-fake' });
    const loaded = await loadClusterAccess(join(dir, 'config', 'kubeconfig'));
    assert.ok(loaded.ok);
    assert.equal(loaded.value.server, api.url);
  });

  it('relative certificate-authority, client-certificate, client-key and token-file are read from the kubeconfig\'s directory, not the working directory', async () => {
    mkdirSync(join(dir, 'config', 'pki'), { recursive: true });
    writeFileSync(join(dir, 'config', 'pki', 'ca.crt'), api.caCert);
    const client = generateCertificates({ service: 'client', namespace: 'default', hosts: ['127.0.0.1'] });
    writeFileSync(join(dir, 'config', 'pki', 'client.crt'), client.cert);
    writeFileSync(join(dir, 'config', 'pki', 'client.key'), client.key);
    writeFileSync(join(dir, 'config', 'token'), `${api.token}\n`);
    writeFileSync(join(dir, 'config', 'kubeconfig'), kubeconfig({ 'certificate-authority': 'pki/ca.crt' }, { 'client-certificate': 'pki/client.crt', 'client-key': './pki/client.key', 'token-file': 'token' }));
    // The CA verifies the server and the token (its trailing newline trimmed, as client-go does) is accepted.
    assert.deepEqual(await version(), { gitVersion: 'v1.37.2-fake' });
    const loaded = await loadClusterAccess(join(dir, 'config', 'kubeconfig'));
    assert.ok(loaded.ok);
    const applied: RequestOptions = {};
    await loaded.value.apply(applied);
    assert.equal(applied.cert?.toString(), client.cert);
    assert.equal(applied.key?.toString(), client.key);
    assert.equal(applied.ca?.toString(), api.caCert);
    assert.equal(loaded.value.namespace, 'apps');
    // A relative kubeconfig path too.
    assert.deepEqual(await version({}, relative(process.cwd(), join(dir, 'config', 'kubeconfig'))), { gitVersion: 'v1.37.2-fake' });
  });

  const fields = [
    { field: 'certificate-authority', cluster: true },
    { field: 'client-certificate', cluster: false },
    { field: 'client-key', cluster: false },
    { field: 'token-file', cluster: false },
  ] as const;
  const hostileNames = ['a FIFO nobody writes to', 'a link to /dev/zero', 'a 20 MiB file', 'a directory', 'a dangling link'];
  for (const { field, cluster } of fields) {
    for (const hostile of HOSTILE_FILES.filter((candidate) => hostileNames.includes(candidate.name))) {
      it(`${field} naming ${hostile.name}: one line naming the field and the file, quickly`, async () => {
        const named = join(dir, 'named');
        hostile.write(named);
        writeFileSync(join(dir, 'kubeconfig'), cluster ? kubeconfig({ 'certificate-authority': named }, { token: api.token }) : kubeconfig({}, { [field]: named }));
        const rssBefore = process.memoryUsage().rss;
        const loaded = await assertBoundedAsync(() => loadClusterAccess(join(dir, 'kubeconfig')), 2000, `loading a kubeconfig whose ${field} is ${hostile.name}`);
        assert.ok(process.memoryUsage().rss - rssBefore < 32 * 1024 * 1024, 'the file was not read into memory');
        assert.equal(loaded.ok, false);
        if (loaded.ok) return;
        assert.doesNotMatch(loaded.error, /\n/);
        assert.match(loaded.error, new RegExp(`^kubeconfig ${escape(join(dir, 'kubeconfig'))}: cannot read ${field} ${escape(named)}: `));
      });
    }
  }

  it('a kubeconfig larger than 4 MiB is refused before it is read', async () => {
    writeFileSync(join(dir, 'kubeconfig'), `${api.kubeconfig()}# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    const loaded = await loadClusterAccess(join(dir, 'kubeconfig'));
    assert.deepEqual(loaded, { ok: false, code: 'ERR_FILE_TOO_LARGE', error: `cannot read the kubeconfig ${join(dir, 'kubeconfig')}: larger than 4 MiB` });
  });

  for (const hostile of HOSTILE_FILES) {
    it(`the kubeconfig itself is ${hostile.name}: one line, quickly`, async () => {
      hostile.write(join(dir, 'kubeconfig'));
      const loaded = await assertBoundedAsync(() => loadClusterAccess(join(dir, 'kubeconfig')), 2000, `loading ${hostile.name}`);
      assert.equal(loaded.ok, false);
      if (!loaded.ok) {
        assert.doesNotMatch(loaded.error, /\n/);
        assert.match(loaded.error, new RegExp(escape(join(dir, 'kubeconfig'))));
      }
    });
  }

  it('both a file and its inline data is refused, as kubectl refuses it', async () => {
    writeFileSync(join(dir, 'ca.crt'), api.caCert);
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig({ 'certificate-authority': 'ca.crt', 'certificate-authority-data': Buffer.from(api.caCert).toString('base64') }, { token: api.token }));
    const loaded = await loadClusterAccess(join(dir, 'kubeconfig'));
    assert.equal(loaded.ok, false);
    assert.match(loaded.ok ? '' : loaded.error, /cluster "fake" has both certificate-authority and certificate-authority-data: give one/);
  });

  it('only the current context\'s cluster and user are read: a broken file named by another context does not matter', async () => {
    writeFileSync(join(dir, 'ca.crt'), api.caCert);
    const config = JSON.parse(kubeconfig({ 'certificate-authority': 'ca.crt' }, { token: api.token })) as { clusters: unknown[]; users: unknown[]; contexts: unknown[] };
    config.clusters.push({ name: 'other', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority': 'missing.crt' } });
    config.users.push({ name: 'other', user: { 'token-file': 'missing-token' } });
    config.contexts.push({ name: 'other', context: { cluster: 'other', user: 'other' } });
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'ca.crt'), api.caCert);
    writeFileSync(join(dir, 'config', 'kubeconfig'), JSON.stringify(config));
    assert.deepEqual(await version(), { gitVersion: 'v1.37.2-fake' });
  });

  it('token-file is read again after tokenMaxAgeMs (as client-go does); a re-read that fails keeps the last good token', async () => {
    writeFileSync(join(dir, 'token'), api.token);
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig({ 'certificate-authority-data': Buffer.from(api.caCert).toString('base64') }, { 'token-file': 'token' }));
    const loaded = await loadClusterAccess(join(dir, 'kubeconfig'), { tokenMaxAgeMs: 50 });
    assert.ok(loaded.ok);
    const client = new ApiClient(loaded.value);
    const call = (): Promise<unknown> => client.getJson('/version', AbortSignal.timeout(5000));
    try {
      assert.deepEqual(await call(), { gitVersion: 'v1.37.2-fake' });
      writeFileSync(join(dir, 'token'), 'rotated-token');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await assert.rejects(call(), /HTTP 401/, 'the rotated token was sent');
      writeFileSync(join(dir, 'token'), api.token);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await call(), { gitVersion: 'v1.37.2-fake' });
      // Replaced by a FIFO: the request does not hang, and goes out with the last token read.
      HOSTILE_FILES.find((hostile) => hostile.name === 'a FIFO nobody writes to')!.write(join(dir, 'token'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await assertBoundedAsync(call, 3000, 'a request while the token file is a FIFO'), { gitVersion: 'v1.37.2-fake' });
    } finally {
      client.close();
    }
  });

  it('in-cluster: the ServiceAccount\'s CA, token (read again as it rotates) and namespace, through the bounded reader', async () => {
    const serviceAccountDir = join(dir, 'serviceaccount');
    mkdirSync(serviceAccountDir);
    writeFileSync(join(serviceAccountDir, 'ca.crt'), api.caCert);
    writeFileSync(join(serviceAccountDir, 'token'), api.token);
    writeFileSync(join(serviceAccountDir, 'namespace'), 'webhook-ns');
    const url = new URL(api.url);
    const env = { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
    const loaded = await loadClusterAccess(undefined, { env, home: dir, serviceAccountDir, tokenMaxAgeMs: 50 });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
    assert.equal(loaded.value.server, api.url);
    assert.equal(loaded.value.namespace, 'webhook-ns');
    const client = new ApiClient(loaded.value);
    try {
      assert.deepEqual(await client.getJson('/version', AbortSignal.timeout(5000)), { gitVersion: 'v1.37.2-fake' });
      writeFileSync(join(serviceAccountDir, 'token'), 'rotated-token');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await assert.rejects(client.getJson('/version', AbortSignal.timeout(5000)), /HTTP 401/, 'the rotated token was sent');
    } finally {
      client.close();
    }
    HOSTILE_FILES.find((hostile) => hostile.name === 'a FIFO nobody writes to')!.write(join(serviceAccountDir, 'ca.crt'));
    const fifo = await assertBoundedAsync(() => loadClusterAccess(undefined, { env, home: dir, serviceAccountDir }), 2000, 'in-cluster with a FIFO ca.crt');
    assert.equal(fifo.ok, false);
    assert.match(fifo.ok ? '' : fifo.error, /^in-cluster config: cannot read certificate-authority .*ca\.crt: not a regular file$/);
    const outside = await loadClusterAccess(undefined, { env: {}, home: dir });
    assert.equal(outside.ok ? 'loaded' : outside.code, 'ERR_NOT_IN_CLUSTER', 'neither a kubeconfig nor KUBERNETES_SERVICE_HOST');
  });

  it('in a cluster, a $HOME whose ~/.kube/config cannot be read (a pod as a user its image does not know) is no kubeconfig: the in-cluster config serves; outside a cluster it is still an error', async () => {
    const serviceAccountDir = join(dir, 'serviceaccount');
    mkdirSync(serviceAccountDir);
    writeFileSync(join(serviceAccountDir, 'ca.crt'), api.caCert);
    writeFileSync(join(serviceAccountDir, 'token'), api.token);
    // Tests run as root, whom no mode refuses: a file where the directory should be refuses the read just as well (ENOTDIR).
    const home = join(dir, 'refused-home');
    mkdirSync(home);
    writeFileSync(join(home, '.kube'), 'not a directory');
    const url = new URL(api.url);
    const env = { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
    const inside = await loadClusterAccess(undefined, { env, home, serviceAccountDir });
    assert.ok(inside.ok, inside.ok ? '' : inside.error);
    assert.equal(inside.value.server, api.url);
    const outside = await loadClusterAccess(undefined, { env: {}, home, serviceAccountDir });
    assert.equal(outside.ok, false);
    assert.match(outside.ok ? '' : outside.error, /\.kube\/config/);
  });

  it('exec plugins still run (as kubectl runs them); a relative command with a slash is found from the kubeconfig\'s directory', async () => {
    mkdirSync(join(dir, 'config', 'bin'), { recursive: true });
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: api.token } });
    writeFileSync(join(dir, 'config', 'bin', 'plugin.sh'), `#!/bin/sh\nprintf '%s' '${credential}'\n`);
    chmodSync(join(dir, 'config', 'bin', 'plugin.sh'), 0o755);
    writeFileSync(
      join(dir, 'config', 'kubeconfig'),
      kubeconfig({ 'certificate-authority-data': Buffer.from(api.caCert).toString('base64') }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bin/plugin.sh', interactiveMode: 'Never' } }),
    );
    assert.deepEqual(await version(), { gitVersion: 'v1.37.2-fake' });
  });

  it('auth-provider: oidc\'s idp-certificate-authority is read like the others; providers kubectl removed, and client-node\'s file and exec keys, are refused', async () => {
    HOSTILE_FILES.find((hostile) => hostile.name === 'a FIFO nobody writes to')!.write(join(dir, 'idp.crt'));
    const oidc = { name: 'oidc', config: { 'client-id': 'k', 'id-token': 'x', 'idp-issuer-url': 'https://issuer.example', 'idp-certificate-authority': 'idp.crt' } };
    for (const [provider, message] of [
      [oidc, /cannot read idp-certificate-authority .*idp\.crt: not a regular file/],
      [{ name: 'gcp', config: { 'cmd-path': '/bin/true' } }, /auth-provider "gcp" is not supported \(kubectl removed it in 1\.26\): use an exec plugin/],
      [{ name: 'oidc', config: { tokenFile: '/etc/passwd' } }, /auth-provider "oidc" has "tokenFile", which is not an oidc setting/],
    ] as const) {
      writeFileSync(join(dir, 'kubeconfig'), kubeconfig({}, { 'auth-provider': provider }));
      const loaded = await assertBoundedAsync(() => loadClusterAccess(join(dir, 'kubeconfig')), 2000, provider.name);
      assert.equal(loaded.ok, false);
      assert.match(loaded.ok ? '' : loaded.error, message);
    }
  });

  describe('found as kubectl finds it: $KUBECONFIG merged, ~/.kube/config, then the in-cluster config', () => {
    const caData = (): string => Buffer.from(api.caCert).toString('base64');
    const write = (path: string, document: Record<string, unknown>): string => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, JSON.stringify(document));
      return path;
    };

    it('each entry\'s files resolve from the kubeconfig that defines it; the first definition of a name wins', async () => {
      mkdirSync(join(dir, 'one', 'pki'), { recursive: true });
      mkdirSync(join(dir, 'two', 'pki'), { recursive: true });
      writeFileSync(join(dir, 'one', 'pki', 'ca.crt'), api.caCert);
      writeFileSync(join(dir, 'two', 'pki', 'token'), api.token);
      writeFileSync(join(dir, 'two', 'pki', 'other-token'), 'not-the-token');
      const one = write(join(dir, 'one', 'config'), { clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority': 'pki/ca.crt' } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }] });
      const two = write(join(dir, 'two', 'config'), {
        'current-context': 'x',
        clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'u', user: { 'token-file': 'pki/token' } }],
        contexts: [{ name: 'x', context: { cluster: 'elsewhere', user: 'u' } }],
      });
      const three = write(join(dir, 'three', 'config'), { users: [{ name: 'u', user: { 'token-file': 'pki/other-token' } }] });
      const loaded = await loadClusterAccess(undefined, { env: { KUBECONFIG: [one, two, three].join(delimiter) }, home: dir });
      assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
      assert.equal(loaded.value.server, api.url);
      const client = new ApiClient(loaded.value);
      try {
        assert.deepEqual(await client.getJson('/version', AbortSignal.timeout(5000)), { gitVersion: 'v1.37.2-fake' });
      } finally {
        client.close();
      }
    });

    it('the order: --kubeconfig, else $KUBECONFIG (never ~/.kube/config then), else ~/.kube/config, else the in-cluster config', async () => {
      const config = (server: string): Record<string, unknown> => JSON.parse(kubeconfig({ server, 'certificate-authority-data': caData() }, { token: api.token })) as Record<string, unknown>;
      const flag = write(join(dir, 'flag'), config('https://flag.example:6443'));
      const listed = write(join(dir, 'listed'), config('https://listed.example:6443'));
      write(join(dir, 'home', '.kube', 'config'), config('https://home.example:6443'));
      const home = join(dir, 'home');
      const url = new URL(api.url);
      const inCluster = { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
      const server = async (path: string | undefined, env: Record<string, string>, at = home): Promise<string> => {
        const loaded = await readKubeconfig(path, { env, home: at, serviceAccountDir: join(dir, 'no-serviceaccount') });
        if (!loaded.ok) return loaded.error;
        const clusters = loaded.value.config.clusters as { cluster: { server: string } }[];
        return `${loaded.value.origin} ${clusters[0]!.cluster.server}`;
      };
      assert.equal(await server(flag, { KUBECONFIG: listed, ...inCluster }), '--kubeconfig https://flag.example:6443');
      assert.equal(await server(undefined, { KUBECONFIG: listed, ...inCluster }), '$KUBECONFIG https://listed.example:6443');
      assert.equal(await server(undefined, { KUBECONFIG: '', ...inCluster }), '~/.kube/config https://home.example:6443');
      assert.match(await server(undefined, { KUBECONFIG: join(dir, 'absent') }), /^no file of \$KUBECONFIG \(.*absent\) exists, and not running in a cluster/);
      assert.match(await server(undefined, inCluster, dir), /^in-cluster config: cannot read certificate-authority .*no-serviceaccount\/ca\.crt/);
      const missing = await readKubeconfig(undefined, { env: {}, home: dir, inCluster: false });
      assert.deepEqual(missing, { ok: false, code: 'ERR_NO_KUBECONFIG', error: 'no kubeconfig: no --kubeconfig, $KUBECONFIG or ~/.kube/config' });
      const unknown = await readKubeconfig(flag, { context: 'other' });
      assert.deepEqual(unknown, { ok: false, code: 'ERR_UNKNOWN_CONTEXT', error: `kubeconfig ${flag}: has no context "other" (it has "fake")` });
      // Names from the file cannot forge lines of the message, nor make it unbounded.
      const many = write(join(dir, 'many'), { ...config(api.url), contexts: Array.from({ length: 25 }, (_, index) => ({ name: `c${index}\nforged`, context: { cluster: 'fake' } })) });
      const listed25 = await readKubeconfig(many, { context: 'other' });
      assert.equal(listed25.ok ? '' : listed25.error, `kubeconfig ${many}: has no context "other" (it has ${Array.from({ length: 20 }, (_, index) => `"c${index}\\u000aforged"`).join(', ')} and 5 more)`);
      const tooMany = await readKubeconfig(undefined, { env: { KUBECONFIG: Array.from({ length: 33 }, (_, index) => join(dir, `f${index}`)).join(delimiter) }, home: dir });
      assert.deepEqual(tooMany, { ok: false, error: '$KUBECONFIG lists 33 files, more than 32' });
    });
  });
});
