import type { Logger } from '../../shared/log.js';
import { listenHttp, type RunningHttpServer } from '../http.js';
import type { LabConfig } from './config.js';
import { createStsApp } from './server.js';
import { type AssumedRole, StsService } from './service.js';
import { SessionAuthority } from './sessions.js';
import { WebIdentityVerifier } from './web-identity.js';
import { EksAuthService, type PodIdentityGrant } from '../pod-identity/eks-auth.js';
import { createEksAuthApp, isEksAuthPath } from '../pod-identity/eks-auth-server.js';

export interface StsOptions {
  readonly config: LabConfig;
  /** At least 32 bytes; every credential secret is derived from it. */
  readonly serverKey: Buffer;
  readonly bindAddress: string;
  readonly port: number;
  readonly logger: Logger;
  /** Allowed clock difference for token exp/nbf, seconds (default 30). */
  readonly clockToleranceSeconds?: number;
  readonly jwksTimeoutMs?: number;
  /** Minimum time between JWKS refetches caused by unknown `kid`s (default 2000 ms). */
  readonly jwksRefetchCooldownMs?: number;
  readonly now?: () => Date;
  readonly onAssumeRole?: (assumed: AssumedRole) => void;
  /** Called after every EKS Auth credential grant (AssumeRoleForPodIdentity). */
  readonly onPodIdentityGrant?: (grant: PodIdentityGrant) => void;
  /** Lifetime of EKS Auth credentials (default 6 h, as EKS). */
  readonly podIdentitySessionSeconds?: number;
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const DEFAULT_JWKS_REFETCH_COOLDOWN_MS = 2000;

/** The lab STS, listening. */
export async function startSts(options: StsOptions): Promise<RunningHttpServer> {
  const now = options.now ?? (() => new Date());
  const service = new StsService({
    config: options.config,
    sessions: new SessionAuthority(options.serverKey),
    verifier: new WebIdentityVerifier(options.config.providers, {
      clockToleranceSeconds: options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      jwksTimeoutMs: options.jwksTimeoutMs ?? 5000,
      jwksRefetchCooldownMs: options.jwksRefetchCooldownMs ?? DEFAULT_JWKS_REFETCH_COOLDOWN_MS,
      now,
    }),
    now,
  });
  const clockToleranceSeconds = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const sts = createStsApp({ service, logger: options.logger, now, onAssumeRole: options.onAssumeRole });
  if (options.config.clusters.size === 0) return listenHttp(sts, options.bindAddress, options.port);
  // EKS Auth shares the STS's port, key and roles: it assumes roles through the same STS service.
  const eksAuth = createEksAuthApp({
    service: new EksAuthService({
      config: options.config,
      sts: service,
      token: { clockToleranceSeconds, jwksTimeoutMs: options.jwksTimeoutMs ?? 5000, jwksRefetchCooldownMs: options.jwksRefetchCooldownMs ?? DEFAULT_JWKS_REFETCH_COOLDOWN_MS, now },
      now,
      sessionSeconds: options.podIdentitySessionSeconds,
    }),
    logger: options.logger,
    now,
    onGrant: options.onPodIdentityGrant,
  });
  return listenHttp((req, res) => (isEksAuthPath(req.url ?? '/') ? eksAuth : sts)(req, res), options.bindAddress, options.port);
}
