import { stringify } from 'yaml';
import { mutatePod } from './engine/mutate.js';
import type { MutationOptions, MutationResult, PodView, ServiceAccountView } from './engine/types.js';
import { applyPatch } from './apply-patch.js';
import type { ManifestDocument } from '../shared/k8s/manifests.js';
import { readPod, readServiceAccount } from './read-objects.js';
import type { Parsed } from '../shared/result.js';

export type RenderOutput = 'patch' | 'pod';

export interface SelectedPod {
  readonly object: Record<string, unknown>;
  readonly view: PodView;
}

/** The single Pod in a file's documents. */
export function selectPod(documents: readonly ManifestDocument[], source: string): Parsed<SelectedPod> {
  if (documents.length === 0) return { ok: false, error: `${source}: holds no document` };
  const other = documents.find((document) => document.kind !== 'Pod');
  if (other) return { ok: false, error: `${source}: expected a Pod, found ${other.kind ? `kind ${other.kind}` : 'a document without kind'}` };
  if (documents.length > 1) return { ok: false, error: `${source}: holds ${documents.length} Pods; render takes one` };
  const object = documents[0]!.object;
  const view = readPod(object);
  if (!view.ok) return { ok: false, error: `${source}: ${view.error}` };
  return { ok: true, value: { object, view: view.value } };
}

/** The ServiceAccount a pod runs as, among a file's documents (all of which must be ServiceAccounts). */
export function selectServiceAccount(
  documents: readonly ManifestDocument[],
  source: string,
  namespace: string,
  name: string,
): Parsed<ServiceAccountView> {
  const accounts: ServiceAccountView[] = [];
  for (const document of documents) {
    if (document.kind !== 'ServiceAccount') {
      return {
        ok: false,
        error: `${source}: expected ServiceAccounts, found ${document.kind ? `kind ${document.kind}` : 'a document without kind'}`,
      };
    }
    const account = readServiceAccount(document.object);
    if (!account.ok) return { ok: false, error: `${source}: ${account.error}` };
    accounts.push(account.value);
  }
  const match = accounts.find((account) => account.namespace === namespace && account.name === name);
  if (!match) return { ok: false, error: `${source}: no ServiceAccount ${namespace}/${name} (the pod's service account)` };
  return { ok: true, value: match };
}

export interface Rendered extends MutationResult {
  readonly text: string;
}

/** Mutates the pod and formats the result as the patch (JSON) or the patched pod (YAML). */
export function render(
  pod: SelectedPod,
  serviceAccount: ServiceAccountView,
  options: MutationOptions,
  output: RenderOutput,
  expirationJitter = 0,
): Rendered {
  const result = mutatePod(pod.view, serviceAccount, options, expirationJitter);
  const text =
    output === 'patch'
      ? `${JSON.stringify(result.patch, null, 2)}\n`
      : stringify(applyPatch(pod.object, result.patch), { lineWidth: 0 });
  return { ...result, text };
}
