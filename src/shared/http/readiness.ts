/** What a server reports about itself to the kubelet's readiness probe. */
export interface Readiness {
  readonly ready: boolean;
  /** What readiness is made of, reported in the /readyz body. */
  readonly checks?: Readonly<Record<string, boolean>>;
}

/** The `/healthz` body: the process answers. */
export const HEALTHY = { status: 'ok' } as const;

/** The `/readyz` answer: 200 when ready, 503 when not, with the checks readiness is made of. */
export function readinessAnswer(readiness: Readiness): { readonly status: 200 | 503; readonly body: { readonly status: 'ready' | 'not ready'; readonly checks: Readiness['checks'] } } {
  const { ready, checks } = readiness;
  return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks } };
}
