import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { parseCompactJwt, projectedTokenClaimProblem } from '../../shared/jwt.js';
import { StsError } from './errors.js';
import { tokenClockOptions } from './token-clock.js';
import type { OidcProvider } from './config.js';

export interface VerifiedWebIdentity {
  readonly provider: OidcProvider;
  readonly subject: string;
  /** The token audience that matched one of the provider's audiences. */
  readonly audience: string;
  readonly claims: JWTPayload;
}

export interface WebIdentityOptions {
  /** Allowed clock difference for exp, nbf and iat, seconds (token-clock.ts). */
  readonly clockToleranceSeconds: number;
  /** Budget for fetching a provider's JWKS. */
  readonly jwksTimeoutMs: number;
  /**
   * An unknown `kid` triggers one refetch of the JWKS (key rotation), but not more often than this:
   * otherwise anyone could make the STS fetch the issuer's keys with every made-up `kid`.
   */
  readonly jwksRefetchCooldownMs: number;
  readonly now?: () => Date;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

function invalid(message: string, reason = message): StsError {
  return new StsError('InvalidIdentityToken', message, reason);
}

/** Maps jose's error codes to what real STS answers for the same token. */
function mapVerificationError(error: unknown, provider: OidcProvider): StsError {
  const { code, claim, message } = error as { code?: string; claim?: string; message?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new StsError('ExpiredTokenException', 'Token expired: current date/time must be before the expiration date/time');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud') return invalid('Incorrect token audience');
      if (claim === 'nbf') return invalid('Token is not yet valid (nbf is in the future)');
      if (claim === 'iat') return invalid('Token is not yet valid (iat is in the future)');
      if (claim === 'iss') return invalid(`No OpenIDConnect provider found in your account for ${provider.issuer}`);
      return invalid(`Invalid token claim ${claim ?? ''}: ${message ?? ''}`.trim());
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid('The token signature is invalid');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid("No key in the provider's JWKS matches the token's kid", `kid not found in ${provider.jwksUrl}`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid(`Invalid token: ${message ?? code}`);
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
    default:
      // Everything else comes from fetching the JWKS: the provider could not be reached or answered nonsense.
      return new StsError(
        'IDPCommunicationError',
        "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        `JWKS ${provider.jwksUrl}: ${message ?? String(error)}`,
      );
  }
}

/**
 * Verifies web identity tokens against the configured OIDC providers: RS256 only, the provider
 * chosen by the exact `iss`, its keys fetched from its configured JWKS URL (refetched once when a
 * `kid` is unknown, at most once per cooldown), signature, audience, and the clock rules of token-clock.ts (expiry, not-before, issued-at).
 * `jku`, `x5u` and other key-location headers are never followed; `crit` extensions are refused.
 */
export class WebIdentityVerifier {
  private readonly keySets = new Map<string, KeySet>();

  constructor(
    private readonly providers: readonly OidcProvider[],
    private readonly options: WebIdentityOptions,
  ) {
    for (const provider of providers) {
      this.keySets.set(
        provider.issuer,
        createRemoteJWKSet(new URL(provider.jwksUrl), {
          timeoutDuration: options.jwksTimeoutMs,
          cooldownDuration: options.jwksRefetchCooldownMs,
          cacheMaxAge: 10 * 60 * 1000,
        }),
      );
    }
  }

  async verify(token: string): Promise<VerifiedWebIdentity> {
    const compact = parseCompactJwt(token);
    if (!compact.ok) throw invalid('The web identity token is not a valid JWT', compact.error);
    const { header, claims: unverified } = compact.value;
    if (header.alg !== 'RS256') throw invalid(`Unsupported token signing algorithm: ${String(header.alg).slice(0, 20)}`);
    const claimProblem = projectedTokenClaimProblem(unverified);
    if (claimProblem) throw invalid(`Invalid token: ${claimProblem}`);
    const provider = this.providers.find((candidate) => candidate.issuer === unverified.iss);
    if (!provider) throw invalid(`No OpenIDConnect provider found in your account for ${String(unverified.iss).slice(0, 200)}`);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySets.get(provider.issuer)!, {
        algorithms: ['RS256'],
        issuer: provider.issuer,
        audience: [...provider.audiences],
        ...tokenClockOptions(this.options.clockToleranceSeconds, this.options.now?.() ?? new Date()),
        requiredClaims: ['exp', 'iat', 'sub', 'aud'],
      }));
    } catch (error) {
      throw mapVerificationError(error, provider);
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const audience = audiences.find((value): value is string => typeof value === 'string' && provider.audiences.includes(value))!;
    return { provider, subject: payload.sub!, audience, claims: payload };
  }
}
