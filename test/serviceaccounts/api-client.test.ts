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
