import express, { type NextFunction, type Request, type Response } from 'express';
import { isJsonObject } from '../shared/json.js';
import { errorMessage, type Logger, millisecondsSince } from '../shared/log.js';
import type { AuthenticatorMetrics } from './metrics.js';
import { createProbeApp } from '../shared/http/probe-app.js';
import { AnswerTooLargeError } from '../shared/http/bounded-text.js';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { canonicalize } from '../shared/aws/arn.js';
import { type IdentitySources, resolveIdentity } from './identity-mapping.js';
import { CLUSTER_ID_HEADER, parseClusterToken, type PresignedRequest, type StsPartition } from './token.js';

const TOKEN_REVIEW_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'];

export interface CallerIdentityAnswer {
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
}

/** A GetCallerIdentity answer is a few hundred bytes; more than this is not STS talking. */
export const MAX_STS_ANSWER_BYTES = 64 * 1024;

/** Connections to STS are kept open between reviews, as every AWS SDK keeps them. */
const STS_AGENTS = { https: new HttpsAgent({ keepAlive: true }), http: new HttpAgent({ keepAlive: true }) };

class StsTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** One GET, its answer read up to `maxBytes` (the connection is dropped past it), within `timeoutMs` in all. */
function getBounded(url: URL, headers: Record<string, string>, maxBytes: number, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(url, { method: 'GET', headers, agent: secure ? STS_AGENTS.https : STS_AGENTS.http });
    const timer = setTimeout(() => request.destroy(new StsTimeoutError(`STS did not answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      const tooLarge = (): void => void request.destroy(new AnswerTooLargeError(`STS answered with more than ${maxBytes} bytes`));
      if (Number(response.headers['content-length']) > maxBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks, size).toString('utf8') });
      });
    });
    request.end();
  });
}

/**
 * Sends the presigned GetCallerIdentity to STS with the cluster id header, asking for JSON, over
 * node:http(s) with kept-alive connections (a TokenReview's main cost). Never follows redirects:
 * the only host contacted is the one the token policy allowed. The answer is read up to
 * MAX_STS_ANSWER_BYTES.
 */
export async function fetchCallerIdentity(presigned: PresignedRequest, clusterId: string, timeoutMs: number): Promise<CallerIdentityAnswer> {
  const { status, text } = await getBounded(new URL(presigned.url), { [CLUSTER_ID_HEADER]: clusterId, accept: 'application/json' }, MAX_STS_ANSWER_BYTES, timeoutMs);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`STS answered HTTP ${status} without JSON`);
  }
  if (status !== 200) {
    const error = isJsonObject(body) && isJsonObject(body.Error) ? body.Error : {};
    throw new Error(`STS refused the token: ${String(error.Code ?? `HTTP ${status}`)}: ${String(error.Message ?? '')}`.trim());
  }
  const result = (body as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, unknown> } }).GetCallerIdentityResponse?.GetCallerIdentityResult;
  const { Arn: arn, Account: account, UserId: userId } = result ?? {};
  if (typeof arn !== 'string' || typeof account !== 'string' || typeof userId !== 'string') throw new Error('STS answered without Arn, Account and UserId');
  return { arn, account, userId };
}

export interface AuthenticatorOptions {
  readonly clusterId: string;
  /** Lab STS origins accepted besides AWS STS (`http://127.0.0.1:8082`). */
  readonly labStsOrigins: readonly string[];
  /** Only this partition's STS hosts; every partition's when undefined. */
  readonly partition?: StsPartition | undefined;
  /** The mode and the mappings in force now (files reload). */
  readonly identitySources: () => IdentitySources;
  readonly stsTimeoutMs: number;
  readonly now?: () => Date;
  readonly callerIdentity?: typeof fetchCallerIdentity;
}

export type TokenReviewStatus =
  | {
      readonly authenticated: true;
      readonly user: { readonly username: string; readonly uid: string; readonly groups: string[]; readonly extra: Record<string, string[]> };
    }
  | { readonly authenticated: false; readonly error: string };

export interface Review {
  readonly status: TokenReviewStatus;
  /** The mapping that authenticated the caller (`mapRoles[1]`, `access entry arn:…`), for the log. */
  readonly mappedBy?: string;
}

const refused = (error: string): Review => ({ status: { authenticated: false, error } });

/** Authenticates one token: format and host checks, STS verification, then aws-auth and access entries as the mode says. */
export async function reviewToken(token: string, options: AuthenticatorOptions): Promise<Review> {
  const nowSeconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const presigned = parseClusterToken(token, { labStsOrigins: options.labStsOrigins, partition: options.partition, nowSeconds });
  if (!presigned.ok) return refused(`invalid token: ${presigned.error}`);
  let answer: CallerIdentityAnswer;
  try {
    answer = await (options.callerIdentity ?? fetchCallerIdentity)(presigned.value, options.clusterId, options.stsTimeoutMs);
  } catch (error) {
    const message = errorMessage(error);
    return refused(message);
  }
  const identity = canonicalize(answer.arn);
  if (!identity) return refused(`STS returned an ARN that is not a role session or user: ${answer.arn}`);
  const principalId = answer.userId.split(':')[0] ?? answer.userId;
  const mapped = resolveIdentity({ ...identity, userId: principalId, accessKeyId: presigned.value.accessKeyId }, options.identitySources());
  if (!mapped.ok) return refused(mapped.reason);
  const status: TokenReviewStatus = {
    authenticated: true,
    user: {
      username: mapped.username,
      uid: `aws-iam-authenticator:${identity.account}:${principalId}`,
      groups: mapped.groups,
      extra: {
        arn: [identity.arn],
        canonicalArn: [identity.canonicalArn],
        sessionName: [identity.sessionName ?? ''],
        accessKeyId: [presigned.value.accessKeyId],
        principalId: [principalId],
        // aws-iam-authenticator (v0.7.18, pkg/server/server.go) sends the principal id under this
        // prefixed key too; RBAC and audit policies written against it keep working.
        'sigs.k8s.io/aws-iam-authenticator/principalId': [principalId],
      },
    },
  };
  return { status, mappedBy: mapped.entry };
}

export interface AuthenticatorAppContext extends AuthenticatorOptions {
  readonly logger: Logger;
  readonly metrics: AuthenticatorMetrics;
  readonly ready: () => boolean;
}

/** `POST /authenticate`: the kube-apiserver's webhook token authentication (TokenReview). */
export function createAuthenticatorApp(context: AuthenticatorAppContext): express.Express {
  const app = createProbeApp(() => ({ ready: context.ready() }));
  app.post('/authenticate', express.json({ limit: 64 * 1024, type: () => true }), async (req, res) => {
    const started = performance.now();
    const body: unknown = req.body;
    if (!isJsonObject(body) || body.kind !== 'TokenReview' || !TOKEN_REVIEW_VERSIONS.includes(String(body.apiVersion))) {
      res.status(400).json({ error: `expected a TokenReview (${TOKEN_REVIEW_VERSIONS.join(' or ')})` });
      return;
    }
    const token = isJsonObject(body.spec) && typeof body.spec.token === 'string' ? body.spec.token : '';
    const { status, mappedBy } = token === '' ? refused('spec.token is empty') : await reviewToken(token, context);
    res.json({ apiVersion: body.apiVersion, kind: 'TokenReview', status });
    context.metrics.authentications.inc({ result: status.authenticated ? 'authenticated' : 'rejected' });
    context.logger.log(status.authenticated ? 'info' : 'warn', 'authenticate', {
      authenticated: status.authenticated,
      username: status.authenticated ? status.user.username : undefined,
      arn: status.authenticated ? status.user.extra.arn?.[0] : undefined,
      mappedBy,
      reason: status.authenticated ? undefined : status.error,
      durationMs: millisecondsSince(started),
    });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', endpoints: ['POST /authenticate', 'GET /healthz', 'GET /readyz'] });
  });
  app.use((error: { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status && error.status < 500 ? error.status : 400).json({ error: error.type === 'entity.too.large' ? 'the body is too large' : 'the body is not valid JSON' });
  });
  return app;
}
