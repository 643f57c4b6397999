import type { JWTVerifyOptions } from 'jose';

/**
 * The longest a Kubernetes service-account token can be valid: the TokenRequest API refuses an
 * `expirationSeconds` over 2^32. A token issued longer ago than this (plus the tolerance) has
 * expired anyway, so the age bound below never refuses a token the API server could have issued
 * and left valid.
 */
const MAX_TOKEN_AGE_SECONDS = 2 ** 32;

/**
 * The clock rules of every token the lab verifies (the STS's web identity tokens, EKS Auth's pod
 * tokens), as jose's verify options, one place for both: `exp` and `nbf` against the verifier's
 * own clock with `toleranceSeconds` of skew either way, and `iat` no more than the same tolerance
 * in the future (go-jose, which Kubernetes' own token authenticator uses, refuses a token "issued
 * in the future" the same way; jose checks `iat` only when given a maximum age).
 */
export function tokenClockOptions(toleranceSeconds: number, now: Date): Pick<JWTVerifyOptions, 'clockTolerance' | 'currentDate' | 'maxTokenAge'> {
  return { clockTolerance: toleranceSeconds, currentDate: now, maxTokenAge: MAX_TOKEN_AGE_SECONDS };
}
