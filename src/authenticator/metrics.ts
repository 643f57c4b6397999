import type { Counter, Registry } from 'prom-client';
import { counter } from '../shared/metrics.js';

/** The authenticator's own metrics, on its registry (the HTTPS service adds the certificate metrics). */
export interface AuthenticatorMetrics {
  readonly registry: Registry;
  readonly authentications: Counter<'result'>;
}

export function createAuthenticatorMetrics(registry: Registry): AuthenticatorMetrics {
  return {
    registry,
    authentications: counter(registry, 'authentications_total', 'TokenReviews answered by the authenticator, by result (authenticated, rejected)', ['result']),
  };
}
