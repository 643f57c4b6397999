import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../log.js';
import type { Parsed } from '../result.js';
import { type KubeconfigReadOptions, readKubeconfig } from './kubeconfig-files.js';
import { TokenFileAuthenticator } from './token-file-auth.js';

export interface KubeConfigOptions extends KubeconfigReadOptions {
  /** How long a token read from a file is used before the file is read again (default: a minute, as client-go). */
  readonly tokenMaxAgeMs?: number;
}

/**
 * A kubeconfig file when given, otherwise the in-cluster config (KUBERNETES_SERVICE_HOST), as a
 * client-node KubeConfig. The file and every file it names are read through the bounded reader
 * (kubeconfig-files.ts); client-node is handed inline data and never opens a file itself (its
 * loadFromFile and its requests read them synchronously, without bounds: a FIFO stopped the
 * process). Exec plugins are still run by client-node, as kubectl runs them.
 */
export async function loadKubeConfig(path: string | undefined, options: KubeConfigOptions = {}): Promise<Parsed<KubeConfig>> {
  const resolved = await readKubeconfig(path, options);
  if (!resolved.ok) return resolved;
  const { source, config, tokenFiles } = resolved.value;
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(JSON.stringify(config));
  } catch (error) {
    return { ok: false, error: `cannot load ${source}: ${errorMessage(error).split('\n')[0]}` };
  }
  kubeConfig.addAuthenticator(new TokenFileAuthenticator(tokenFiles, options.tokenMaxAgeMs));
  if (!kubeConfig.getCurrentCluster()) return { ok: false, error: `${source} has no current cluster` };
  return { ok: true, value: kubeConfig };
}
