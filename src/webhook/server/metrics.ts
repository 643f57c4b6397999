import { Counter, Histogram, type Registry } from 'prom-client';
import { counter, gauge, METRIC_PREFIX, type ReadinessMetric, readinessGauge } from '../../shared/metrics.js';
import type { ServiceAccountSourceEvents } from '../serviceaccounts/source.js';
import type { PodIdentityEvents } from '../pod-identity/source.js';
import type { SelfManagedEvents } from '../certificates/self-managed.js';

/** The admission webhook's own metrics, on its registry (the HTTPS service adds the certificate metrics). */
export interface WebhookMetrics {
  readonly registry: Registry;
  /** Counts one answered AdmissionReview and, when it was timed, its duration. */
  recordAdmission(decision: string, seconds?: number): void;
  readonly admissionRequests: Counter<'decision'>;
  readonly admissionDuration: Histogram<'decision'>;
  /** What the ServiceAccount source reports, counted. */
  readonly serviceAccounts: ServiceAccountSourceEvents;
  /** What the Pod Identity (container credentials) source reports, counted. */
  readonly podIdentities: PodIdentityEvents;
  /** What the self-managed certificate reports, counted. */
  readonly selfManagedCertificates: SelfManagedEvents;
  /** `ready{check}`: the readiness checks of /readyz, 1 passing, 0 failing. */
  readonly readiness: ReadinessMetric;
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
    name: `${METRIC_PREFIX}admission_requests_total`,
    help: 'AdmissionReview requests answered, by decision',
    labelNames: ['decision'],
    registers,
    collect: flush,
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}admission_duration_seconds`,
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

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const admission = admissionMetrics([registry]);
  const cacheMisses = counter(registry, 'serviceaccount_cache_misses_total', 'Lookups not answered by the ServiceAccount cache (a live GET followed)');
  const lookupErrors = counter(registry, 'serviceaccount_lookup_errors_total', 'Live ServiceAccount GETs that failed or timed out');
  const cached = gauge(registry, 'serviceaccounts_cached', 'ServiceAccounts in the cache');
  const relists = counter(registry, 'relists_total', 'Full lists of a watched resource, by reason (initial, gone, error)', ['resource', 'reason']);
  const watchRestarts = counter(registry, 'watch_restarts_total', 'Watch connections re-established, by reason (closed, error)', ['resource', 'reason']);
  const roleMappingUpdates = counter(registry, 'role_mapping_updates_total', 'Role mapping ConfigMap updates, by result', ['result']);
  const podIdentityUpdates = counter(registry, 'container_credentials_updates_total', 'Reloads of the Pod Identity (container credentials) identities, by result', ['result']);
  const podIdentities = gauge(registry, 'container_credentials_identities', 'ServiceAccounts given EKS Pod Identity (the set in force)');
  const unusableCas = counter(registry, 'unusable_ca_replaced_total', 'CAs in the self-managed Secret the webhook could not sign with, replaced by a new CA, by reason', ['reason']);
  return {
    registry,
    recordAdmission: admission.record,
    admissionRequests: admission.requests,
    admissionDuration: admission.duration,
    serviceAccounts: {
      cacheMiss: () => cacheMisses.inc(),
      lookupFailed: () => lookupErrors.inc(),
      cached: (count) => cached.set(count),
      listed: (resource, reason) => relists.inc({ resource, reason }),
      watchRestarted: (resource, reason) => watchRestarts.inc({ resource, reason }),
      roleMappingUpdated: (result) => roleMappingUpdates.inc({ result }),
    },
    podIdentities: {
      updated: (result, identities) => {
        podIdentityUpdates.inc({ result });
        podIdentities.set(identities);
      },
    },
    selfManagedCertificates: { caReplaced: (reason) => unusableCas.inc({ reason }) },
    readiness: readinessGauge(registry, 'ready', 'Readiness checks of /readyz: 1 passing, 0 failing (shuttingDown: 0 while the replica drains)'),
  };
}
