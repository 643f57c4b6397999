import type { RequestListener } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** Every metric of the project's servers starts with this. */
export const METRIC_PREFIX = 'pod_identity_webhook_';

/**
 * A server's own registry (several servers can run in one process, as the tests run them), with
 * the Node.js process metrics unless turned off. Each server builds its metrics on one of these.
 */
export function createRegistry(options: { readonly processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/** A counter on `registry`; `name` without the prefix. */
export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [registry] });
}

/** A gauge on `registry`; `name` without the prefix. */
export function gauge(registry: Registry, name: string, help: string): Gauge {
  return new Gauge({ name: `${METRIC_PREFIX}${name}`, help, registers: [registry] });
}

/** Feeds a readiness gauge: the checks as they stand, `true` for each that passes. */
export interface ReadinessMetric {
  observe(checks: () => Readonly<Record<string, boolean>>): void;
}

/**
 * `<prefix><name>{check}`: 1 for each readiness check that passes, 0 for each that fails, read from
 * the observed checks whenever the metrics are read, so a scrape sees what /readyz answers at that
 * moment (a check that goes away goes from the metric too).
 */
export function readinessGauge(registry: Registry, name: string, help: string): ReadinessMetric {
  let checks: (() => Readonly<Record<string, boolean>>) | undefined;
  const ready: Gauge<'check'> = new Gauge({
    name: `${METRIC_PREFIX}${name}`,
    help,
    labelNames: ['check'],
    registers: [registry],
    collect: () => {
      ready.reset();
      for (const [check, passing] of Object.entries(checks?.() ?? {})) ready.set({ check }, passing ? 1 : 0);
    },
  });
  return {
    observe: (source) => {
      checks = source;
    },
  };
}

/** The plain-HTTP metrics listener's handler: `GET /metrics` in Prometheus text format, 404 otherwise. */
export function metricsListener(registry: Registry): RequestListener {
  return (req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
    );
  };
}
