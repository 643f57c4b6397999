import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface PresignRequest {
  /** Where the request goes; its path is `/`. */
  readonly endpoint: URL;
  readonly query: Readonly<Record<string, string>>;
  /** Headers signed besides `host` (the caller must send them with these values). */
  readonly headers: Readonly<Record<string, string>>;
  readonly credentials: AwsCredentials;
  readonly region: string;
  readonly service: string;
  readonly expiresInSeconds: number;
  readonly signingDate: Date;
}

/** A GET URL presigned with SigV4 in its query string, by the AWS SDK's own signer. */
export async function presignGet(request: PresignRequest): Promise<URL> {
  const { endpoint } = request;
  const signer = new SignatureV4({ credentials: request.credentials, region: request.region, service: request.service, sha256: Sha256 });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: '/',
      query: { ...request.query },
      headers: { host: endpoint.host, ...request.headers },
    },
    { expiresIn: request.expiresInSeconds, signingDate: request.signingDate },
  );
  const url = new URL(`${endpoint.protocol}//${endpoint.host}/`);
  for (const [key, value] of Object.entries(presigned.query ?? {})) {
    if (typeof value === 'string') url.searchParams.set(key, value);
  }
  return url;
}

export interface SignRequest {
  readonly method: string;
  /** Where the request goes, path included. */
  readonly url: URL;
  /** Headers to send and sign besides `host`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly credentials: AwsCredentials;
  readonly region: string;
  readonly service: string;
  readonly signingDate?: Date;
}

/** The headers of a request signed with SigV4 in its Authorization header, by the AWS SDK's own signer. */
export async function signRequest(request: SignRequest): Promise<Record<string, string>> {
  const { url } = request;
  const signer = new SignatureV4({ credentials: request.credentials, region: request.region, service: request.service, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...request.headers },
      body: request.body,
    },
    { signingDate: request.signingDate },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name] = String(value);
  return headers;
}
