import { type AwsCredentials, signRequest } from '../../shared/aws/presign.js';
import { trimTrailing } from '../../shared/text.js';
import { AnswerTooLargeError, readBoundedText } from '../../shared/http/bounded-text.js';
import { isJsonObject } from '../../shared/json.js';
import { parseJsonText } from '../../shared/yaml.js';
import type { NodeContext } from './node-context.js';

/** The credentials EKS Auth returned, as the agent keeps them. */
export interface PodCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** From the assumed-role ARN (the target role's account when one is chained). */
  readonly accountId: string;
  readonly expiration: Date;
}

/** One AssumeRoleForPodIdentity call: the cluster, the pod's token, and what the agent knows of its node. */
export interface AssumeRoleForPodIdentityRequest extends NodeContext {
  readonly clusterName: string;
  readonly token: string;
}

/** An error EKS Auth answered, with what the agent passes on: the status, request id, code and fault. */
export class EksAuthApiError extends Error {
  override readonly name = 'EksAuthApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly requestId: string,
    message: string,
  ) {
    super(message);
  }

  get fault(): 'client' | 'server' {
    return this.status >= 500 ? 'server' : 'client';
  }
}

/** A call that got no answer from EKS Auth (refused, timed out, or an answer that is not the API's). */
export class EksAuthTransportError extends Error {
  override readonly name = 'EksAuthTransportError';
}

export interface EksAuthClientOptions {
  /** The EKS Auth endpoint (the real agent's `--endpoint`): the lab STS's URL. */
  readonly endpoint: string;
  readonly region: string;
  /** The node's own credentials (an instance profile on EC2). */
  readonly credentials: () => Promise<AwsCredentials>;
  /** Budget of one call (the real agent: 1 s). */
  readonly timeoutMs: number;
}

/** An AssumeRoleForPodIdentity answer is a few kilobytes; more is not EKS Auth talking. */
const MAX_ANSWER_BYTES = 64 * 1024;

function accountOf(arn: unknown): string {
  return typeof arn === 'string' ? (arn.split(':')[4] ?? '') : '';
}

function parseCredentials(body: unknown): PodCredentials {
  if (!isJsonObject(body) || !isJsonObject(body.credentials) || !isJsonObject(body.assumedRoleUser)) {
    // The real agent refuses an answer without credentials or assumedRoleUser too.
    throw new EksAuthTransportError('EKS Auth answered without credentials or assumedRoleUser');
  }
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = body.credentials;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string' || typeof sessionToken !== 'string' || typeof expiration !== 'number') {
    throw new EksAuthTransportError('EKS Auth answered malformed credentials');
  }
  return { accessKeyId, secretAccessKey, sessionToken, accountId: accountOf(body.assumedRoleUser.arn), expiration: new Date(expiration * 1000) };
}

/** The agent's EKS Auth client: `AssumeRoleForPodIdentity` over HTTP, signed with SigV4 (service `eks-auth`). */
export class EksAuthClient {
  constructor(private readonly options: EksAuthClientOptions) {}

  async assumeRoleForPodIdentity(request: AssumeRoleForPodIdentityRequest): Promise<PodCredentials> {
    const { clusterName, token, eksNodeName, instanceId, zone } = request;
    const url = new URL(`${trimTrailing(this.options.endpoint, '/')}/clusters/${encodeURIComponent(clusterName)}/assume-role-for-pod-identity`);
    // The node fields only when known, as an SDK leaves unset members out.
    const body = JSON.stringify({ token, eksNodeName, instanceId, zone });
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    let text: string;
    try {
      const headers = await signRequest({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        body,
        credentials: await this.options.credentials(),
        region: this.options.region,
        service: 'eks-auth',
      });
      delete headers.host; // fetch sends the URL's own
      response = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
      // Read at most the cap, and hang up past it: an answer without end must not be read to its end.
      text = await readBoundedText(response, MAX_ANSWER_BYTES, 'EKS Auth');
    } catch (error) {
      if (error instanceof AnswerTooLargeError) throw new EksAuthTransportError(error.message);
      throw new EksAuthTransportError(signal.aborted ? `EKS Auth did not answer within ${this.options.timeoutMs} ms` : `EKS Auth could not be reached: ${(error as Error).message}`);
    }
    const parsed = parseJsonText(text === '' ? '{}' : text);
    const json = parsed.ok ? parsed.value : {};
    if (response.ok) return parseCredentials(json);
    const requestId = response.headers.get('x-amzn-requestid') ?? '';
    const code = (response.headers.get('x-amzn-errortype') ?? '').split(':')[0] || 'UnknownError';
    const message = isJsonObject(json) && typeof json.message === 'string' ? json.message : text.slice(0, 200);
    throw new EksAuthApiError(response.status, code, requestId, message);
  }
}
