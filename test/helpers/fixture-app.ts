import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/engine/defaults.js';
import { silentLogger } from '../../src/log.js';
import { createApp } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { StaticServiceAccountSource } from '../../src/serviceaccounts/static-source.js';
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
    metrics: createMetrics({ processMetrics: false }),
    logger: silentLogger,
    readiness: () => ({ ready: true, checks: {} }),
  });
}
