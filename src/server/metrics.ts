import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the webhook exports, on a registry of its own (so several servers can run in one process). */
export interface WebhookMetrics {
  readonly registry: Registry;
  /** Counts one answered AdmissionReview and, when it was timed, its duration. */
  recordAdmission(decision: string, seconds?: number): void;
  readonly admissionRequests: Counter<'decision'>;
  readonly admissionDuration: Histogram<'decision'>;
  readonly serviceAccountCacheMisses: Counter;
  readonly serviceAccountLookupErrors: Counter;
  readonly serviceAccountsCached: Gauge;
  readonly relists: Counter<'resource' | 'reason'>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  readonly certificateReloads: Counter<'result'>;
  readonly certificateExpiry: Gauge;
  readonly roleMappingUpdates: Counter<'result'>;
  readonly authentications: Counter<'result'>;
}

/**
 * The admission counter and histogram. Outcomes wait in two arrays (two writes per request) and go
 * into prom-client whenever either metric is read (its `collect` hook) or once 1,024 are waiting:
 * prom-client's labelled `inc` and `observe` validate and hash the labels on every call, a
 * measurable share of a small admission request (bench/README.md).
 */
function admissionMetrics(registers: Registry[]): {
  readonly requests: Counter<'decision'>;
  readonly duration: Histogram<'decision'>;
  readonly record: (decision: string, seconds?: number) => void;
} {
  let decisions: string[] = [];
  let durations: number[] = [];
  const counters = new Map<string, ReturnType<Counter<'decision'>['labels']>>();
  const histograms = new Map<string, ReturnType<Histogram<'decision'>['labels']>>();
  const flush = (): void => {
    const pending = decisions;
    const seconds = durations;
    decisions = [];
    durations = [];
    for (let index = 0; index < pending.length; index += 1) {
      const decision = pending[index]!;
      let counter = counters.get(decision);
      if (!counter) counters.set(decision, (counter = requests.labels(decision)));
      counter.inc();
      const elapsed = seconds[index]!;
      if (Number.isNaN(elapsed)) continue;
      let histogram = histograms.get(decision);
      if (!histogram) histograms.set(decision, (histogram = duration.labels(decision)));
      histogram.observe(elapsed);
    }
  };
  const requests = new Counter({
    name: 'pod_identity_webhook_admission_requests_total',
    help: 'AdmissionReview requests answered, by decision',
    labelNames: ['decision'],
    registers,
    collect: flush,
  });
  const duration = new Histogram({
    name: 'pod_identity_webhook_admission_duration_seconds',
    help: 'Time to answer an AdmissionReview, from its headers arriving to the answer being written',
    labelNames: ['decision'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers,
    collect: flush,
  });
  const record = (decision: string, seconds = Number.NaN): void => {
    decisions.push(decision);
    durations.push(seconds);
    if (decisions.length >= 1024) flush();
  };
  return { requests, duration, record };
}

export function createMetrics(options: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'pod_identity_webhook_' });
  const registers = [registry];
  const admission = admissionMetrics(registers);
  return {
    registry,
    recordAdmission: admission.record,
    admissionRequests: admission.requests,
    admissionDuration: admission.duration,
    serviceAccountCacheMisses: new Counter({
      name: 'pod_identity_webhook_serviceaccount_cache_misses_total',
      help: 'Lookups not answered by the ServiceAccount cache (a live GET followed)',
      registers,
    }),
    serviceAccountLookupErrors: new Counter({
      name: 'pod_identity_webhook_serviceaccount_lookup_errors_total',
      help: 'Live ServiceAccount GETs that failed or timed out',
      registers,
    }),
    serviceAccountsCached: new Gauge({
      name: 'pod_identity_webhook_serviceaccounts_cached',
      help: 'ServiceAccounts in the cache',
      registers,
    }),
    relists: new Counter({
      name: 'pod_identity_webhook_relists_total',
      help: 'Full lists of a watched resource, by reason (initial, gone, error)',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    watchRestarts: new Counter({
      name: 'pod_identity_webhook_watch_restarts_total',
      help: 'Watch connections re-established, by reason (closed, error)',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    certificateReloads: new Counter({
      name: 'pod_identity_webhook_certificate_reloads_total',
      help: 'Serving certificate reload attempts, by result',
      labelNames: ['result'],
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'pod_identity_webhook_certificate_expiry_timestamp_seconds',
      help: 'When the serving certificate in use expires (Unix time)',
      registers,
    }),
    authentications: new Counter({
      name: 'pod_identity_webhook_authentications_total',
      help: 'TokenReviews answered by the authenticator, by result (authenticated, rejected)',
      labelNames: ['result'],
      registers,
    }),
    roleMappingUpdates: new Counter({
      name: 'pod_identity_webhook_role_mapping_updates_total',
      help: 'Role mapping ConfigMap updates, by result',
      labelNames: ['result'],
      registers,
    }),
  };
}
