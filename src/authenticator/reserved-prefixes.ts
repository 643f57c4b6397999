import type { Parsed } from '../shared/result.js';
import { hasUnprintable } from '../shared/text.js';

/**
 * Username prefixes a backend may not hand out, as aws-iam-authenticator v0.7.18 (2026-06) has
 * them: its `server.reservedPrefixConfig` maps a backend mode to a `usernamePrefixReserveList`,
 * checked on the username a mapping yields **after** its templates are rendered (a
 * `{{SessionName}}:admin` mapping with the session name `eks` yields `eks:admin`), and since
 * 2026-05 for the aws-auth (ConfigMap) backend too, not only for EKS's access entries
 * (DynamicFile). A login whose username begins with one is refused, whatever another backend
 * says. Pure: the authenticator and the lint share it.
 */

export const USERNAME_BACKENDS = ['aws-auth', 'access-entries'] as const;
export type UsernameBackend = (typeof USERNAME_BACKENDS)[number];
export type ReservedPrefixes = Readonly<Record<UsernameBackend, readonly string[]>>;

/**
 * The reference reserves nothing unless configured; EKS's access-entry API refuses custom
 * usernames beginning with `system:`, `eks:`, `aws:`, `amazon:` or `iam:`. Both backends reserve
 * the four that belong to AWS and EKS here. `system:` is left out: node roles log in as
 * `system:node:…` through either backend, and access entries' own `system:` rule is the API's,
 * checked when the file is read.
 */
export const DEFAULT_RESERVED_PREFIXES: ReservedPrefixes = {
  'aws-auth': ['eks:', 'aws:', 'amazon:', 'iam:'],
  'access-entries': ['eks:', 'aws:', 'amazon:', 'iam:'],
};

/** The reserved prefix `username` begins with, or undefined. */
export function reservedPrefixOf(username: string, prefixes: readonly string[]): string | undefined {
  return prefixes.find((prefix) => prefix !== '' && username.startsWith(prefix));
}

const MAX_PREFIXES = 64;
const MAX_PREFIX_LENGTH = 256;

/** One `--reserved-username-prefixes` value: `BACKEND=PREFIX,PREFIX…`; nothing after `=` reserves nothing. */
export function parseReservedPrefixes(raw: string): Parsed<{ backend: UsernameBackend; prefixes: string[] }> {
  const equals = raw.indexOf('=');
  const backend = equals < 0 ? raw : raw.slice(0, equals);
  if (equals < 0 || !(USERNAME_BACKENDS as readonly string[]).includes(backend)) {
    return { ok: false, error: `${JSON.stringify(raw)} is not BACKEND=PREFIX,… with BACKEND one of ${USERNAME_BACKENDS.join(', ')}` };
  }
  const list = raw.slice(equals + 1);
  const prefixes = list === '' ? [] : list.split(',');
  if (prefixes.length > MAX_PREFIXES) return { ok: false, error: `${backend}: at most ${MAX_PREFIXES} prefixes` };
  const bad = prefixes.find((prefix) => prefix === '' || prefix.length > MAX_PREFIX_LENGTH || /\s/.test(prefix) || hasUnprintable(prefix));
  if (bad !== undefined) return { ok: false, error: `${backend}: ${JSON.stringify(bad)} is not a prefix (1 to ${MAX_PREFIX_LENGTH} characters, no white space or control characters)` };
  return { ok: true, value: { backend: backend as UsernameBackend, prefixes } };
}
