import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Signature Version 4 verification for requests signed with temporary credentials: in the
 * Authorization header (the SDKs' calls) or in the query string (presigned URLs). Only the headers
 * the client listed as signed are canonicalised, so a proxy adding headers does not break it.
 */
export interface SignedRequest {
  readonly method: string;
  /** The raw path, without the query string. */
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SignatureClaims {
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly sessionToken: string | undefined;
  readonly presigned: boolean;
  /** X-Amz-Expires of a presigned URL, seconds. */
  readonly expiresSeconds: number | undefined;
}

/** A request that fails SigV4, with the AWS error code every AWS API answers it with. */
export type SigV4ErrorCode = 'IncompleteSignature' | 'MalformedQueryString' | 'MissingAuthenticationToken' | 'SignatureDoesNotMatch';

export class SigV4Error extends Error {
  override readonly name = 'SigV4Error';
  constructor(
    readonly code: SigV4ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far X-Amz-Date may be from the server's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** STS accepts a presigned request for 15 minutes after X-Amz-Date, whatever X-Amz-Expires says. */
export const PRESIGNED_LIFETIME_SECONDS = 900;

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A percent-decoded component. Malformed escapes (`%FF` alone is not UTF-8, `%G1` is not hex) are
 * refused: kept raw, `Foo=%FF` and `Foo=%25FF` would canonicalise alike and verify against one
 * signature while meaning different values.
 */
function decodeComponent(value: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? value.replaceAll('+', '%20') : value);
  } catch {
    throw new SigV4Error('MalformedQueryString', `Malformed percent-encoding in "${value.slice(0, 100)}"`);
  }
}

/** `name=value&…` pairs (the query string, or a form-encoded body), strictly decoded, in order. */
export function formPairs(text: string): Array<[string, string]> {
  if (text === '') return [];
  return text.split('&').map((pair) => {
    const index = pair.indexOf('=');
    return index < 0 ? [decodeComponent(pair, true), ''] : [decodeComponent(pair.slice(0, index), true), decodeComponent(pair.slice(index + 1), true)];
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseCredential(credential: string): Pick<SignatureClaims, 'accessKeyId' | 'scopeDate' | 'region' | 'service'> {
  const [accessKeyId, scopeDate, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request' || rest.length > 0) {
    throw new SigV4Error('IncompleteSignature', `Credential must have the form <key>/<date>/<region>/<service>/aws4_request, got "${credential.slice(0, 200)}"`);
  }
  return { accessKeyId, scopeDate, region, service };
}

/** Reads the signature parameters from the Authorization header or the query string. */
export function readSignature(request: SignedRequest): SignatureClaims {
  const authorization = header(request.headers, 'authorization');
  const query = new Map(formPairs(request.rawQuery));
  if (authorization !== undefined) {
    if (!authorization.startsWith(`${ALGORITHM} `)) throw new SigV4Error('IncompleteSignature', `Unsupported authorization type; only ${ALGORITHM} is accepted`);
    const fields = new Map<string, string>();
    for (const part of authorization.slice(ALGORITHM.length + 1).split(',')) {
      const index = part.indexOf('=');
      if (index > 0) fields.set(part.slice(0, index).trim(), part.slice(index + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw new SigV4Error('IncompleteSignature', 'Authorization header requires Credential, SignedHeaders and Signature');
    }
    const amzDate = header(request.headers, 'x-amz-date');
    if (!amzDate) throw new SigV4Error('IncompleteSignature', 'Authorization header requires the X-Amz-Date header');
    return {
      ...parseCredential(credential),
      amzDate,
      signedHeaders: signedHeaders.split(';'),
      signature,
      sessionToken: header(request.headers, 'x-amz-security-token'),
      presigned: false,
      expiresSeconds: undefined,
    };
  }
  if (query.has('X-Amz-Signature') || query.has('X-Amz-Algorithm')) {
    if (query.get('X-Amz-Algorithm') !== ALGORITHM) throw new SigV4Error('IncompleteSignature', `X-Amz-Algorithm must be ${ALGORITHM}`);
    const credential = query.get('X-Amz-Credential');
    const signedHeaders = query.get('X-Amz-SignedHeaders');
    const signature = query.get('X-Amz-Signature');
    const amzDate = query.get('X-Amz-Date');
    const expires = Number(query.get('X-Amz-Expires'));
    if (!credential || !signedHeaders || !signature || !amzDate) {
      throw new SigV4Error('IncompleteSignature', 'A presigned URL requires X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Signature and X-Amz-Date');
    }
    if (!Number.isInteger(expires) || expires < 1 || expires > 604800) {
      throw new SigV4Error('IncompleteSignature', 'X-Amz-Expires must be whole seconds from 1 to 604800');
    }
    return {
      ...parseCredential(credential),
      amzDate,
      signedHeaders: signedHeaders.split(';'),
      signature,
      sessionToken: query.get('X-Amz-Security-Token'),
      presigned: true,
      expiresSeconds: expires,
    };
  }
  throw new SigV4Error('MissingAuthenticationToken', 'Request is missing Authentication Token');
}

/** Seconds since the epoch of an X-Amz-Date (YYYYMMDD'T'HHMMSS'Z'). */
export function parseAmzDate(amzDate: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return Date.UTC(year!, month! - 1, day!, hour!, minute!, second!) / 1000;
}

/** Checks the signature's dates against the server clock: skew for headers, expiry for presigned URLs. */
export function checkSignatureTime(claims: SignatureClaims, nowSeconds: number): void {
  const signedAt = parseAmzDate(claims.amzDate);
  if (signedAt === undefined) throw new SigV4Error('IncompleteSignature', `X-Amz-Date "${claims.amzDate.slice(0, 40)}" is not YYYYMMDDTHHMMSSZ`);
  if (claims.scopeDate !== claims.amzDate.slice(0, 8)) {
    throw new SigV4Error('SignatureDoesNotMatch', `Credential date ${claims.scopeDate} does not match X-Amz-Date ${claims.amzDate}`);
  }
  if (signedAt > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    throw new SigV4Error('SignatureDoesNotMatch', `Signature not yet current: ${claims.amzDate} is more than ${MAX_CLOCK_SKEW_SECONDS} seconds in the future`);
  }
  const limit = signedAt + (claims.presigned ? PRESIGNED_LIFETIME_SECONDS : MAX_CLOCK_SKEW_SECONDS);
  if (nowSeconds > limit) throw new SigV4Error('SignatureDoesNotMatch', `Signature expired: ${claims.amzDate} is now earlier than the allowed window`);
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function canonicalRequest(request: SignedRequest, claims: SignatureClaims): string {
  const path = request.path
    .split('/')
    .map((segment) => rfc3986(decodeComponent(segment, false)))
    .join('/');
  const query = formPairs(request.rawQuery)
    .filter(([key]) => !(claims.presigned && key === 'X-Amz-Signature'))
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, aValue], [b, bValue]) => (a === b ? (aValue < bValue ? -1 : aValue > bValue ? 1 : 0) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const headers = claims.signedHeaders
    .map((name) => `${name}:${(header(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  // The body is always hashed: a client's x-amz-content-sha256 must agree with it (see verifySignature).
  return [request.method.toUpperCase(), path || '/', query, headers, claims.signedHeaders.join(';'), sha256Hex(request.body)].join('\n');
}

/** The signature a client holding `secretAccessKey` would have computed for this request. */
export function expectedSignature(request: SignedRequest, claims: SignatureClaims, secretAccessKey: string): string {
  const scope = `${claims.scopeDate}/${claims.region}/${claims.service}/aws4_request`;
  const stringToSign = [ALGORITHM, claims.amzDate, scope, sha256Hex(canonicalRequest(request, claims))].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`).update(claims.scopeDate).digest();
  for (const part of [claims.region, claims.service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/** Throws SignatureDoesNotMatch unless the request's signature is the one its secret produces. */
export function verifySignature(request: SignedRequest, claims: SignatureClaims, secretAccessKey: string): void {
  if (!claims.signedHeaders.includes('host')) throw new SigV4Error('SignatureDoesNotMatch', 'The host header must be signed');
  const declaredHash = header(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== sha256Hex(request.body)) {
    // Also refuses UNSIGNED-PAYLOAD: STS requests always sign their body.
    throw new SigV4Error('SignatureDoesNotMatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const expected = Buffer.from(expectedSignature(request, claims, secretAccessKey), 'utf8');
  const given = Buffer.from(claims.signature, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new SigV4Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
}
