/**
 * The webhook in cluster mode, assembled from the same parts `serve --kubeconfig` uses (logger on
 * stdout, metrics, HTTPS listener, informer), plus an IPC probe the benchmark asks for memory and
 * lookup-latency figures. Run with --expose-gc so "retained heap" means after a full collection.
 *
 *   node --expose-gc dist/bench/servers/webhook-probe.js KUBECONFIG CERT KEY
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { loadClusterAccess } from '../../src/shared/k8s/kubeconfig.js';
import { createLogger } from '../../src/shared/log.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { startWebhook } from '../../src/webhook/server/webhook.js';
import { ClusterServiceAccountSource } from '../../src/webhook/serviceaccounts/cluster-source.js';
import { listMemoryHooks } from '../../src/webhook/serviceaccounts/list-memory.js';

const [kubeconfigPath, cert, key] = process.argv.slice(2);
if (!kubeconfigPath || !cert || !key || typeof globalThis.gc !== 'function' || !process.send) {
  process.stderr.write('usage: node --expose-gc webhook-probe.js KUBECONFIG CERT KEY (as an IPC child)\n');
  process.exit(2);
}
const gc = globalThis.gc;

const cluster = await loadClusterAccess(kubeconfigPath);
if (!cluster.ok) {
  process.stderr.write(`${cluster.error}\n`);
  process.exit(2);
}
const logger = createLogger();
const metrics = createWebhookMetrics(createRegistry());
const source = new ClusterServiceAccountSource({ cluster: cluster.value, annotationPrefix: DEFAULT_MUTATION_OPTIONS.annotationPrefix, logger, events: metrics.serviceAccounts, lookupTimeoutMs: 2000, listMemory: listMemoryHooks(logger) });
const started = performance.now();
source.start();
const webhook = await startWebhook({ bindAddress: '127.0.0.1', port: 0, metricsPort: 0, tlsCertPath: cert, tlsKeyPath: key, options: DEFAULT_MUTATION_OPTIONS, serviceAccounts: source, logger, metrics });
await source.waitForSync();
const syncMs = performance.now() - started;

/** Full collections, with turns of the event loop between them so weak callbacks and finalizers run. */
async function collect(): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function lookupLatency(samples: number): { p50: number; p99: number; max: number } | undefined {
  if (source.size === 0) return undefined;
  const count = source.size;
  const durations = new Float64Array(samples);
  for (let index = 0; index < samples; index += 1) {
    const n = Math.floor(Math.random() * count);
    const namespace = `team-${n % 500}`;
    const name = `service-${n}`;
    const begin = performance.now();
    const result = source.lookup(namespace, name);
    durations[index] = performance.now() - begin;
    if ((result as { status?: string }).status !== 'found') throw new Error(`lookup ${namespace}/${name} missed`);
  }
  durations.sort();
  return { p50: durations[Math.floor(samples * 0.5)]!, p99: durations[Math.floor(samples * 0.99)]!, max: durations[samples - 1]! };
}

process.on('message', async (message) => {
  if (message === 'rss') {
    // Cheap on purpose: measuring must not keep V8 from seeing the process as idle.
    process.send!({ rssBytes: process.memoryUsage.rss(), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
    return;
  }
  if (message !== 'measure') return;
  await collect();
  const memory = process.memoryUsage();
  const latency = lookupLatency(200_000);
  process.send!({
    syncMs,
    cached: source.size,
    rssBytes: memory.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    lookupMs: latency,
    port: webhook.port,
  });
});
process.send({ ready: true });
process.on('SIGTERM', () => void webhook.close().then(() => process.exit(0)));
