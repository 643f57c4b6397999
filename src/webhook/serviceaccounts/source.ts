import type { ServiceAccountView } from '../engine/types.js';

/** What a ServiceAccount source reports as it works; the server counts it in its metrics. */
export interface ServiceAccountSourceEvents {
  /** A lookup the cache could not answer (a live GET follows). */
  cacheMiss(): void;
  /** A live GET failed or timed out. */
  lookupFailed(): void;
  /** The cache now holds `count` ServiceAccounts. */
  cached(count: number): void;
  /** A full list of `resource` began, first or again. */
  listed(resource: string, reason: 'initial' | 'gone' | 'error'): void;
  /** A watch of `resource` was opened again. */
  watchRestarted(resource: string, reason: 'closed' | 'error'): void;
  /** The role-mapping ConfigMap changed. */
  roleMappingUpdated(result: 'success' | 'invalid'): void;
}

export type ServiceAccountLookup =
  | { readonly status: 'found'; readonly serviceAccount: ServiceAccountView; readonly from: 'cache' | 'api' }
  | { readonly status: 'not-found'; readonly from: 'cache' | 'api' }
  | { readonly status: 'error'; readonly message: string };

/** Where the webhook finds a pod's ServiceAccount: static manifests (local mode) or the API (cluster mode). */
export interface ServiceAccountSource {
  /** Resolves a ServiceAccount; cluster sources answer from the cache and fall back to a live GET. */
  lookup(namespace: string, name: string): ServiceAccountLookup | Promise<ServiceAccountLookup>;
  /** True once the source holds a complete view (first list done, or files loaded). */
  isReady(): boolean;
  /** One line for logs and readiness answers. */
  describe(): string;
  stop(): Promise<void>;
}

export function serviceAccountKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Keeps only what the webhook uses: name, namespace and the annotations under the prefix. Labels,
 * managedFields, last-applied-configuration and the rest are dropped so a large cache stays small.
 */
export function compactServiceAccount(
  name: string,
  namespace: string,
  annotations: Readonly<Record<string, unknown>> | undefined,
  annotationPrefix: string,
): ServiceAccountView {
  const kept: Record<string, string> = {};
  const prefix = `${annotationPrefix}/`;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key.startsWith(prefix) && typeof value === 'string') kept[key] = value;
  }
  return { name, namespace, annotations: kept };
}
