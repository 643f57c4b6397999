import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ROOT } from '../helpers/paths.js';
import { helmBinary, promtoolBinary } from './support/components.js';
import { runCommand } from './support/processes.js';
import { MANIFESTS, WEBHOOK_NAMESPACE } from './support/webhook.js';

const CHART = join(ROOT, 'charts', 'pod-identity-webhook');
const JOB = { job: 'pod-identity-webhook', namespace: WEBHOOK_NAMESPACE };

interface PrometheusRule {
  readonly kind: string;
  readonly spec: { readonly groups: unknown[] };
}

/** `{job="…",namespace="…",extra…}`: a series selector in promtool's input notation. */
function series(name: string, labels: Record<string, string> = {}): string {
  const all = { ...JOB, ...labels };
  return `${name}{${Object.entries(all).map(([key, value]) => `${key}="${value}"`).join(',')}}`;
}

/** One replica scraped: `up` and the webhook's readiness checks, each constant for 20 minutes. */
function replica(pod: string, checks: Record<string, 0 | 1>): Array<{ series: string; values: string }> {
  return [
      { series: series('up', { pod }), values: '1x20' },
      ...Object.entries(checks).map(([check, value]) => ({ series: series('pod_identity_webhook_ready', { pod, check }), values: `${value}x20` })),
  ];
}

const READY = { tls: 1, serviceAccounts: 1, caBundle: 1, shuttingDown: 1 } as const;
const NOT_READY = { alertname: 'PodIdentityWebhookNotReady' };

type Annotations = (alert: string) => Record<string, string>;

/** Each alert's annotations, as its rule in `groups` gives them (promtool compares them too). */
function annotationsIn(groups: unknown[]): Annotations {
  const rules = (groups as Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }>).flatMap((group) => group.rules);
  return (alert) => rules.find((rule) => rule.alert === alert)?.annotations ?? {};
}

/**
 * promtool unit tests of the alerts (evaluated every minute; the NotReady alert's `for` is 5m, so
 * at 4m it is pending, at 6m firing).
 */
function unitTests(annotations: Annotations): unknown[] {
  const alert = (name: string, labels: Record<string, string>): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } => ({ exp_labels: labels, exp_annotations: annotations(name) });
  const firing = (labels: Record<string, string>): ReturnType<typeof alert> => alert(NOT_READY.alertname, { severity: 'critical', ...labels });
  return [
    {
      name: 'no target scraped at all: NotReady fires (absent)',
      interval: '1m',
      input_series: [],
      alert_rule_test: [
        { eval_time: '4m', ...NOT_READY, exp_alerts: [] },
        { eval_time: '6m', ...NOT_READY, exp_alerts: [firing({})] },
      ],
    },
    {
      name: 'every target down (up 0): NotReady fires',
      interval: '1m',
      input_series: [
        { series: series('up', { pod: 'a' }), values: '0x20' },
        { series: series('up', { pod: 'b' }), values: '0x20' },
      ],
      alert_rule_test: [{ eval_time: '6m', ...NOT_READY, exp_alerts: [firing({})] }],
    },
    {
      name: 'a replica scraped (up 1) whose caBundle check fails: NotReady fires for it after 5m',
      interval: '1m',
      input_series: [...replica('a', { ...READY, caBundle: 0 }), ...replica('b', READY)],
      alert_rule_test: [
        { eval_time: '4m', ...NOT_READY, exp_alerts: [] },
        { eval_time: '6m', ...NOT_READY, exp_alerts: [firing({ ...JOB, pod: 'a' })] },
      ],
    },
    {
      name: 'a replica not ready for less than the for: no alert',
      interval: '1m',
      input_series: [
        { series: series('up', { pod: 'a' }), values: '1x20' },
        { series: series('pod_identity_webhook_ready', { pod: 'a', check: 'serviceAccounts' }), values: '0 0 0 1x17' },
      ],
      alert_rule_test: [{ eval_time: '10m', ...NOT_READY, exp_alerts: [] }],
    },
    {
      name: 'every replica ready: no alert',
      interval: '1m',
      input_series: [...replica('a', READY), ...replica('b', READY)],
      alert_rule_test: [
        { eval_time: '6m', ...NOT_READY, exp_alerts: [] },
        { eval_time: '15m', ...NOT_READY, exp_alerts: [] },
      ],
    },
    {
      name: 'a certificate expiring within 14 days fires after 15m; lookups failing fire after 5m',
      interval: '1m',
      input_series: [
        // Expires 10 days after the test's time 0.
        { series: series('pod_identity_webhook_certificate_expiry_timestamp_seconds', { pod: 'a' }), values: '864000x30' },
        { series: series('pod_identity_webhook_serviceaccount_lookup_errors_total', { pod: 'a' }), values: '0+3x30' },
      ],
      alert_rule_test: [
        { eval_time: '14m', alertname: 'PodIdentityWebhookCertificateExpiring', exp_alerts: [] },
        { eval_time: '16m', alertname: 'PodIdentityWebhookCertificateExpiring', exp_alerts: [alert('PodIdentityWebhookCertificateExpiring', { severity: 'warning' })] },
        { eval_time: '12m', alertname: 'PodIdentityWebhookLookupsFailing', exp_alerts: [alert('PodIdentityWebhookLookupsFailing', { severity: 'warning' })] },
      ],
    },
  ];
}

describe('the alerting rules of the chart and of manifests/, checked and unit-tested by the real promtool', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-promtool-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function chartRule(): Promise<PrometheusRule> {
    const result = await runCommand(helmBinary(), [
      'template', 'piw', CHART, '--namespace', WEBHOOK_NAMESPACE, '--set', 'prometheusRule.enabled=true',
      '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule', '--show-only', 'templates/prometheusrule.yaml',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const [rule] = parseAllDocuments(result.stdout).map((document) => document.toJS() as PrometheusRule);
    assert.equal(rule?.kind, 'PrometheusRule');
    return rule!;
  }

  function manifestsRule(): PrometheusRule {
    const rule = parse(readFileSync(join(MANIFESTS, 'optional', 'prometheus-rule.yaml'), 'utf8')) as PrometheusRule;
    assert.equal(rule.kind, 'PrometheusRule');
    return rule;
  }

  it('the chart (defaults) and manifests/optional/prometheus-rule.yaml hold the same rules', async () => {
    assert.deepEqual((await chartRule()).spec, manifestsRule().spec);
  });

  for (const [title, load] of [['the chart', chartRule], ['manifests/', async () => manifestsRule()]] as const) {
    it(`${title}: promtool check rules passes and promtool test rules proves when NotReady fires`, async () => {
      const name = title === 'the chart' ? 'chart' : 'manifests';
      const rules = join(dir, `${name}-rules.yaml`);
      const { groups } = (await load()).spec;
      writeFileSync(rules, stringify({ groups }));
      const promtool = promtoolBinary();
      const checked = await runCommand(promtool, ['check', 'rules', rules]);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      assert.match(checked.stdout, /SUCCESS: 3 rules found/);

      const tests = join(dir, `${name}-tests.yaml`);
      writeFileSync(tests, stringify({ rule_files: [rules], evaluation_interval: '1m', tests: unitTests(annotationsIn(groups)) }));
      const tested = await runCommand(promtool, ['test', 'rules', tests]);
      assert.equal(tested.code, 0, tested.stdout + tested.stderr);
      assert.match(tested.stdout, /SUCCESS/);
    });
  }
});
