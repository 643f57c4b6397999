import type { Parsed } from '../result.js';
import { type KubeconfigOrigin, type KubeconfigReadOptions, readKubeconfig } from './kubeconfig-files.js';
import { type ClusterAccess, clusterAccess } from './request-auth.js';

export interface KubeConfigOptions extends KubeconfigReadOptions {
  /** How long a token read from a file is used before the file is read again (default: a minute, as client-go). */
  readonly tokenMaxAgeMs?: number;
}

/** Where the cluster access came from, for doctor's report and debug logs. */
export interface KubeconfigSource {
  readonly origin: KubeconfigOrigin;
  readonly files: readonly string[];
  readonly context: string;
  /** One line: `kubeconfig /a:/b ($KUBECONFIG), context "dev"`, or `in-cluster config`. */
  readonly description: string;
}

export interface LoadedCluster {
  readonly access: ClusterAccess;
  readonly source: KubeconfigSource;
}

/**
 * The kubeconfig kubectl would use (readKubeconfig: --kubeconfig, $KUBECONFIG, ~/.kube/config, the
 * in-cluster config), as the access its requests need (request-auth.ts). The files and every file
 * they name are read through the bounded reader (kubeconfig-files.ts); no client library opens a
 * file itself (client-node's loadFromFile and its requests read them synchronously, without
 * bounds: a FIFO stopped the process). Exec plugins are run by client-node's ExecAuth, as kubectl
 * runs them.
 */
export async function loadCluster(path: string | undefined, options: KubeConfigOptions = {}): Promise<Parsed<LoadedCluster>> {
  const resolved = await readKubeconfig(path, options);
  if (!resolved.ok) return resolved;
  const { source, config, tokenFiles, origin, files, context } = resolved.value;
  const access = await clusterAccess(config, { tokenFiles, tokenMaxAgeMs: options.tokenMaxAgeMs });
  if (!access.ok) return { ok: false, error: `cannot load ${source}: ${access.error}` };
  const description = origin === 'in-cluster' ? source : `${source} (${origin}), context "${context}"`;
  return { ok: true, value: { access: access.value, source: { origin, files, context, description } } };
}

/** loadCluster's access alone. */
export async function loadClusterAccess(path: string | undefined, options: KubeConfigOptions = {}): Promise<Parsed<ClusterAccess>> {
  const loaded = await loadCluster(path, options);
  return loaded.ok ? { ok: true, value: loaded.value.access } : loaded;
}
