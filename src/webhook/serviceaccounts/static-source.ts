import type { ServiceAccountView } from '../engine/types.js';
import { loadManifestPath } from '../../shared/k8s/manifests.js';
import { readServiceAccount } from '../read-objects.js';
import type { Parsed } from '../../shared/result.js';
import { compactServiceAccount, serviceAccountKey, type ServiceAccountLookup, type ServiceAccountSource } from './source.js';

/**
 * Local mode: ServiceAccounts read once from a manifest file or directory. Documents of other kinds
 * are ignored, so a whole manifests folder can be pointed at.
 */
export class StaticServiceAccountSource implements ServiceAccountSource {
  private constructor(
    private readonly path: string,
    private readonly accounts: ReadonlyMap<string, ServiceAccountView>,
  ) {}

  static async load(path: string, annotationPrefix: string): Promise<Parsed<StaticServiceAccountSource>> {
    const documents = await loadManifestPath(path);
    if (!documents.ok) return documents;
    const accounts = new Map<string, ServiceAccountView>();
    for (const document of documents.value) {
      if (document.kind !== 'ServiceAccount') continue;
      const account = readServiceAccount(document.object);
      if (!account.ok) return { ok: false, error: `${document.source}: ${account.error}` };
      const { name, namespace, annotations } = account.value;
      accounts.set(serviceAccountKey(namespace, name), compactServiceAccount(name, namespace, annotations, annotationPrefix));
    }
    return { ok: true, value: new StaticServiceAccountSource(path, accounts) };
  }

  get size(): number {
    return this.accounts.size;
  }

  lookup(namespace: string, name: string): ServiceAccountLookup {
    const serviceAccount = this.accounts.get(serviceAccountKey(namespace, name));
    return serviceAccount ? { status: 'found', serviceAccount, from: 'cache' } : { status: 'not-found', from: 'cache' };
  }

  isReady(): boolean {
    return true;
  }

  describe(): string {
    return `${this.accounts.size} ServiceAccounts from ${this.path}`;
  }

  async stop(): Promise<void> {}
}
