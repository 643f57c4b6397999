import { CoreV1Api, type KubeConfig, Observable, type ObservableMiddleware } from '@kubernetes/client-node';
import type { ServiceAccountView } from '../engine/types.js';
import { isJsonObject } from '../k8s/objects.js';
import { errorMessage, type Logger } from '../log.js';
import type { WebhookMetrics } from '../server/metrics.js';
import { type ListPage, Reflector } from './reflector.js';
import { applyRoleMapping, parseRoleMapping, type RoleMapping } from './role-mapping.js';
import { compactServiceAccount, serviceAccountKey, type ServiceAccountLookup, type ServiceAccountSource } from './source.js';

export interface ClusterSourceConfig {
  readonly kubeConfig: KubeConfig;
  readonly annotationPrefix: string;
  readonly logger: Logger;
  readonly metrics: WebhookMetrics;
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
}

interface CachedServiceAccount extends ServiceAccountView {
  readonly key: string;
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

/** Aborts the request after `milliseconds`, or earlier when `signal` aborts. */
function abortMiddleware(milliseconds: number, signal?: AbortSignal): ObservableMiddleware {
  return {
    pre: (context) => {
      const timeout = AbortSignal.timeout(milliseconds);
      context.setSignal(signal ? AbortSignal.any([signal, timeout]) : timeout);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

function bounded(milliseconds: number, signal?: AbortSignal): { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' } {
  return { middleware: [abortMiddleware(milliseconds, signal)], middlewareMergeStrategy: 'append' };
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The client's ApiException message spans lines of body and headers; keep the status and the API's message. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }

  static from(error: unknown): KubernetesApiError {
    const code = httpStatus(error);
    if (code === undefined) return new KubernetesApiError(undefined, errorMessage(error).split('\n')[0] ?? 'unknown error');
    let detail: string | undefined;
    const body = (error as { body?: unknown }).body;
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      const message = (parsed as { message?: unknown } | null)?.message;
      if (typeof message === 'string') detail = message;
    } catch {
      // not a Status body
    }
    return new KubernetesApiError(code, `HTTP ${code}${detail ? `: ${detail}` : ''}`);
  }
}

async function callApi<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw KubernetesApiError.from(error);
  }
}

/** The ServiceAccounts the informer keeps share one empty annotations object when they carry none of ours. */
const NO_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Cluster mode: an informer over every ServiceAccount (compacted to what the webhook reads), a live
 * GET on cache misses, and optionally a ConfigMap of role settings merged under the annotations.
 */
export class ClusterServiceAccountSource implements ServiceAccountSource {
  private readonly cache = new Map<string, CachedServiceAccount>();
  private roleMapping: RoleMapping = new Map();
  private readonly api: CoreV1Api;
  private readonly serviceAccounts: Reflector<CachedServiceAccount>;
  private readonly mappingReflector: Reflector<Record<string, string>> | undefined;

  constructor(private readonly config: ClusterSourceConfig) {
    this.api = config.kubeConfig.makeApiClient(CoreV1Api);
    const common = {
      kubeConfig: config.kubeConfig,
      logger: config.logger,
      metrics: config.metrics,
      pageSize: config.pageSize,
      initialBackoffMs: config.initialBackoffMs,
      maxBackoffMs: config.maxBackoffMs,
      watchTimeoutSeconds: config.watchTimeoutSeconds,
    };
    this.serviceAccounts = new Reflector<CachedServiceAccount>({
      ...common,
      name: 'serviceaccounts',
      listPage: async (continueToken, limit, signal): Promise<ListPage> => {
        const list = await callApi(() =>
          this.api.listServiceAccountForAllNamespaces({ limit, _continue: continueToken }, bounded(config.listTimeoutMs ?? 60_000, signal)),
        );
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continueToken: list.metadata?._continue };
      },
      watchPath: '/api/v1/serviceaccounts',
      transform: (object) => this.compact(object),
      replace: (items) => {
        this.cache.clear();
        for (const item of items) this.cache.set(item.key, item);
        config.metrics.serviceAccountsCached.set(this.cache.size);
      },
      upsert: (item) => {
        this.cache.set(item.key, item);
        config.metrics.serviceAccountsCached.set(this.cache.size);
      },
      remove: (item) => {
        this.cache.delete(item.key);
        config.metrics.serviceAccountsCached.set(this.cache.size);
      },
    });

    const mapped = config.roleMappingConfigMap;
    if (mapped) {
      const fieldSelector = `metadata.name=${mapped.name}`;
      this.mappingReflector = new Reflector<Record<string, string>>({
        ...common,
        name: `configmap ${mapped.namespace}/${mapped.name}`,
        listPage: async (continueToken, limit, signal) => {
          const list = await callApi(() =>
            this.api.listNamespacedConfigMap(
              { namespace: mapped.namespace, fieldSelector, limit, _continue: continueToken },
              bounded(config.listTimeoutMs ?? 60_000, signal),
            ),
          );
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', continueToken: list.metadata?._continue };
        },
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

  private compact(object: unknown): CachedServiceAccount | undefined {
    const meta = objectMeta(object);
    if (!meta) return undefined;
    const view = compactServiceAccount(meta.name, meta.namespace, meta.annotations, this.config.annotationPrefix);
    return {
      key: serviceAccountKey(meta.namespace, meta.name),
      name: view.name,
      namespace: view.namespace,
      annotations: Object.keys(view.annotations).length === 0 ? NO_ANNOTATIONS : view.annotations,
    };
  }

  private updateRoleMapping(data: Record<string, string> | undefined): void {
    const parsed = parseRoleMapping(data);
    if (!parsed.ok) {
      // Keep the last good mapping: a typo in the ConfigMap must not strip roles from new pods.
      this.config.metrics.roleMappingUpdates.inc({ result: 'invalid' });
      this.config.logger.error('role-mapping-invalid', { error: parsed.error });
      return;
    }
    this.roleMapping = parsed.value;
    this.config.metrics.roleMappingUpdates.inc({ result: 'success' });
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
    const cached = this.cache.get(serviceAccountKey(namespace, name));
    if (cached) return { status: 'found', serviceAccount: this.withMapping(cached), from: 'cache' };
    this.config.metrics.serviceAccountCacheMisses.inc();
    return this.fetch(namespace, name);
  }

  /** Live GET: a ServiceAccount created a moment before its pod is often not in the cache yet. */
  private async fetch(namespace: string, name: string): Promise<ServiceAccountLookup> {
    const timeout = this.config.lookupTimeoutMs;
    try {
      const object = await this.api.readNamespacedServiceAccount(
        { name, namespace },
        bounded(timeout),
      );
      const compacted = this.compact(object);
      if (!compacted) return { status: 'error', message: 'the API returned an object without metadata' };
      return { status: 'found', serviceAccount: this.withMapping(compacted), from: 'api' };
    } catch (error) {
      if (httpStatus(error) === 404) return { status: 'not-found', from: 'api' };
      this.config.metrics.serviceAccountLookupErrors.inc();
      const aborted = (error as { name?: unknown } | null)?.name === 'AbortError' || (error as { type?: unknown } | null)?.type === 'aborted';
      const message = aborted ? `the API did not answer within ${timeout} ms` : KubernetesApiError.from(error).message;
      this.config.logger.warn('serviceaccount-get-failed', { namespace, name, error: message });
      return { status: 'error', message };
    }
  }

  isReady(): boolean {
    return this.serviceAccounts.hasSynced && (this.mappingReflector?.hasSynced ?? true);
  }

  describe(): string {
    const cluster = this.config.kubeConfig.getCurrentCluster()?.server ?? 'unknown cluster';
    return `ServiceAccounts from ${cluster}${this.isReady() ? ` (${this.cache.size} cached)` : ' (not synced yet)'}`;
  }

  async stop(): Promise<void> {
    await Promise.all([this.serviceAccounts.stop(), this.mappingReflector?.stop()]);
  }
}
