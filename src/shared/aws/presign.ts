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
