import { isJsonObject } from '../../shared/json.js';
import type { Parsed } from '../../shared/result.js';
import { parseJsonText } from '../../shared/yaml.js';

/**
 * The ServiceAccounts the webhook gives EKS Pod Identity to: the Go webhook's identities file,
 * `{"identities":[{"namespace":"NS","serviceAccount":"NAME"}]}`. It names no role: the association
 * of a ServiceAccount with a role lives behind EKS Auth, on the agent's side.
 */
export type PodIdentities = ReadonlySet<string>;

export const NO_POD_IDENTITIES: PodIdentities = new Set();

export function podIdentityKey(namespace: string, serviceAccount: string): string {
  return `${namespace}/${serviceAccount}`;
}

/** At most this many identities are read (EKS allows 5,000 associations per cluster). */
export const MAX_IDENTITIES = 100_000;

/**
 * Parses the identities file. Empty text (or only white space) is the empty set, as the Go webhook
 * treats an empty file; keys other than `identities`, `namespace` and `serviceAccount` are ignored,
 * as Go's encoding/json ignores them. Anything else malformed is an error naming where.
 */
export function parsePodIdentities(text: string, source: string): Parsed<PodIdentities> {
  if (text.trim() === '') return { ok: true, value: NO_POD_IDENTITIES };
  const parsed = parseJsonText(text, source);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  if (!isJsonObject(document)) return { ok: false, error: `${source}: must be a JSON object {"identities": [...]}` };
  const list = document.identities;
  if (list === undefined || list === null) return { ok: true, value: NO_POD_IDENTITIES };
  if (!Array.isArray(list)) return { ok: false, error: `${source}: identities must be a list` };
  if (list.length > MAX_IDENTITIES) return { ok: false, error: `${source}: more than ${MAX_IDENTITIES} identities` };
  const identities = new Set<string>();
  for (const [index, entry] of list.entries()) {
    const where = `${source}: identities[${index}]`;
    if (!isJsonObject(entry)) return { ok: false, error: `${where} must be an object with namespace and serviceAccount` };
    const { namespace, serviceAccount } = entry;
    if (typeof namespace !== 'string' || namespace === '') return { ok: false, error: `${where}.namespace must be a non-empty string` };
    if (typeof serviceAccount !== 'string' || serviceAccount === '') return { ok: false, error: `${where}.serviceAccount must be a non-empty string` };
    identities.add(podIdentityKey(namespace, serviceAccount));
  }
  return { ok: true, value: identities };
}

/** The identities file's text for a list of ServiceAccounts (what `pod-identity-config` writes). */
export function formatPodIdentities(entries: ReadonlyArray<{ readonly namespace: string; readonly serviceAccount: string }>): string {
  const seen = new Set<string>();
  const identities = entries.filter((entry) => {
    const key = podIdentityKey(entry.namespace, entry.serviceAccount);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return `${JSON.stringify({ identities: identities.map(({ namespace, serviceAccount }) => ({ namespace, serviceAccount })) }, null, 2)}\n`;
}
