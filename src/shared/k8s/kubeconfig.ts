import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../log.js';
import type { Parsed } from '../result.js';

/** A kubeconfig file when given, otherwise the in-cluster service account (KUBERNETES_SERVICE_HOST). */
export function loadKubeConfig(path: string | undefined): Parsed<KubeConfig> {
  const kubeConfig = new KubeConfig();
  try {
    if (path) kubeConfig.loadFromFile(path);
    else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
    else return { ok: false, error: 'no ServiceAccount source: pass --service-accounts PATH (local mode) or --kubeconfig PATH, or run inside a cluster' };
  } catch (error) {
    // The YAML parser's message quotes the offending lines after the first: one line is kept.
    return { ok: false, error: `cannot load kubeconfig ${path ?? '(in-cluster)'}: ${errorMessage(error).split('\n')[0]}` };
  }
  if (!kubeConfig.getCurrentCluster()) return { ok: false, error: `kubeconfig ${path ?? '(in-cluster)'} has no current cluster` };
  return { ok: true, value: kubeConfig };
}
