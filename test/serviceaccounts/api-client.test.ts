import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { ApiClient, ApiStatusError } from '../../src/shared/k8s/api-client.js';
import { FakeApiServer } from '../support/fake-apiserver.js';

describe('API client: bounded answers', () => {
  let api: FakeApiServer;
  before(async () => {
    api = new FakeApiServer();
    await api.start();
    api.seed('serviceaccounts', Array.from({ length: 50 }, (_, index) => ({ metadata: { name: `sa-${index}`, namespace: 'default' } })));
  });
  after(async () => api.stop());

  it('refuses an answer larger than its limit instead of buffering it', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const small = new ApiClient(kubeConfig, { maxResponseBytes: 1024 });
    const large = new ApiClient(kubeConfig);
    try {
      await assert.rejects(small.getJson('/api/v1/serviceaccounts', AbortSignal.timeout(5000)), (error: unknown) => error instanceof ApiStatusError && /larger than 1024 bytes/.test(error.message));
      const list = (await large.getJson('/api/v1/serviceaccounts', AbortSignal.timeout(5000))) as { items: unknown[] };
      assert.equal(list.items.length, 50);
    } finally {
      small.close();
      large.close();
    }
  });
});

describe('API client: a kept-alive connection that stopped answering', () => {
  it('resends a GET on a new connection when the reused one has not answered within its patience', async () => {
    // Answers the first request of each connection; every later request on it hangs, as behind a
    // middlebox that dropped the idle connection without a reset.
    const { createServer } = await import('node:http');
    const requestsPerSocket = new Map<unknown, number>();
    const server = createServer((req, res) => {
      const count = (requestsPerSocket.get(req.socket) ?? 0) + 1;
      requestsPerSocket.set(req.socket, count);
      if (count > 1) return;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ metadata: { name: 'app', namespace: 'default' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const client = new ApiClient(kubeConfig, { reusedConnectionPatienceMs: 200 });
    try {
      await client.getJson('/api/v1/namespaces/default/serviceaccounts/app', AbortSignal.timeout(2000));
      const started = Date.now();
      const again = (await client.getJson('/api/v1/namespaces/default/serviceaccounts/app', AbortSignal.timeout(2000))) as { metadata: { name: string } };
      const elapsed = Date.now() - started;
      assert.equal(again.metadata.name, 'app');
      assert.equal(requestsPerSocket.size, 2, 'the second GET went out on the kept-alive connection, then on a new one');
      assert.deepEqual([...requestsPerSocket.values()], [2, 1]);
      assert.ok(elapsed >= 200 && elapsed < 1500, `answered after the patience, within the budget: ${elapsed} ms`);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
