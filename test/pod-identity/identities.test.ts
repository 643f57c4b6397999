import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/shared/log.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../src/webhook/server/metrics.js';
import { formatPodIdentities, parsePodIdentities } from '../../src/webhook/pod-identity/identities.js';
import { watchPodIdentitiesFile } from '../../src/webhook/pod-identity/file-source.js';
import { ConfigMapPodIdentities } from '../../src/webhook/pod-identity/config-map-source.js';
import { type PodIdentitySource, withPodIdentities } from '../../src/webhook/pod-identity/source.js';
import { StaticServiceAccountSource } from '../../src/webhook/serviceaccounts/static-source.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { LogCapture, waitFor } from '../helpers/wait.js';
import { accessFromKubeconfig } from '../helpers/cluster-access.js';

const sorted = (set: ReadonlySet<string>): string[] => [...set].sort();

async function metricValue(metrics: WebhookMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected)).reduce((sum, value) => sum + value.value, 0);
}

describe('Pod Identity identities (container credentials config)', () => {
  describe('parsing the Go webhook format', () => {
    const ok = (text: string): string[] => {
      const parsed = parsePodIdentities(text, 'f');
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      return sorted(parsed.value);
    };
    const error = (text: string): string => {
      const parsed = parsePodIdentities(text, 'f');
      assert.ok(!parsed.ok, 'expected an error');
      return parsed.error;
    };

    it('reads namespace/serviceAccount pairs, ignoring other keys as Go does', () => {
      assert.deepEqual(ok('{"identities":[{"namespace":"foo","serviceAccount":"ns-foo-sa","role":"x"},{"namespace":"bar","serviceAccount":"ns-bar-sa"}],"version":2}'), ['bar/ns-bar-sa', 'foo/ns-foo-sa']);
    });
    it('an empty file, white space, {} and a null list are the empty set', () => {
      for (const text of ['', '  \n', '{}', '{"identities":null}', '{"identities":[]}']) assert.deepEqual(ok(text), [], JSON.stringify(text));
    });
    it('refuses what is not the format, naming where', () => {
      assert.match(error('{"identities":'), /^f: invalid JSON/);
      assert.match(error('[]'), /must be a JSON object/);
      assert.match(error('{"identities":{}}'), /identities must be a list/);
      assert.match(error('{"identities":[{"namespace":"a"}]}'), /identities\[0\]\.serviceAccount must be a non-empty string/);
      assert.match(error('{"identities":[{"namespace":1,"serviceAccount":"a"}]}'), /identities\[0\]\.namespace/);
      assert.match(error('{"identities":[],"identities":[{"namespace":"a","serviceAccount":"b"}]}'), /identities/);
    });
    it('formats what it parses, without repeats', () => {
      const text = formatPodIdentities([{ namespace: 'a', serviceAccount: 'x' }, { namespace: 'a', serviceAccount: 'x' }, { namespace: 'b', serviceAccount: 'y' }]);
      assert.deepEqual(ok(text), ['a/x', 'b/y']);
      assert.equal((JSON.parse(text) as { identities: unknown[] }).identities.length, 2);
    });
  });

  describe('the watched file', function () {
    this.timeout(15_000);
    let dir: string;
    let source: PodIdentitySource | undefined;
    let logs: LogCapture;
    let metrics: WebhookMetrics;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'piw-identities-'));
      logs = new LogCapture();
      metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    });
    afterEach(async () => {
      await source?.stop();
      source = undefined;
      rmSync(dir, { recursive: true, force: true });
    });
    const start = async (path: string): Promise<PodIdentitySource> => {
      const started = await watchPodIdentitiesFile(path, { logger: createLogger(logs.write, 'debug'), events: metrics.podIdentities, debounceMs: 20 });
      assert.ok(started.ok, started.ok ? '' : started.error);
      source = started.value;
      return source;
    };
    const identities = (...pairs: Array<[string, string]>): string => JSON.stringify({ identities: pairs.map(([namespace, serviceAccount]) => ({ namespace, serviceAccount })) });
    /** Writes a new version with an atomic rename, as tools that update such files do. */
    const replace = (path: string, text: string): void => {
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    };

    it('a missing file is the empty set until it is created; an update, a malformed write (kept), a removal (cleared)', async () => {
      const path = join(dir, 'identities.json');
      const watched = await start(path);
      assert.deepEqual(sorted(watched.current()), []);
      assert.equal(logs.events('pod-identities-loaded')[0]?.level, 'warn');
      replace(path, identities(['default', 'app']));
      await waitFor('the new set', () => watched.current().has('default/app'));
      writeFileSync(path, '{"identities": [');
      await waitFor('the invalid update to be logged', () => logs.events('pod-identities-invalid').length > 0);
      assert.deepEqual(sorted(watched.current()), ['default/app'], 'a malformed file keeps the previous set');
      assert.equal(await metricValue(metrics, 'pod_identity_webhook_container_credentials_updates_total', { result: 'invalid' }), 1);
      replace(path, identities(['default', 'app'], ['team', 'worker']));
      await waitFor('the repaired set', () => watched.current().size === 2);
      assert.equal(await metricValue(metrics, 'pod_identity_webhook_container_credentials_identities'), 2);
      writeFileSync(path, '');
      await waitFor('an empty file to clear the set', () => watched.current().size === 0);
      replace(path, identities(['default', 'app']));
      await waitFor('the set again', () => watched.current().size === 1);
      rmSync(path);
      await waitFor('a removed file to clear the set', () => watched.current().size === 0);
    });

    it("notices a ConfigMap mount's ..data symlink swap, which names no file the watcher was given", async () => {
      // The kubelet's layout: config -> ..data/config, ..data -> ..<timestamp>; an update writes a new
      // timestamped directory and renames a new ..data link over the old one.
      const version = (name: string, text: string): void => {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, 'config'), text);
      };
      version('..2026_01_01_00_00_00.1', identities(['default', 'app']));
      symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
      symlinkSync('..data/config', join(dir, 'config'));
      const watched = await start(join(dir, 'config'));
      assert.deepEqual(sorted(watched.current()), ['default/app']);
      version('..2026_01_01_00_01_00.2', identities(['default', 'app'], ['team', 'worker']));
      symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
      await waitFor('the swapped version', () => watched.current().has('team/worker'));
    });

    it('at start, a malformed file or a missing directory is an error (the command exits 2)', async () => {
      const path = join(dir, 'identities.json');
      writeFileSync(path, '{"identities": 3}');
      const malformed = await watchPodIdentitiesFile(path, { logger: createLogger(logs.write), events: metrics.podIdentities });
      assert.deepEqual(malformed, { ok: false, error: `${path}: identities must be a list` });
      const nowhere = await watchPodIdentitiesFile(join(dir, 'nope', 'identities.json'), { logger: createLogger(logs.write), events: metrics.podIdentities });
      assert.ok(!nowhere.ok && /does not exist/.test(nowhere.error));
    });
  });

  it('marks the listed ServiceAccounts of any source as Pod Identity ones, and only them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'piw-identities-'));
    try {
      writeFileSync(join(dir, 'sa.yaml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: default}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: other, namespace: default}\n');
      const accounts = await StaticServiceAccountSource.load(join(dir, 'sa.yaml'), 'eks.amazonaws.com');
      assert.ok(accounts.ok);
      const set = new Set(['default/app']);
      const marked = withPodIdentities(accounts.value, { current: () => set, isReady: () => true, describe: () => 'test', stop: async () => {} });
      const app = await marked.lookup('default', 'app');
      const other = await marked.lookup('default', 'other');
      assert.ok(app.status === 'found' && app.serviceAccount.podIdentity === true);
      assert.ok(other.status === 'found' && !other.serviceAccount.podIdentity);
      assert.equal((await marked.lookup('default', 'missing')).status, 'not-found');
      set.delete('default/app');
      const after = await marked.lookup('default', 'app');
      assert.ok(after.status === 'found' && !after.serviceAccount.podIdentity, 'a set that changed applies to the next lookup');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the ConfigMap (cluster mode) against the fake API server', function () {
    this.timeout(20_000);
    let api: FakeApiServer;
    let source: ConfigMapPodIdentities | undefined;
    let logs: LogCapture;
    let metrics: WebhookMetrics;
    beforeEach(async () => {
      api = new FakeApiServer({ bookmarkIntervalMs: 200 });
      await api.start();
      logs = new LogCapture();
      metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    });
    afterEach(async () => {
      await source?.stop();
      source = undefined;
      await api.stop();
    });
    const configMap = (config: string | undefined, name = 'pod-identities'): Record<string, unknown> => ({
      metadata: { name, namespace: 'pod-identity-webhook' },
      data: config === undefined ? {} : { config },
    });

    it('lists and watches one ConfigMap: updates apply, an invalid one keeps the last good set, a deletion clears it', async () => {
      api.apply('configmaps', configMap('{"identities":[{"namespace":"default","serviceAccount":"app"}]}'));
      api.apply('configmaps', configMap('{"identities":[{"namespace":"x","serviceAccount":"unrelated"}]}', 'other'));
      const cluster = await accessFromKubeconfig(api.kubeconfig());
      source = new ConfigMapPodIdentities({
        cluster,
        namespace: 'pod-identity-webhook',
        name: 'pod-identities',
        logger: createLogger(logs.write, 'debug'),
        events: metrics.podIdentities,
        reflectorEvents: metrics.serviceAccounts,
        initialBackoffMs: 20,
        maxBackoffMs: 200,
      });
      assert.equal(source.isReady(), false);
      source.start();
      await source.waitForSync();
      assert.ok(source.isReady());
      assert.deepEqual(sorted(source.current()), ['default/app']);
      await waitFor('a watch on the ConfigMap', () => api.activeWatches === 1);
      api.apply('configmaps', configMap('{"identities":[{"namespace":"default","serviceAccount":"app"},{"namespace":"team","serviceAccount":"worker"}]}'));
      await waitFor('the update', () => source!.current().size === 2);
      api.apply('configmaps', configMap('{"identities":"all of them"}'));
      await waitFor('the invalid update to be logged', () => logs.events('pod-identities-invalid').length > 0);
      assert.equal(source.current().size, 2);
      api.apply('configmaps', configMap(undefined));
      await waitFor('a ConfigMap without the key to clear the set', () => source!.current().size === 0);
      api.apply('configmaps', configMap('{"identities":[{"namespace":"default","serviceAccount":"app"}]}'));
      await waitFor('the set again', () => source!.current().size === 1);
      api.delete('configmaps', 'pod-identity-webhook', 'pod-identities');
      await waitFor('a deletion to clear the set', () => source!.current().size === 0);
      assert.equal(await metricValue(metrics, 'pod_identity_webhook_container_credentials_updates_total', { result: 'invalid' }), 1);
    });
  });
});
