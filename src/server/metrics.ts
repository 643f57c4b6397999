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
 * Admission outcomes wait here (two array writes per request) and go into the counter and the
 * histogram whenever either is read, or once 1,024 are waiting. prom-client's labelled `inc` and
 * `observe` validate and hash the labels on every call, a measurable share of a small admission
 * request (bench/README.md); handing them over in one loop costs a fraction of that.
 */
class AdmissionTally {
  private decisions: string[] = [];
  private durations: number[] = [];
  private readonly counters = new Map<string, ReturnType<Counter<'decision'>['labels']>>();
  private readonly histograms = new Map<string, ReturnType<Histogram<'decision'>['labels']>>();
  counter: Counter<'decision'> | undefined;
  histogram: Histogram<'decision'> | undefined;

  record(decision: string, seconds: number): void {
    this.decisions.push(decision);
    this.durations.push(seconds);
    if (this.decisions.length >= 1024) this.flush();
  }

  flush(): void {
    const { decisions, durations, counter, histogram } = this;
    if (decisions.length === 0 || !counter || !histogram) return;
    this.decisions = [];
    this.durations = [];
    for (let index = 0; index < decisions.length; index += 1) {
      const decision = decisions[index]!;
      let count = this.counters.get(decision);
      if (!count) this.counters.set(decision, (count = counter.labels(decision)));
      count.inc();
      const seconds = durations[index]!;
      if (Number.isNaN(seconds)) continue;
      let observe = this.histograms.get(decision);
      if (!observe) this.histograms.set(decision, (observe = histogram.labels(decision)));
      observe.observe(seconds);
    }
  }
}

export function createMetrics(options: { processMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'pod_identity_webhook_' });
  const registers = [registry];
  const tally = new AdmissionTally();
  tally.counter = new Counter({
    name: 'pod_identity_webhook_admission_requests_total',
    help: 'AdmissionReview requests answered, by decision',
    labelNames: ['decision'],
    registers,
    collect: () => tally.flush(),
  });
  tally.histogram = new Histogram({
    name: 'pod_identity_webhook_admission_duration_seconds',
    help: 'Time to answer an AdmissionReview, from its headers arriving to the answer being written',
    labelNames: ['decision'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers,
    collect: () => tally.flush(),
  });
  return {
    registry,
    recordAdmission: (decision, seconds = Number.NaN) => tally.record(decision, seconds),
    admissionRequests: tally.counter,
    admissionDuration: tally.histogram,
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
