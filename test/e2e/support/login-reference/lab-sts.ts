/** The lab STS's GetCallerIdentity over TLS on :443 (in the test's namespace), and credentials it knows. */
import { createServer, type Server } from 'node:https';
import { createLogger } from '../../../../src/shared/log.js';
import { createStsApp } from '../../../../src/lab/sts/server.js';
import { StsService } from '../../../../src/lab/sts/service.js';
import type { IssuedCredentials, SessionAuthority } from '../../../../src/lab/sts/sessions.js';
import { WebIdentityVerifier } from '../../../../src/lab/sts/web-identity.js';
import { PRINCIPALS, type PrincipalName } from './corpus.js';
import type { Fixture } from './servers.js';

/** The lab STS's own request handling over TLS: GetCallerIdentity for sessions its key issued. */
export function startLabSts(fixture: Fixture, sessions: SessionAuthority): Promise<Server> {
  const now = (): Date => new Date();
  const service = new StsService({
    config: { providers: [], roles: new Map(), clusters: new Map(), podIdentityAssociations: [] },
    sessions,
    verifier: new WebIdentityVerifier([], { clockToleranceSeconds: 30, jwksTimeoutMs: 1000, jwksRefetchCooldownMs: 1000, now }),
    now,
  });
  const app = createStsApp({ service, logger: createLogger(() => undefined, 'error'), now });
  const server = createServer({ cert: fixture.stsCert, key: fixture.stsKey }, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(443, '127.0.0.1', () => resolve(server));
  });
}

/** Credentials GetCallerIdentity answers with the principal's ARN and user id (an hour). */
export function credentialsFor(sessions: SessionAuthority, name: PrincipalName): IssuedCredentials {
  const principal = PRINCIPALS[name];
  return sessions.issue({ arn: principal.arn, userId: principal.userId, account: principal.account, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
}

