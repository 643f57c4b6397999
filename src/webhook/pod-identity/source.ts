import type { ServiceAccountLookup, ServiceAccountSource } from '../serviceaccounts/source.js';
import { type PodIdentities, podIdentityKey } from './identities.js';

/** Where the webhook's set of Pod Identity ServiceAccounts comes from: a watched file or a ConfigMap. */
export interface PodIdentitySource {
  /** The set in force now (the last good one). */
  current(): PodIdentities;
  /** True once a first set (possibly empty) has been read. */
  isReady(): boolean;
  /** One line for logs. */
  describe(): string;
  stop(): Promise<void>;
}

/** What a Pod Identity source reports, for the webhook's metrics. */
export interface PodIdentityEvents {
  updated(result: 'success' | 'invalid', identities: number): void;
}

/**
 * A ServiceAccount source whose answers carry `podIdentity: true` for the ServiceAccounts listed in
 * `identities`, so the engine gives their pods EKS Pod Identity instead of IRSA.
 */
export function withPodIdentities(serviceAccounts: ServiceAccountSource, identities: PodIdentitySource): ServiceAccountSource {
  const mark = (lookup: ServiceAccountLookup): ServiceAccountLookup => {
    if (lookup.status !== 'found') return lookup;
    const { serviceAccount } = lookup;
    const listed = identities.current().has(podIdentityKey(serviceAccount.namespace, serviceAccount.name));
    if (listed === (serviceAccount.podIdentity ?? false)) return lookup;
    return { ...lookup, serviceAccount: { ...serviceAccount, podIdentity: listed } };
  };
  return {
    lookup: (namespace, name) => {
      const lookup = serviceAccounts.lookup(namespace, name);
      return lookup instanceof Promise ? lookup.then(mark) : mark(lookup);
    },
    isReady: () => serviceAccounts.isReady() && identities.isReady(),
    describe: () => `${serviceAccounts.describe()}; ${identities.describe()}`,
    stop: async () => {
      await Promise.all([serviceAccounts.stop(), identities.stop()]);
    },
  };
}
