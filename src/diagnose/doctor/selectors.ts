import { isJsonObject } from '../../shared/json.js';
import type { Finding } from '../report.js';
import { namespaceLabels, type ParsedWebhook, selection, selectorProblems, unreadFinding } from './configuration.js';
import type { Fetched, ListResult } from './facts.js';
import { coded, noted, passed } from './findings.js';

/** Namespace name → its labels, from the namespace list. */
export function namespaceIndex(items: readonly unknown[]): Map<string, Readonly<Record<string, string>>> {
  const index = new Map<string, Readonly<Record<string, string>>>();
  for (const item of items) {
    const metadata = isJsonObject(item) && isJsonObject(item.metadata) ? item.metadata : undefined;
    if (typeof metadata?.name !== 'string') continue;
    const labels: Record<string, string> = {};
    if (isJsonObject(metadata.labels)) for (const [key, value] of Object.entries(metadata.labels)) if (typeof value === 'string') labels[key] = value;
    index.set(metadata.name, namespaceLabels(metadata.name, labels));
  }
  return index;
}

export interface SelectorsResult {
  readonly findings: Finding[];
  /** Labels to match namespaceSelectors against (what the API server would see). */
  readonly labelsOf: (namespace: string) => Readonly<Record<string, string>>;
}

/**
 * Check 1, continued: which namespaces the webhooks exclude, against the namespaces that have
 * ServiceAccounts with an identity; and, with failurePolicy Fail, whether the webhook's own
 * namespace is excluded (otherwise its own pods wait for it).
 */
export function checkSelectors(
  webhooks: readonly ParsedWebhook[],
  configurationName: string,
  namespaces: Fetched<ListResult>,
  identityNamespaces: ReadonlyMap<string, readonly string[]>,
  scope: string | undefined,
): SelectorsResult {
  const findings: Finding[] = selectorProblems(webhooks, configurationName);
  const unread = unreadFinding(namespaces, scope ? `namespace ${scope}` : 'the namespaces', undefined, 'webhook-selectors');
  if (unread) findings.push(unread);
  const index = namespaces.status === 'ok' ? namespaceIndex(namespaces.value.items) : new Map<string, Readonly<Record<string, string>>>();
  const labelsOf = (namespace: string): Readonly<Record<string, string>> => index.get(namespace) ?? namespaceLabels(namespace, undefined);
  const forPods = webhooks.filter((webhook) => webhook.podCreate);
  if (forPods.length === 0) return { findings, labelsOf };

  const excluded: Array<{ namespace: string; why: string; names: readonly string[] }> = [];
  for (const [namespace, names] of identityNamespaces) {
    const selected = selection(forPods, labelsOf(namespace), undefined);
    if (!selected.called) excluded.push({ namespace, why: selected.why, names });
  }
  const labelNote = unread ? ' (namespace labels unknown: matched on kubernetes.io/metadata.name only)' : '';
  if (excluded.length > 0 && excluded.length === identityNamespaces.size && scope === undefined) {
    const shownNamespaces = excluded.slice(0, 10).map((entry) => entry.namespace).join(', ');
    findings.push(
      coded(
        'NAMESPACE_SELECTOR_EXCLUDES_ALL',
        `mutatingwebhookconfiguration/${configurationName}`,
        `all ${excluded.length} namespace${excluded.length === 1 ? '' : 's'} with identity ServiceAccounts excluded (${shownNamespaces}${excluded.length > 10 ? ', ...' : ''}): ${excluded[0]!.why}${labelNote}`,
      ),
    );
  } else {
    for (const entry of excluded.slice(0, 100)) {
      findings.push(coded('NAMESPACE_EXCLUDED', `namespace/${entry.namespace}`, `ServiceAccounts ${entry.names.join(', ')} have an identity, but ${entry.why}${labelNote}`));
    }
    if (excluded.length > 100) findings.push(noted('webhook-selectors', undefined, `and ${excluded.length - 100} more excluded namespaces`));
  }
  if (excluded.length === 0) {
    findings.push(passed('webhook-selectors', undefined, `every namespace with identity ServiceAccounts (${identityNamespaces.size}) is selected by the namespaceSelector${labelNote}`));
  }

  for (const webhook of forPods) {
    if (webhook.failurePolicy !== 'Fail' || webhook.clientConfig.kind !== 'service') continue;
    const own = webhook.clientConfig.namespace;
    const selected = selection([webhook], labelsOf(own), undefined);
    if (selected.called) {
      findings.push(
        coded(
          'WEBHOOK_NAMESPACE_NOT_EXCLUDED',
          `webhook/${webhook.name}`,
          `failurePolicy Fail and the namespaceSelector selects the webhook's own namespace ${own}`,
          `exclude the webhook's namespace in the namespaceSelector (kubernetes.io/metadata.name NotIn [${own}])`,
        ),
      );
    }
  }
  return { findings, labelsOf };
}
