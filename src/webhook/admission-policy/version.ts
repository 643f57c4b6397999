import type { Parsed } from '../../shared/result.js';

/** MutatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1, on by default) from this release. */
export const MIN_POLICY_VERSION = { major: 1, minor: 36 } as const;

export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
  /** As given (`v1.37.2`, `1.36`, `v1.36.0-eks-4f4795d`). */
  readonly text: string;
}

/**
 * A Kubernetes version as `kubectl version` or the API server's `/version` `gitVersion` print it:
 * `[v]MAJOR.MINOR[.PATCH][-suffix][+suffix]` (`v1.37.2`, `1.36`, `v1.36.0-eks-4f4795d`).
 */
export function parseKubernetesVersion(raw: string): Parsed<KubernetesVersion> {
  const text = raw.trim();
  const match = /^v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,6})?(?:[-+][0-9A-Za-z.+-]{0,100})?$/.exec(text);
  if (!match) return { ok: false, error: `"${text.slice(0, 60)}" is not a Kubernetes version such as v1.36.0` };
  return { ok: true, value: { major: Number(match[1]), minor: Number(match[2]), text } };
}

/** Undefined when `version` serves MutatingAdmissionPolicy v1, else the one-line reason it does not. */
export function policyVersionProblem(version: KubernetesVersion): string | undefined {
  const { major, minor } = MIN_POLICY_VERSION;
  if (version.major > major || (version.major === major && version.minor >= minor)) return undefined;
  return `Kubernetes ${version.text} has no MutatingAdmissionPolicy v1 (GA in ${major}.${minor}): use the webhook (manifests without --mode admission-policy), or upgrade`;
}
