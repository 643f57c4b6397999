import assert from 'node:assert/strict';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';

/** The value of one sample line of `name` with `labels` in Prometheus text, or undefined. */
async function sample(metrics: ReturnType<typeof createWebhookMetrics>, name: string, labels: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admission metrics', () => {
  it('counts every recorded admission and times the timed ones, as of each scrape', async () => {
    const metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    metrics.recordAdmission('mutated', 0.0003);
    metrics.recordAdmission('mutated', 0.002);
    metrics.recordAdmission('bad-request');
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_requests_total', 'decision="mutated"'), 2);
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_requests_total', 'decision="bad-request"'), 1);
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_duration_seconds_count', 'decision="mutated"'), 2);
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_duration_seconds_bucket', 'le="0.0005",decision="mutated"'), 1);
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_duration_seconds_sum', 'decision="mutated"'), 0.0023);
    // Untimed outcomes are counted but not observed.
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_duration_seconds_count', 'decision="bad-request"'), undefined);

    metrics.recordAdmission('mutated', 0.0001);
    assert.equal(await sample(metrics, 'pod_identity_webhook_admission_requests_total', 'decision="mutated"'), 3);
  });

  it('hands waiting outcomes to prom-client in bounded batches, without a scrape', async () => {
    const metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    for (let index = 0; index < 1024; index += 1) metrics.recordAdmission('unchanged', 0.001);
    // The counter read as it stands, its collect hook (the flush) shadowed: the batch went in on its own.
    const withoutFlush = Object.create(metrics.admissionRequests, { collect: { value: undefined } }) as typeof metrics.admissionRequests;
    const { values } = await withoutFlush.get();
    assert.deepEqual(values.map((value) => [value.labels.decision, value.value]), [['unchanged', 1024]]);
  });
});
