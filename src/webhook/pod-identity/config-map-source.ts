import { ApiClient } from '../../shared/k8s/api-client.js';
import type { ClusterAccess } from '../../shared/k8s/request-auth.js';
import { isJsonObject } from '../../shared/json.js';
import type { Logger } from '../../shared/log.js';
import type { ServiceAccountSourceEvents } from '../serviceaccounts/source.js';
import { Reflector } from '../serviceaccounts/reflector.js';
import { NO_POD_IDENTITIES, type PodIdentities, parsePodIdentities } from './identities.js';
import type { PodIdentityEvents, PodIdentitySource } from './source.js';

/** The ConfigMap data key holding the identities JSON (as the role-mapping ConfigMap's `config`). */
export const POD_IDENTITIES_KEY = 'config';

export interface ConfigMapSourceConfig {
  readonly cluster: ClusterAccess;
  readonly namespace: string;
  readonly name: string;
  readonly logger: Logger;
  readonly events: PodIdentityEvents;
  /** The relist and watch-restart counters the reflector reports to. */
  readonly reflectorEvents: Pick<ServiceAccountSourceEvents, 'listed' | 'watchRestarted'>;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly watchTimeoutSeconds?: readonly [number, number];
  readonly listTimeoutMs?: number;
}

/**
 * Cluster mode: the identities from one ConfigMap's `config` key, watched with a reflector like the
 * role-mapping ConfigMap. A deleted ConfigMap or an empty key is the empty set; an update that is
 * not valid identities JSON keeps the last good set (logged and counted).
 */
export class ConfigMapPodIdentities implements PodIdentitySource {
  private identities: PodIdentities = NO_POD_IDENTITIES;
  private readonly reflector: Reflector<string | undefined>;
  private readonly api: ApiClient;

  constructor(private readonly config: ConfigMapSourceConfig) {
    this.api = new ApiClient(config.cluster);
    const path = `/api/v1/namespaces/${encodeURIComponent(config.namespace)}/configmaps`;
    const fieldSelector = `metadata.name=${config.name}`;
    this.reflector = new Reflector<string | undefined>({
      name: `configmap ${config.namespace}/${config.name}`,
      api: this.api,
      logger: config.logger,
      events: config.reflectorEvents,
      initialBackoffMs: config.initialBackoffMs,
      maxBackoffMs: config.maxBackoffMs,
      watchTimeoutSeconds: config.watchTimeoutSeconds,
      listPage: (continueToken, limit, stop) =>
        this.api.listPage(path, { limit, continueToken, fieldSelector }, AbortSignal.any([stop, AbortSignal.timeout(this.config.listTimeoutMs ?? 60_000)])),
      watchPath: path,
      watchQuery: { fieldSelector },
      // A ConfigMap without the key reads as an empty string: the empty set.
      transform: (object) => {
        const data = isJsonObject(object) && isJsonObject(object.data) ? object.data : {};
        const text = data[POD_IDENTITIES_KEY];
        return typeof text === 'string' ? text : '';
      },
      replace: (items) => this.update(items[0]),
      upsert: (item) => this.update(item),
      remove: () => this.update(undefined),
    });
  }

  private update(text: string | undefined): void {
    const { namespace, name, logger, events } = this.config;
    const parsed = parsePodIdentities(text ?? '', `configmap ${namespace}/${name} data.${POD_IDENTITIES_KEY}`);
    if (!parsed.ok) {
      events.updated('invalid', this.identities.size);
      logger.error('pod-identities-invalid', { configMap: `${namespace}/${name}`, error: parsed.error, kept: this.identities.size });
      return;
    }
    this.identities = parsed.value;
    events.updated('success', this.identities.size);
    logger.info('pod-identities-updated', { configMap: `${namespace}/${name}`, identities: this.identities.size, ...(text === undefined ? { note: 'the ConfigMap does not exist' } : {}) });
  }

  start(): void {
    this.reflector.start();
  }

  waitForSync(): Promise<void> {
    return this.reflector.waitForSync();
  }

  current(): PodIdentities {
    return this.identities;
  }

  isReady(): boolean {
    return this.reflector.hasSynced;
  }

  describe(): string {
    return `${this.identities.size} Pod Identity ServiceAccounts from configmap ${this.config.namespace}/${this.config.name}`;
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
    this.api.close();
  }
}
