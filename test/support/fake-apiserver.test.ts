import assert from 'node:assert/strict';
import { request } from 'node:https';
import { FakeApiServer } from './fake-apiserver.js';

/** GETs `path` and returns the status and the JSON lines of the body read until `lines` arrived (or the end). */
function get(api: FakeApiServer, path: string, lines = Infinity): Promise<{ status: number; lines: Array<Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { ca: api.caCert, headers: { authorization: `Bearer ${api.token}` }, timeout: 5000 }, (res) => {
      let text = '';
      const parsed = () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (parsed().length >= lines) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, lines: parsed() });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, lines: parsed() }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('fake API server: what the benchmark asks of it', () => {
  let api: FakeApiServer;
  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    api.seed('serviceaccounts', [1, 2, 3].map((index) => ({ metadata: { name: `sa-${index}`, namespace: 'default' } })));
  });
  afterEach(async () => api.stop());

  it('a watch with sendInitialEvents=true (client-go watch-list) starts with every object, then the bookmark that ends them', async () => {
    const { status, lines } = await get(api, '/api/v1/serviceaccounts?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', 4);
    assert.equal(status, 200);
    assert.deepEqual(lines.slice(0, 3).map((line) => [line.type, (line.object as { metadata: { name: string } }).metadata.name]), [['ADDED', 'sa-1'], ['ADDED', 'sa-2'], ['ADDED', 'sa-3']]);
    const end = lines[3] as { type: string; object: { metadata: { resourceVersion: string; annotations: Record<string, string> } } };
    assert.equal(end.type, 'BOOKMARK');
    assert.equal(end.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
    assert.equal(end.object.metadata.resourceVersion, api.currentResourceVersion);
  });

  it('hideFromGets: single GETs answer 404 while lists still hold the object', async () => {
    api.hideFromGets();
    const single = await get(api, '/api/v1/namespaces/default/serviceaccounts/sa-1');
    assert.equal(single.status, 404);
    const list = await get(api, '/api/v1/serviceaccounts');
    assert.equal((list.lines[0]!.items as unknown[]).length, 3);
  });
});
