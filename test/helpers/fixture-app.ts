import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { silentLogger } from '../../src/shared/log.js';
import { createApp } from '../../src/webhook/server/app.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import { StaticServiceAccountSource } from '../../src/webhook/serviceaccounts/static-source.js';
import { FIXTURES } from './paths.js';

/** The ServiceAccounts in test/fixtures/server/serviceaccounts.yaml, as local mode loads them. */
export async function fixtureServiceAccounts(): Promise<StaticServiceAccountSource> {
  const loaded = await StaticServiceAccountSource.load(join(FIXTURES, 'server', 'serviceaccounts.yaml'), 'eks.amazonaws.com');
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
  return loaded.value;
}

/** The admission app over the fixture ServiceAccounts with default options, no logs and no process metrics. */
export async function fixtureAdmissionApp(): Promise<RequestListener> {
  return createApp({
    decisions: { serviceAccounts: await fixtureServiceAccounts(), options: DEFAULT_MUTATION_OPTIONS },
    metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
    logger: silentLogger,
    readiness: () => ({ ready: true, checks: {} }),
  });
}
