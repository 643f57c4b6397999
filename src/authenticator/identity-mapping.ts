import { errorMessage } from '../shared/log.js';
import { type AccessEntries, accessEntryFor } from './access-entries.js';
import { policyGroup } from './access-entry-rules.js';
import type { AuthenticationMode } from './authentication-modes.js';
import { type AwsAuthConfig, expandMapping, mapIdentity, type MappedUser } from './aws-auth.js';
import { DEFAULT_RESERVED_PREFIXES, type ReservedPrefixes, reservedPrefixOf, type UsernameBackend } from './reserved-prefixes.js';
import type { CallerIdentity } from './templates.js';

export interface IdentitySources {
  readonly mode: AuthenticationMode;
  /** Read in CONFIG_MAP and API_AND_CONFIG_MAP. */
  readonly awsAuth: AwsAuthConfig | undefined;
  /** Read in API_AND_CONFIG_MAP and API. */
  readonly accessEntries: AccessEntries | undefined;
  /** The username prefixes each backend may not yield (default: DEFAULT_RESERVED_PREFIXES). */
  readonly reservedPrefixes?: ReservedPrefixes;
}

export type ResolvedUser = MappedUser & { readonly source?: 'aws-auth' | 'access-entry' };

function fromAccessEntry(identity: CallerIdentity, entries: AccessEntries): ResolvedUser | undefined {
  const entry = accessEntryFor(identity.canonicalArn, entries);
  if (!entry) return undefined;
  const where = `access entry ${entry.principalArn}`;
  try {
    const { username, groups } = expandMapping({ username: entry.username, groups: entry.kubernetesGroups }, identity);
    if (entry.policies.length > 0) groups.push(policyGroup(entry.principalArn));
    return { ok: true, username, groups, entry: where, source: 'access-entry' };
  } catch (error) {
    return { ok: false, reason: `${where}: ${errorMessage(error)}` };
  }
}

/** A login whose rendered username begins with a prefix reserved for its backend is refused (aws-iam-authenticator's reservedPrefixConfig). */
function unlessReserved(mapped: ResolvedUser, backend: UsernameBackend, sources: IdentitySources): ResolvedUser {
  if (!mapped.ok) return mapped;
  const prefix = reservedPrefixOf(mapped.username, (sources.reservedPrefixes ?? DEFAULT_RESERVED_PREFIXES)[backend]);
  if (prefix === undefined) return mapped;
  return { ok: false, reason: `${mapped.entry}: the username ${JSON.stringify(mapped.username)} begins with ${prefix}, a prefix reserved for users the ${backend} backend maps (--reserved-username-prefixes)` };
}

/**
 * EKS's authentication modes: CONFIG_MAP reads aws-auth only, API access entries only, and
 * API_AND_CONFIG_MAP both, an access entry overriding an aws-auth mapping of the same principal
 * (aws-iam-authenticator tries its access-entry mapper before the ConfigMap's). Whichever backend
 * maps the caller, a username beginning with one of that backend's reserved prefixes refuses the
 * login (reserved-prefixes.ts).
 */
export function resolveIdentity(identity: CallerIdentity, sources: IdentitySources): ResolvedUser {
  if (sources.mode !== 'CONFIG_MAP' && sources.accessEntries) {
    const mapped = fromAccessEntry(identity, sources.accessEntries);
    // A refused entry refuses the login: the principal's aws-auth mapping is not tried instead.
    if (mapped) return unlessReserved(mapped, 'access-entries', sources);
    if (sources.mode === 'API') return { ok: false, reason: `${identity.canonicalArn} has no access entry (authentication mode API: aws-auth is not read)` };
  }
  if (sources.mode === 'API' || !sources.awsAuth) return { ok: false, reason: `${identity.canonicalArn} has no access entry` };
  const mapped = mapIdentity(identity, sources.awsAuth);
  if (mapped.ok) return unlessReserved({ ...mapped, source: 'aws-auth' }, 'aws-auth', sources);
  return sources.mode === 'API_AND_CONFIG_MAP' && sources.accessEntries ? { ok: false, reason: `${mapped.reason}, and has no access entry` } : mapped;
}
