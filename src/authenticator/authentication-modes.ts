import type { Parsed } from '../shared/result.js';

/**
 * EKS's cluster authentication modes and how they change, pure. The modes change one way only
 * (EKS docs grant-k8s-access: once the access-entry API is on it cannot be turned off, and
 * CONFIG_MAP cannot be turned on again), and one step at a time: CONFIG_MAP → API_AND_CONFIG_MAP →
 * API (eksworkshop; the same in the third-party stackshy/cloudemu auth_mode.go, whose refusal text,
 * "Unsupported authentication mode update from X to Y", is the one used here; a request for the
 * mode already in force is refused the same way). Sources: shared/eks-2026.md §4.3.
 */

export const AUTHENTICATION_MODES = ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API'] as const;
export type AuthenticationMode = (typeof AUTHENTICATION_MODES)[number];

export function isAuthenticationMode(value: unknown): value is AuthenticationMode {
  return (AUTHENTICATION_MODES as readonly unknown[]).includes(value);
}

/** Why EKS refuses one `update-cluster-config --access-config authenticationMode=TO` on a cluster in FROM, or undefined. */
export function modeUpdateProblem(from: AuthenticationMode, to: AuthenticationMode): string | undefined {
  if (AUTHENTICATION_MODES.indexOf(to) === AUTHENTICATION_MODES.indexOf(from) + 1) return undefined;
  return `InvalidParameterException: Unsupported authentication mode update from ${from} to ${to}`;
}

/**
 * The update requests that move a cluster from FROM to TO, one step each: none when it is there
 * already (a same-mode request would be refused), refused with the API's message when TO lies behind.
 */
export function modeSteps(from: AuthenticationMode, to: AuthenticationMode): Parsed<AuthenticationMode[]> {
  const start = AUTHENTICATION_MODES.indexOf(from);
  const end = AUTHENTICATION_MODES.indexOf(to);
  if (end < start) return { ok: false, error: `${modeUpdateProblem(from, to)!} (authentication modes only move forward: CONFIG_MAP → API_AND_CONFIG_MAP → API)` };
  const steps = AUTHENTICATION_MODES.slice(start + 1, end + 1);
  let at = from;
  for (const step of steps) {
    const problem = modeUpdateProblem(at, step);
    if (problem) return { ok: false, error: problem };
    at = step;
  }
  return { ok: true, value: [...steps] };
}
