import { InvalidArgumentError, Option, type OptionValues } from 'commander';
import type { LoadedCluster } from '../shared/k8s/kubeconfig.js';
import { hasUnprintable } from '../shared/text.js';
import { flagValue } from './flags.js';
import { UsageError } from './usage-error.js';

/** A kubeconfig context name: kubectl allows any text (EKS names them by ARN); bounded, printable. */
function parseContextName(raw: string): string {
  if (raw === '' || raw.length > 1024 || hasUnprintable(raw)) throw new InvalidArgumentError('a context name is 1 to 1024 printable characters');
  return raw;
}

/** kubectl's --context: the same flag on every command that reads a kubeconfig. */
export function contextOption(): Option {
  return new Option('--context <name>', 'the kubeconfig context to use instead of its current-context').argParser(parseContextName);
}

export interface ClusterRequest {
  /** Fall back to the in-cluster config when no kubeconfig is found (serve, doctor). */
  readonly inCluster: boolean;
}

/** Whether the user named a kubeconfig or a context on the command line. */
export function clusterFlagsGiven(values: OptionValues): boolean {
  return values.kubeconfig !== undefined || values.context !== undefined;
}

/**
 * The cluster as kubectl finds it from --kubeconfig and --context (then $KUBECONFIG,
 * ~/.kube/config, the in-cluster config: kubeconfig-files.ts). `missing` says what was searched
 * when nothing is found; any other problem is a UsageError. @kubernetes/client-node loads here.
 */
export async function findCluster(values: OptionValues, request: ClusterRequest): Promise<{ readonly found: LoadedCluster } | { readonly missing: string }> {
  const { loadCluster } = await import('../shared/k8s/kubeconfig.js');
  const context = flagValue.typed(values, 'context', flagValue.isOptionalString);
  const loaded = await loadCluster(flagValue.typed(values, 'kubeconfig', flagValue.isOptionalString), { context, inCluster: request.inCluster });
  if (!loaded.ok && (loaded.code === 'ERR_NOT_IN_CLUSTER' || loaded.code === 'ERR_NO_KUBECONFIG')) return { missing: loaded.error };
  if (!loaded.ok) throw new UsageError(loaded.error);
  return { found: loaded.value };
}
