import { isJsonObject } from './json.js';
import type { Parsed } from './result.js';
import { parseJsonText } from './yaml.js';

/**
 * A JWT in compact form, read strictly before any signature check: exactly three base64url segments
 * (no padding, no white space, no other characters, each the canonical encoding of its bytes, so
 * one token has exactly one spelling), a JSON object header and payload without repeated keys (a
 * repeated claim would mean one thing to us and another to the next parser), and no `crit` or `b64`
 * header: no extension is understood here.
 */
export interface CompactJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string, name: string): Parsed<Buffer> {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return { ok: false, error: `the ${name} is not base64url` };
  const bytes = Buffer.from(segment, 'base64url');
  // Unused low bits in the last character give one byte string several spellings: only the canonical one.
  if (bytes.toString('base64url') !== segment) return { ok: false, error: `the ${name} is not canonical base64url` };
  return { ok: true, value: bytes };
}

function decodeObject(segment: string, name: string): Parsed<Record<string, unknown>> {
  const bytes = decodeSegment(segment, name);
  if (!bytes.ok) return bytes;
  const parsed = parseJsonText(bytes.value.toString('utf8'), `the ${name}`);
  if (!parsed.ok) return parsed;
  if (!isJsonObject(parsed.value)) return { ok: false, error: `the ${name} is not a JSON object` };
  return { ok: true, value: parsed.value };
}

export function parseCompactJwt(token: string): Parsed<CompactJwt> {
  const segments = token.split('.');
  if (segments.length !== 3) return { ok: false, error: `a JWT has 3 segments, this has ${segments.length}` };
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  const header = decodeObject(headerSegment, 'header');
  if (!header.ok) return header;
  const claims = decodeObject(payloadSegment, 'payload');
  if (!claims.ok) return claims;
  const signature = decodeSegment(signatureSegment, 'signature');
  if (!signature.ok) return signature;
  if ('crit' in header.value) return { ok: false, error: 'the header has crit: no JWS extension is supported' };
  if ('b64' in header.value) return { ok: false, error: 'the header has b64: unencoded payloads are not JWTs' };
  return { ok: true, value: { header: header.value, claims: claims.value } };
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The claims of a Kubernetes projected service-account token have these types; a trust policy reads
 * `sub` and `aud`, so a token whose `sub` is a list or null must not get as far as the policy.
 */
export function projectedTokenClaimProblem(claims: Readonly<Record<string, unknown>>): string | undefined {
  if (!isString(claims.iss) || claims.iss === '') return 'iss must be a non-empty string';
  if (!isString(claims.sub) || claims.sub === '') return 'sub must be a non-empty string';
  const aud = claims.aud;
  if (!(isString(aud) || (Array.isArray(aud) && aud.length > 0 && aud.every(isString)))) return 'aud must be a string or a non-empty list of strings';
  for (const name of ['exp', 'iat'] as const) if (!isNumber(claims[name])) return `${name} must be a number`;
  if (claims.nbf !== undefined && !isNumber(claims.nbf)) return 'nbf must be a number';
  if (claims.jti !== undefined && !isString(claims.jti)) return 'jti must be a string';
  const kubernetes = claims['kubernetes.io'];
  if (kubernetes !== undefined && !isJsonObject(kubernetes)) return 'kubernetes.io must be an object';
  return undefined;
}
