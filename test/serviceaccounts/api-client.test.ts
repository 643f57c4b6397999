import assert from 'node:assert/strict';
import { ApiClient, ApiStatusError } from '../../src/shared/k8s/api-client.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import type { ClusterAccess } from '../../src/shared/k8s/request-auth.js';
import { accessFromKubeconfig } from '../helpers/cluster-access.js';

describe('API client: bounded answers', () => {
  let api: FakeApiServer;
  before(async () => {
    api = new FakeApiServer();
    await api.start();
    api.seed('serviceaccounts', Array.from({ length: 50 }, (_, index) => ({ metadata: { name: `sa-${index}`, namespace: 'default' } })));
  });
  after(async () => api.stop());

  it('refuses an answer larger than its limit instead of buffering it', async () => {
    const cluster = await accessFromKubeconfig(api.kubeconfig());
    const small = new ApiClient(cluster, { maxResponseBytes: 1024 });
    const large = new ApiClient(cluster);
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

/** A kubeconfig for a plain-HTTP server on loopback (the client speaks HTTP or HTTPS alike). */
function plainHttpKubeConfig(port: number): Promise<ClusterAccess> {
  return accessFromKubeconfig(
    JSON.stringify({
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
}

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
    const cluster = await plainHttpKubeConfig(port);
    const client = new ApiClient(cluster, { reusedConnectionPatienceMs: 200 });
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

describe('API client: watch streams are read event by event, each bounded', () => {
  async function withServer(handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void, run: (client: ApiClient) => Promise<void>): Promise<void> {
    const { createServer } = await import('node:http');
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const cluster = await plainHttpKubeConfig(port);
    const client = new ApiClient(cluster);
    try {
      await run(client);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  const event = (name: string): string => `${JSON.stringify({ type: 'ADDED', object: { metadata: { name } } })}\n`;

  it('delivers events split anywhere across chunks, then resolves when the server ends the stream', async () => {
    const text = event('a') + event('b') + event('c');
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // One byte at a time: every line is cut at every position.
        let index = 0;
        const next = (): void => {
          if (index >= text.length) return void res.end();
          res.write(text[index++]);
          setImmediate(next);
        };
        next();
      },
      async (client) => {
        const names: string[] = [];
        await client.watch('/api/v1/serviceaccounts?watch=1', AbortSignal.timeout(5000), (type, object) => names.push(`${type} ${(object as { metadata: { name: string } }).metadata.name}`));
        assert.deepEqual(names, ['ADDED a', 'ADDED b', 'ADDED c']);
      },
    );
  });

  it('ends with an error on an event larger than its limit, without buffering the rest', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(event('first'));
        res.write(`{"type":"ADDED","object":{"metadata":{"name":"${'x'.repeat(64 * 1024)}`);
        // Never ends the line: without the limit the client would wait and buffer forever.
      },
      async (client) => {
        const names: string[] = [];
        await assert.rejects(
          client.watch('/w', AbortSignal.timeout(5000), (_type, object) => names.push((object as { metadata: { name: string } }).metadata.name), 16 * 1024),
          /an event larger than 16384 bytes/,
        );
        assert.deepEqual(names, ['first']);
      },
    );
  });

  it('a non-200 answer is an ApiStatusError with its code (410: the resource version expired); a line that is not JSON is an error', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/gone') {
          res.writeHead(410, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', code: 410, message: 'too old resource version: 1 (42)' }));
          return;
        }
        res.writeHead(200);
        res.end('not json\n');
      },
      async (client) => {
        await assert.rejects(client.watch('/gone', AbortSignal.timeout(5000), () => undefined), (error: unknown) => error instanceof ApiStatusError && error.code === 410 && /too old resource version/.test(error.message));
        await assert.rejects(client.watch('/junk', AbortSignal.timeout(5000), () => undefined), /an event that is not JSON/);
      },
    );
  });
});
