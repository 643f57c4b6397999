import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/shared/log.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { ClusterServiceAccountSource, type ClusterSourceConfig } from '../../src/webhook/serviceaccounts/cluster-source.js';
import type { ServiceAccountLookup } from '../../src/webhook/serviceaccounts/source.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { LogCapture, waitFor } from '../helpers/wait.js';
import type { ClusterAccess } from '../../src/shared/k8s/request-auth.js';
import { accessFromKubeconfig } from '../helpers/cluster-access.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';

function serviceAccount(namespace: string, name: string, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace,
      labels: { team: 'x' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', ...annotations },
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
    },
    secrets: [{ name: `${name}-token` }],
  };
}

async function counterValue(metrics: WebhookMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

async function found(lookup: ServiceAccountLookup | Promise<ServiceAccountLookup>): Promise<Record<string, string> | undefined> {
  const result = await lookup;
  return result.status === 'found' ? { ...result.serviceAccount.annotations } : undefined;
}

describe('cluster ServiceAccount source against the fake API server', function () {
  this.timeout(30_000);
  let api: FakeApiServer;
  let source: ClusterServiceAccountSource | undefined;
  let metrics: WebhookMetrics;
  let logs: LogCapture;
  let access: ClusterAccess;

  beforeEach(async () => {
    api = new FakeApiServer({ bookmarkIntervalMs: 200 });
    await api.start();
    access = await accessFromKubeconfig(api.kubeconfig());
    metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    logs = new LogCapture();
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.stop();
  });

  function startSource(overrides: Partial<ClusterSourceConfig> = {}): ClusterServiceAccountSource {
    source = new ClusterServiceAccountSource({
      cluster: access,
      annotationPrefix: 'eks.amazonaws.com',
      logger: createLogger(logs.write, 'debug'),
      events: metrics.serviceAccounts,
      lookupTimeoutMs: 1000,
      pageSize: 2,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      ...overrides,
    });
    source.start();
    return source;
  }

  it('lists in pages, keeps only prefixed annotations, and becomes ready', async () => {
    for (let index = 0; index < 5; index += 1) {
      api.apply('serviceaccounts', serviceAccount(`ns${index % 2}`, `sa${index}`, { 'eks.amazonaws.com/role-arn': ROLE, 'other.io/x': 'y' }));
    }
    const cluster = startSource();
    assert.equal(cluster.isReady(), false);
    await cluster.waitForSync();
    assert.equal(cluster.isReady(), true);
    assert.equal(cluster.size, 5);
    const lists = api.requests.filter((request) => request.kind === 'list');
    assert.equal(lists.length, 3, 'five items in pages of two');
    assert.deepEqual(lists.map((request) => request.query.limit), ['2', '2', '2']);
    assert.ok(lists[1]?.query.continue && lists[2]?.query.continue);
    const result = await cluster.lookup('ns0', 'sa0');
    assert.deepEqual(result, {
      status: 'found',
      from: 'cache',
      serviceAccount: { name: 'sa0', namespace: 'ns0', annotations: { 'eks.amazonaws.com/role-arn': ROLE } },
    });
  });

  it('follows watch events: added, modified, deleted', async () => {
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    api.apply('serviceaccounts', serviceAccount('team', 'app', { 'eks.amazonaws.com/role-arn': ROLE }));
    await waitFor('ADDED applied', async () => (await found(cluster.lookup('team', 'app')))?.['eks.amazonaws.com/role-arn'] === ROLE);
    api.apply('serviceaccounts', serviceAccount('team', 'app', { 'eks.amazonaws.com/role-arn': `${ROLE}2` }));
    await waitFor('MODIFIED applied', async () => (await found(cluster.lookup('team', 'app')))?.['eks.amazonaws.com/role-arn'] === `${ROLE}2`);
    const watchesBefore = api.requests.filter((request) => request.kind === 'watch').length;
    api.delete('serviceaccounts', 'team', 'app');
    await waitFor('DELETED applied', () => cluster.size === 0);
    // After the delete the cache misses and the live GET says 404.
    assert.deepEqual(await cluster.lookup('team', 'app'), { status: 'not-found', from: 'api' });
    assert.equal(api.requests.filter((request) => request.kind === 'watch').length, watchesBefore, 'no re-watch needed');
    const watch = api.requests.find((request) => request.kind === 'watch');
    assert.equal(watch?.query.allowWatchBookmarks, 'true');
    assert.ok(Number(watch?.query.timeoutSeconds) >= 300 && Number(watch?.query.timeoutSeconds) <= 600);
  });

  it('finds a ServiceAccount missing from the cache with a live GET, and counts the miss', async () => {
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    api.holdEvents(); // the watch lags: the new ServiceAccount is not in the cache yet
    api.apply('serviceaccounts', serviceAccount('fresh', 'app', { 'eks.amazonaws.com/role-arn': ROLE }));
    const result = await cluster.lookup('fresh', 'app');
    assert.equal(result.status, 'found');
    assert.equal(result.status === 'found' && result.from, 'api');
    assert.equal(await counterValue(metrics, 'pod_identity_webhook_serviceaccount_cache_misses_total'), 1);
    api.releaseEvents();
    await waitFor('the watch catches up', () => cluster.size === 1);
    assert.equal(((await cluster.lookup('fresh', 'app')) as { from: string }).from, 'cache');
  });

  it('a scale-up of pods for a new ServiceAccount sends one GET, and the answer is cached', async () => {
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    api.holdEvents();
    api.apply('serviceaccounts', serviceAccount('burst', 'app', { 'eks.amazonaws.com/role-arn': ROLE }));
    api.delayGets(100);
    const gets = (): number => api.requests.filter((request) => request.kind === 'get').length;
    const before = gets();
    const lookups = await Promise.all(Array.from({ length: 20 }, () => cluster.lookup('burst', 'app')));
    assert.ok(lookups.every((lookup) => lookup.status === 'found'));
    assert.equal(gets() - before, 1, 'concurrent misses were not coalesced into one GET');
    // The watch is still held back: the next lookup is answered from what the GET found.
    assert.equal(((await cluster.lookup('burst', 'app')) as { from: string }).from, 'cache');
    assert.equal(gets() - before, 1);
    api.releaseEvents();
  });

  it('reuses its connection to the API server for live GETs', async () => {
    const cluster = startSource();
    await cluster.waitForSync();
    const before = api.tlsConnections;
    for (let index = 0; index < 10; index += 1) assert.equal((await cluster.lookup('missing', `sa-${index}`)).status, 'not-found');
    assert.ok(api.tlsConnections - before <= 1, `${api.tlsConnections - before} TLS connections for 10 sequential GETs`);
  });

  it('gives up on a slow live GET after the lookup timeout, with an error the webhook reports', async () => {
    const cluster = startSource({ lookupTimeoutMs: 150 });
    await cluster.waitForSync();
    api.delayGets(3000);
    const started = Date.now();
    const result = await cluster.lookup('slow', 'app');
    const elapsed = Date.now() - started;
    assert.deepEqual(result, { status: 'error', message: 'the API did not answer within 150 ms' });
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    assert.equal(await counterValue(metrics, 'pod_identity_webhook_serviceaccount_lookup_errors_total'), 1);
  });

  it('relists after 410 Gone and ends up with the server\'s current state', async () => {
    api.apply('serviceaccounts', serviceAccount('a', 'keep', { 'eks.amazonaws.com/role-arn': ROLE }));
    api.apply('serviceaccounts', serviceAccount('a', 'drop', { 'eks.amazonaws.com/role-arn': ROLE }));
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    api.holdEvents();
    api.delete('serviceaccounts', 'a', 'drop');
    api.apply('serviceaccounts', serviceAccount('a', 'new', { 'eks.amazonaws.com/role-arn': ROLE }));
    api.compact(); // the events above are gone from history
    api.closeWatches(); // the watch ends; resuming from the old resourceVersion gets 410
    await waitFor('a relist after 410', async () => (await counterValue(metrics, 'pod_identity_webhook_relists_total', { reason: 'gone' })) === 1);
    await waitFor('the new state', async () => cluster.size === 2 && (await found(cluster.lookup('a', 'new'))) !== undefined);
    const cached = await cluster.lookup('a', 'drop');
    assert.equal(cached.status, 'not-found', 'the ServiceAccount deleted during the gap is gone from the cache');
    assert.ok(logs.events('watch-expired').length >= 1);
  });

  it('runs the after-page hook per page and the after-list hook once per complete list, with the list in the cache and before it reports ready', async () => {
    api.apply('serviceaccounts', serviceAccount('a', 'keep', { 'eks.amazonaws.com/role-arn': ROLE }));
    api.apply('serviceaccounts', serviceAccount('a', 'second'));
    api.apply('serviceaccounts', serviceAccount('a', 'third'));
    const seen: Array<{ size: number; ready: boolean }> = [];
    let pages = 0;
    const cluster = startSource({ listMemory: { afterPage: () => (pages += 1), afterList: () => seen.push({ size: cluster.size, ready: cluster.isReady() }) } });
    await cluster.waitForSync();
    assert.equal(pages, 2, 'three ServiceAccounts in pages of two');
    assert.deepEqual(seen, [{ size: 3, ready: false }]);
    await waitFor('a watch', () => api.activeWatches === 1);
    api.apply('serviceaccounts', serviceAccount('a', 'watched'));
    await waitFor('the watch event applied', () => cluster.size === 4);
    assert.deepEqual([seen.length, pages], [1, 2], 'a watch event is not a list');
    api.holdEvents();
    api.apply('serviceaccounts', serviceAccount('a', 'new'));
    api.compact();
    api.closeWatches();
    await waitFor('the relist after 410', () => seen.length === 2);
    assert.deepEqual(seen[1], { size: 5, ready: true });
    assert.equal(pages, 5, 'five ServiceAccounts in pages of two');
  });

  it('keeps reflecting when the memory hooks throw, and logs it', async () => {
    api.apply('serviceaccounts', serviceAccount('a', 'keep', { 'eks.amazonaws.com/role-arn': ROLE }));
    const cluster = startSource({
      listMemory: {
        afterPage: () => {
          throw new Error('page hook broke');
        },
        afterList: () => {
          throw new Error('hook broke');
        },
      },
    });
    await cluster.waitForSync();
    assert.equal(cluster.isReady(), true);
    assert.equal(cluster.size, 1);
    assert.deepEqual(logs.events('after-page-failed').map((entry) => entry.error), ['page hook broke']);
    assert.deepEqual(logs.events('after-list-failed').map((entry) => entry.error), ['hook broke']);
    await waitFor('a watch', () => api.activeWatches === 1);
    api.apply('serviceaccounts', serviceAccount('a', 'watched'));
    await waitFor('the watch event applied', () => cluster.size === 2);
  });

  it('restarts a paginated list whose continue token expired', async () => {
    for (let index = 0; index < 6; index += 1) api.apply('serviceaccounts', serviceAccount('ns', `sa${index}`));
    // The second page's request finds its continue token compacted away.
    let compacted = false;
    const original = api.requests.push.bind(api.requests);
    api.requests.push = (...records) => {
      for (const record of records) {
        if (!compacted && record.kind === 'list' && record.query.continue) {
          compacted = true;
          api.apply('serviceaccounts', serviceAccount('ns', 'late'));
          api.compact();
        }
      }
      return original(...records);
    };
    const cluster = startSource();
    await cluster.waitForSync();
    assert.equal(cluster.size, 7);
    assert.equal(await counterValue(metrics, 'pod_identity_webhook_relists_total', { reason: 'gone' }), 1);
  });

  it('keeps serving from the cache while the API server is away, then catches up when it returns', async () => {
    api.apply('serviceaccounts', serviceAccount('ns', 'old', { 'eks.amazonaws.com/role-arn': ROLE }));
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    await api.stop();
    // During the outage: cached ServiceAccounts still resolve; a miss fails with an error, not a hang.
    assert.equal((await cluster.lookup('ns', 'old')).status, 'found');
    const missing = await cluster.lookup('ns', 'unknown');
    assert.equal(missing.status, 'error');
    api.apply('serviceaccounts', serviceAccount('ns', 'made-during-outage', { 'eks.amazonaws.com/role-arn': ROLE }));
    await api.start();
    await waitFor('the cache catches up', async () => (await found(cluster.lookup('ns', 'made-during-outage'))) !== undefined && cluster.size === 2);
    assert.ok((await counterValue(metrics, 'pod_identity_webhook_watch_restarts_total', { reason: 'error' })) >= 1);
    assert.ok(cluster.isReady());
  });

  it('retries the watch after an API error', async () => {
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    api.failNext('watch', 500);
    api.closeWatches();
    await waitFor('a new watch', () => api.activeWatches === 1 && api.requests.filter((request) => request.kind === 'watch').length >= 3);
    api.apply('serviceaccounts', serviceAccount('ns', 'after', { 'eks.amazonaws.com/role-arn': ROLE }));
    await waitFor('events flow again', () => cluster.size === 1);
  });

  it('keeps a quiet watch open longer than client-node\'s 30 s inactivity timeout (the API server bookmarks once a minute)', async function () {
    this.timeout(60_000);
    await api.stop();
    api = new FakeApiServer(); // no timed bookmarks: the watch carries nothing until the next change
    await api.start();
    access = await accessFromKubeconfig(api.kubeconfig());
    const cluster = startSource();
    await cluster.waitForSync();
    await waitFor('a watch', () => api.activeWatches === 1);
    await sleep(32_000);
    api.apply('serviceaccounts', serviceAccount('quiet', 'app', { 'eks.amazonaws.com/role-arn': ROLE }));
    await waitFor('the event', () => cluster.size === 1);
    assert.deepEqual(logs.events('watch-failed'), []);
    assert.equal(api.requests.filter((request) => request.kind === 'watch').length, 1, 'the first watch was never restarted');
  });

  it('is not ready while the API refuses its credentials, and says why', async () => {
    const cluster = await accessFromKubeconfig(api.kubeconfig().replace(`token: ${api.token}`, 'token: wrong'));
    source = new ClusterServiceAccountSource({
      cluster,
      annotationPrefix: 'eks.amazonaws.com',
      logger: createLogger(logs.write),
      events: metrics.serviceAccounts,
      lookupTimeoutMs: 500,
      initialBackoffMs: 20,
      maxBackoffMs: 50,
    });
    source.start();
    await waitFor('a failed list logged', () => logs.events('list-failed').length >= 2);
    assert.equal(source.isReady(), false);
    assert.match(String(logs.events('list-failed')[0]?.error), /401|Unauthorized/);
  });

  it('retries a list that stalls, and stops promptly even while a list hangs', async () => {
    // A TLS server that accepts connections and never answers.
    const { createServer } = await import('node:tls');
    const { generateCertificates } = await import('../../src/shared/certs/generate.js');
    const certificates = generateCertificates({ service: 'kubernetes', namespace: 'default', hosts: ['127.0.0.1'] });
    const silent = createServer({ cert: certificates.cert, key: certificates.key }, () => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const cluster = await accessFromKubeconfig(
      api.kubeconfig().replace(api.url, `https://127.0.0.1:${port}`).replace(/certificate-authority-data: .*/, `certificate-authority-data: ${Buffer.from(certificates.caCert).toString('base64')}`),
    );
    source = new ClusterServiceAccountSource({
      cluster,
      annotationPrefix: 'eks.amazonaws.com',
      logger: createLogger(logs.write),
      events: metrics.serviceAccounts,
      lookupTimeoutMs: 200,
      listTimeoutMs: 200,
      initialBackoffMs: 20,
      maxBackoffMs: 50,
    });
    try {
      source.start();
      await waitFor('two timed-out lists', () => logs.events('list-failed').length >= 2, 5000);
      assert.equal(source.isReady(), false);
      const started = Date.now();
      await source.stop();
      assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`);
      source = undefined;
    } finally {
      silent.close();
    }
  });

  describe('role mapping ConfigMap', () => {
    const mappingConfig = (config: string): Record<string, unknown> => ({
      metadata: { name: 'roles', namespace: 'pod-identity-webhook' },
      data: { config },
    });

    it('maps ServiceAccounts without annotations, lets annotations win, honours * and reloads on change', async () => {
      api.apply('configmaps', mappingConfig('team/app:\n  role-arn: arn:aws:iam::111122223333:role/mapped\n  token-expiration: 3600\n"*/builder":\n  role-arn: arn:aws:iam::111122223333:role/builder\n'));
      api.apply('configmaps', { metadata: { name: 'unrelated', namespace: 'pod-identity-webhook' }, data: { config: 'x' } });
      api.apply('serviceaccounts', serviceAccount('team', 'app'));
      api.apply('serviceaccounts', serviceAccount('team', 'annotated', { 'eks.amazonaws.com/role-arn': ROLE }));
      api.apply('serviceaccounts', serviceAccount('any', 'builder'));
      const cluster = startSource({ roleMappingConfigMap: { namespace: 'pod-identity-webhook', name: 'roles' } });
      await cluster.waitForSync();
      assert.deepEqual(await found(cluster.lookup('team', 'app')), {
        'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/mapped',
        'eks.amazonaws.com/token-expiration': '3600',
      });
      assert.deepEqual(await found(cluster.lookup('any', 'builder')), { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/builder' });

      api.apply('configmaps', mappingConfig('team/annotated:\n  role-arn: arn:aws:iam::111122223333:role/ignored\n  audience: mapped-aud\n'));
      await waitFor('the mapping update', async () => (await found(cluster.lookup('team', 'app'))) !== undefined && Object.keys((await found(cluster.lookup('team', 'app')))!).length === 0);
      assert.deepEqual(await found(cluster.lookup('team', 'annotated')), { 'eks.amazonaws.com/role-arn': ROLE, 'eks.amazonaws.com/audience': 'mapped-aud' });
      const watch = api.requests.find((request) => request.kind === 'watch' && request.path.includes('configmaps'));
      assert.equal(watch?.query.fieldSelector, 'metadata.name=roles');
    });

    it('keeps the last good mapping when the ConfigMap becomes invalid', async () => {
      api.apply('configmaps', mappingConfig('team/app:\n  role-arn: arn:aws:iam::111122223333:role/mapped\n'));
      api.apply('serviceaccounts', serviceAccount('team', 'app'));
      const cluster = startSource({ roleMappingConfigMap: { namespace: 'pod-identity-webhook', name: 'roles' } });
      await cluster.waitForSync();
      await waitFor('a watch on the ConfigMap', () => api.activeWatches === 2);
      api.apply('configmaps', mappingConfig('team/app:\n  role-arm: typo\n'));
      await waitFor('the invalid update is reported', () => logs.events('role-mapping-invalid').length === 1);
      assert.match(String(logs.events('role-mapping-invalid')[0]?.error), /unknown setting "role-arm"/);
      assert.deepEqual(await found(cluster.lookup('team', 'app')), { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/mapped' });
      assert.equal(await counterValue(metrics, 'pod_identity_webhook_role_mapping_updates_total', { result: 'invalid' }), 1);
    });
  });
});
