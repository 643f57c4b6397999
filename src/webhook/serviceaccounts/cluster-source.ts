import type { ServiceAccountView } from '../engine/types.js';
import { ApiClient, ApiStatusError, type ListQuery } from '../../shared/k8s/api-client.js';
import type { ClusterAccess } from '../../shared/k8s/request-auth.js';
import { isJsonObject } from '../../shared/json.js';
import { errorMessage, type Logger } from '../../shared/log.js';
import { type ListPage, Reflector } from './reflector.js';
import { applyRoleMapping, parseRoleMapping, type RoleMapping } from './role-mapping.js';
import { compactServiceAccount, serviceAccountKey, type ServiceAccountLookup, type ServiceAccountSource, type ServiceAccountSourceEvents } from './source.js';

export interface ClusterSourceConfig {
  readonly cluster: ClusterAccess;
  readonly annotationPrefix: string;
  readonly logger: Logger;
  readonly events: ServiceAccountSourceEvents;
  /** Budget for the live GET made on a cache miss. */
  readonly lookupTimeoutMs: number;
  /** Budget for one page of a list (default 60 s); a list that stalls is retried. */
  readonly listTimeoutMs?: number;
  /** Optional ConfigMap mapping ServiceAccounts to role settings. */
  readonly roleMappingConfigMap?: { readonly namespace: string; readonly name: string };
  readonly pageSize?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** What serve does about memory while it lists every ServiceAccount (src/shared/v8-memory.ts). */
  readonly listMemory?: ListMemoryHooks;
}

/** Hooks around the list of every ServiceAccount, the one large allocation of the process. */
export interface ListMemoryHooks {
  /** After each page. */
  readonly afterPage: () => void;
  /** After the whole list is in the cache, before the source reports itself ready. */
  readonly afterList: () => void;
}

/** What the reflector hands over for one ServiceAccount: its cache key and the annotations kept. */
interface CacheEntry {
  readonly key: string;
  readonly annotations: Readonly<Record<string, string>>;
}

interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly annotations: Record<string, unknown> | undefined;
}

function objectMeta(object: unknown): ObjectMeta | undefined {
  if (!isJsonObject(object) || !isJsonObject(object.metadata)) return undefined;
  const { name, namespace, annotations } = object.metadata;
  if (typeof name !== 'string' || typeof namespace !== 'string') return undefined;
  return { name, namespace, annotations: isJsonObject(annotations) ? annotations : undefined };
}

/** The ServiceAccounts the informer keeps share one empty annotations object when they carry none of ours. */
const NO_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Cluster mode: an informer over every ServiceAccount (compacted to what the webhook reads), a live
 * GET on cache misses, and optionally a ConfigMap of role settings merged under the annotations.
 */
export class ClusterServiceAccountSource implements ServiceAccountSource {
  /**
   * `namespace/name` → the annotations under the prefix, and nothing else: name and namespace are
   * the lookup's own arguments, so a view is built per lookup instead of kept per ServiceAccount
   * (at 200,000 ServiceAccounts an object and two strings each are tens of MB; bench/README.md).
   */
  private readonly cache = new Map<string, Readonly<Record<string, string>>>();
  private roleMapping: RoleMapping = new Map();
  private readonly api: ApiClient;
  /** Live GETs under way, by key: concurrent misses for one ServiceAccount share one request. */
  private readonly inflight = new Map<string, Promise<ServiceAccountLookup>>();
  private readonly serviceAccounts: Reflector<CacheEntry>;
  private readonly mappingReflector: Reflector<Record<string, string>> | undefined;

  constructor(private readonly config: ClusterSourceConfig) {
    this.api = new ApiClient(config.cluster);
    const common = {
      api: this.api,
      logger: config.logger,
      events: config.events,
      pageSize: config.pageSize,
      initialBackoffMs: config.initialBackoffMs,
      maxBackoffMs: config.maxBackoffMs,
      watchTimeoutSeconds: config.watchTimeoutSeconds,
    };
    this.serviceAccounts = new Reflector<CacheEntry>({
      ...common,
      name: 'serviceaccounts',
      listPage: (continueToken, limit, signal) => this.listPage('/api/v1/serviceaccounts', { limit, continueToken }, signal),
      watchPath: '/api/v1/serviceaccounts',
      afterPage: config.listMemory?.afterPage,
      afterList: config.listMemory?.afterList,
      transform: (object) => this.compact(object),
      replace: (items) => {
        this.cache.clear();
        for (const item of items) this.cache.set(item.key, item.annotations);
        config.events.cached(this.cache.size);
      },
      upsert: (item) => {
        this.cache.set(item.key, item.annotations);
        config.events.cached(this.cache.size);
      },
      remove: (item) => {
        this.cache.delete(item.key);
        config.events.cached(this.cache.size);
      },
    });

    const mapped = config.roleMappingConfigMap;
    if (mapped) {
      const fieldSelector = `metadata.name=${mapped.name}`;
      this.mappingReflector = new Reflector<Record<string, string>>({
        ...common,
        name: `configmap ${mapped.namespace}/${mapped.name}`,
        listPage: (continueToken, limit, signal) =>
          this.listPage(`/api/v1/namespaces/${encodeURIComponent(mapped.namespace)}/configmaps`, { limit, continueToken, fieldSelector }, signal),
        watchPath: `/api/v1/namespaces/${encodeURIComponent(mapped.namespace)}/configmaps`,
        watchQuery: { fieldSelector },
        transform: (object) => {
          const data = isJsonObject(object) && isJsonObject(object.data) ? object.data : {};
          const strings: Record<string, string> = {};
          for (const [key, value] of Object.entries(data)) if (typeof value === 'string') strings[key] = value;
          return strings;
        },
        replace: (items) => this.updateRoleMapping(items[0]),
        upsert: (item) => this.updateRoleMapping(item),
        remove: () => this.updateRoleMapping(undefined),
      });
    }
  }

  /** One page of a list, bounded by the list timeout and the stop signal. */
  private listPage(path: string, query: ListQuery, stop: AbortSignal): Promise<ListPage> {
    return this.api.listPage(path, query, AbortSignal.any([stop, AbortSignal.timeout(this.config.listTimeoutMs ?? 60_000)]));
  }

  private compact(object: unknown): (CacheEntry & { readonly name: string; readonly namespace: string }) | undefined {
    const meta = objectMeta(object);
    if (!meta) return undefined;
    const { annotations } = compactServiceAccount(meta.name, meta.namespace, meta.annotations, this.config.annotationPrefix);
    return {
      key: serviceAccountKey(meta.namespace, meta.name),
      name: meta.name,
      namespace: meta.namespace,
      annotations: Object.keys(annotations).length === 0 ? NO_ANNOTATIONS : annotations,
    };
  }

  private updateRoleMapping(data: Record<string, string> | undefined): void {
    const parsed = parseRoleMapping(data);
    if (!parsed.ok) {
      // Keep the last good mapping: a typo in the ConfigMap must not strip roles from new pods.
      this.config.events.roleMappingUpdated('invalid');
      this.config.logger.error('role-mapping-invalid', { error: parsed.error });
      return;
    }
    this.roleMapping = parsed.value;
    this.config.events.roleMappingUpdated('success');
    this.config.logger.info('role-mapping-updated', { entries: parsed.value.size });
  }

  start(): void {
    this.serviceAccounts.start();
    this.mappingReflector?.start();
  }

  /** Resolves once the ServiceAccounts (and the mapping, when configured) have been listed. */
  async waitForSync(): Promise<void> {
    await Promise.all([this.serviceAccounts.waitForSync(), this.mappingReflector?.waitForSync()]);
  }

  get size(): number {
    return this.cache.size;
  }

  private withMapping(serviceAccount: ServiceAccountView): ServiceAccountView {
    return this.roleMapping.size === 0 ? serviceAccount : applyRoleMapping(serviceAccount, this.roleMapping, this.config.annotationPrefix);
  }

  lookup(namespace: string, name: string): ServiceAccountLookup | Promise<ServiceAccountLookup> {
    const key = serviceAccountKey(namespace, name);
    const annotations = this.cache.get(key);
    if (annotations) return { status: 'found', serviceAccount: this.withMapping({ name, namespace, annotations }), from: 'cache' };
    this.config.events.cacheMiss();
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetch(namespace, name).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Live GET: a ServiceAccount created a moment before its pod is often not in the cache yet. What
   * it finds goes into the cache (unless the watch got there first), so the next pods of a
   * scale-up are answered from memory.
   */
  private async fetch(namespace: string, name: string): Promise<ServiceAccountLookup> {
    const timeout = this.config.lookupTimeoutMs;
    try {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}`;
      const compacted = this.compact(await this.api.getJson(path, AbortSignal.timeout(timeout)));
      if (!compacted) return { status: 'error', message: 'the API returned an object without metadata' };
      if (!this.cache.has(compacted.key)) {
        this.cache.set(compacted.key, compacted.annotations);
        this.config.events.cached(this.cache.size);
      }
      return { status: 'found', serviceAccount: this.withMapping({ name: compacted.name, namespace: compacted.namespace, annotations: compacted.annotations }), from: 'api' };
    } catch (error) {
      if (error instanceof ApiStatusError && error.code === 404) return { status: 'not-found', from: 'api' };
      this.config.events.lookupFailed();
      const kind = (error as { name?: unknown } | null)?.name;
      const message = kind === 'TimeoutError' || kind === 'AbortError' ? `the API did not answer within ${timeout} ms` : errorMessage(error);
      this.config.logger.warn('serviceaccount-get-failed', { namespace, name, error: message });
      return { status: 'error', message };
    }
  }

  isReady(): boolean {
    return this.serviceAccounts.hasSynced && (this.mappingReflector?.hasSynced ?? true);
  }

  describe(): string {
    const cluster = this.config.cluster.server;
    return `ServiceAccounts from ${cluster}${this.isReady() ? ` (${this.cache.size} cached)` : ' (not synced yet)'}`;
  }

  async stop(): Promise<void> {
    await Promise.all([this.serviceAccounts.stop(), this.mappingReflector?.stop()]);
    this.api.close();
  }
}
