import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../log.js';
import type { Parsed } from '../result.js';
import { type KubeconfigOrigin, type KubeconfigReadOptions, readKubeconfig } from './kubeconfig-files.js';
import { TokenFileAuthenticator } from './token-file-auth.js';

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
  readonly kubeConfig: KubeConfig;
  readonly source: KubeconfigSource;
}

/**
 * The kubeconfig kubectl would use (readKubeconfig: --kubeconfig, $KUBECONFIG, ~/.kube/config, the
 * in-cluster config), as a client-node KubeConfig. The files and every file they name are read
 * through the bounded reader (kubeconfig-files.ts); client-node is handed inline data and never
 * opens a file itself (its loadFromFile and its requests read them synchronously, without bounds: a
 * FIFO stopped the process). Exec plugins are still run by client-node, as kubectl runs them.
 */
export async function loadCluster(path: string | undefined, options: KubeConfigOptions = {}): Promise<Parsed<LoadedCluster>> {
  const resolved = await readKubeconfig(path, options);
  if (!resolved.ok) return resolved;
  const { source, config, tokenFiles, origin, files, context } = resolved.value;
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(JSON.stringify(config));
  } catch (error) {
    return { ok: false, error: `cannot load ${source}: ${errorMessage(error).split('\n')[0]}` };
  }
  kubeConfig.addAuthenticator(new TokenFileAuthenticator(tokenFiles, options.tokenMaxAgeMs));
  if (!kubeConfig.getCurrentCluster()) return { ok: false, error: `${source} has no current cluster` };
  const description = origin === 'in-cluster' ? source : `${source} (${origin}), context "${context}"`;
  return { ok: true, value: { kubeConfig, source: { origin, files, context, description } } };
}

/** loadCluster's KubeConfig alone. */
export async function loadKubeConfig(path: string | undefined, options: KubeConfigOptions = {}): Promise<Parsed<KubeConfig>> {
  const loaded = await loadCluster(path, options);
  return loaded.ok ? { ok: true, value: loaded.value.kubeConfig } : loaded;
}
