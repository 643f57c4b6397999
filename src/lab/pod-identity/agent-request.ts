/**
 * The local checks of the Pod Identity Agent's `/v1/credentials`, in its order, with its statuses
 * and texts (eks-pod-identity-agent v0.1.37): the Host header, the Authorization header, the token's
 * shape and its `exp`/`nbf` (no signature check: EKS Auth does that).
 */

/** The agent's link-local addresses; the real agent serves and accepts only these. */
export const AGENT_HOSTS: readonly string[] = ['169.254.170.23', 'fd00:ec2::23'];

export type Check = { readonly ok: true } | { readonly ok: false; readonly status: 400 | 403; readonly message: string };

const OK: Check = { ok: true };

/** The Host header without its port and IPv6 brackets, as the agent compares it. */
export function hostOf(header: string | undefined): string {
  const host = header ?? '';
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close < 0 ? host : host.slice(1, close);
  }
  const colon = host.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  return colon >= 0 && host.indexOf(':', colon + 1) < 0 ? host.slice(0, colon) : host;
}

/**
 * Go's net/http refuses a request with more than one Host header before any handler sees it
 * (`readRequest`: "too many Host headers", answered `400 Bad Request`); node:http keeps the first,
 * so a second Host could otherwise ride along behind a good one. Counted in the raw headers.
 */
export function hasOneHost(rawHeaders: readonly string[]): boolean {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]!;
    if (name.length === 4 && name.toLowerCase() === 'host') count += 1;
  }
  return count <= 1;
}

export function checkHost(header: string | undefined, allowed: readonly string[]): Check {
  const host = hostOf(header);
  if (allowed.includes(host)) return OK;
  return { ok: false, status: 403, message: `Access Denied. Called agent through invalid address, please use either [${allowed.join(' ')}] address not ${host}` };
}

/** Go's base64.RawURLEncoding: the URL alphabet without padding. */
function decodeSegment(segment: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(segment) || segment.length % 4 === 1) return undefined;
  return Buffer.from(segment, 'base64url');
}

function decodeJsonObject(segment: string): { readonly value?: Record<string, unknown>; readonly problem?: 'base64' | 'json' } {
  const bytes = decodeSegment(segment);
  if (bytes === undefined) return { problem: 'base64' };
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? { value: value as Record<string, unknown> } : { problem: 'json' };
  } catch {
    return { problem: 'json' };
  }
}

const malformed = (detail: string): Check => ({ ok: false, status: 400, message: `Service account token cannot be parsed: token is malformed: ${detail}` });
const basic = (detail: string): Check => ({ ok: false, status: 400, message: `Service account token failed basic claim validations: ${detail}` });

/** The token read without verification (golang-jwt's ParseUnverified), then exp and nbf without leeway. */
export function checkToken(token: string | undefined, nowSeconds: number): Check {
  if (token === undefined || token === '') return { ok: false, status: 400, message: 'Service account token cannot be empty' };
  const parts = token.split('.');
  if (parts.length !== 3) return malformed('token contains an invalid number of segments');
  const header = decodeJsonObject(parts[0]!);
  if (header.problem) return malformed(`could not ${header.problem === 'base64' ? 'base64' : 'JSON'} decode header`);
  const claims = decodeJsonObject(parts[1]!);
  if (claims.problem) return malformed(`could not ${claims.problem === 'base64' ? 'base64' : 'JSON'} decode claim`);
  if (decodeSegment(parts[2]!) === undefined) return malformed('could not base64 decode signature');
  const { exp, nbf } = claims.value!;
  for (const [name, value] of [['exp', exp], ['nbf', nbf]] as const) {
    if (value !== undefined && typeof value !== 'number') return basic(`token has invalid claims: ${name} is invalid`);
  }
  if (typeof exp === 'number' && nowSeconds >= exp) return basic('token is expired');
  if (typeof nbf === 'number' && nowSeconds < nbf) return basic('token is not valid yet');
  return OK;
}
