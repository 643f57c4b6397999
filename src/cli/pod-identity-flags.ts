import type { OptionValues } from 'commander';
import type { ClusterAccess } from '../shared/k8s/request-auth.js';
import type { Logger } from '../shared/log.js';
import type { WebhookMetrics } from '../webhook/server/metrics.js';
import type { PodIdentitySource } from '../webhook/pod-identity/source.js';
import { flagValue } from './flags.js';
import { UsageError } from './usage-error.js';

const { typed, isOptionalString } = flagValue;

/**
 * The Pod Identity source `serve` was given: the watched identities file, or (cluster mode) the
 * watched ConfigMap; undefined when neither flag is set (Pod Identity mode off).
 */
export async function podIdentitySource(values: OptionValues, logger: Logger, metrics: WebhookMetrics, cluster: ClusterAccess | undefined): Promise<PodIdentitySource | undefined> {
  const file = typed(values, 'watchContainerCredentialsConfig', isOptionalString);
  const configMap = typed(values, 'watchContainerCredentialsConfigMap', isOptionalString);
  if (file !== undefined && configMap !== undefined) {
    throw new UsageError('--watch-container-credentials-config and --watch-container-credentials-config-map exclude each other');
  }
  if (file !== undefined) {
    const { watchPodIdentitiesFile } = await import('../webhook/pod-identity/file-source.js');
    const source = await watchPodIdentitiesFile(file, { logger, events: metrics.podIdentities });
    if (!source.ok) throw new UsageError(source.error);
    return source.value;
  }
  if (configMap === undefined) return undefined;
  if (cluster === undefined) {
    throw new UsageError('--watch-container-credentials-config-map needs cluster mode (--kubeconfig or in-cluster), not --service-accounts');
  }
  const { ConfigMapPodIdentities } = await import('../webhook/pod-identity/config-map-source.js');
  const [namespace = '', name = ''] = configMap.split('/');
  const source = new ConfigMapPodIdentities({
    cluster,
    namespace,
    name,
    logger,
    events: metrics.podIdentities,
    reflectorEvents: metrics.serviceAccounts,
  });
  source.start();
  return source;
}
