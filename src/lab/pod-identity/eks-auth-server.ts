import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { readBody } from '../../shared/http/http-body.js';
import { errorMessage, type Logger, millisecondsSince } from '../../shared/log.js';
import { parseJsonText } from '../../shared/yaml.js';
import { EksAuthError } from './eks-auth-errors.js';
import type { EksAuthService, PodIdentityGrant } from './eks-auth.js';

const MAX_BODY_BYTES = 64 * 1024;
const ROUTE = /^\/clusters\/([^/]*)\/assume-role-for-pod-identity$/;

/** Paths the EKS Auth listener answers (the lab STS shares its port and serves the rest). */
export function isEksAuthPath(url: string): boolean {
  return url.startsWith('/clusters/');
}

export interface EksAuthAppOptions {
  readonly service: EksAuthService;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Called after every credential grant. */
  readonly onGrant?: (grant: PodIdentityGrant) => void;
}

/**
 * EKS Auth's REST-JSON wire: `POST /clusters/NAME/assume-role-for-pod-identity` with `{"token": …}`
 * (and optionally `eksNodeName`, `instanceId`, `zone`); the grant's log line names the token's node
 * (`node`, `nodeUid`) and the agent's (`eksNodeName`, `instanceId`, `zone`);
 * errors carry their code in `X-Amzn-ErrorType` and `{"message": …}` in the body, as the AWS SDKs
 * (and the Go SDK the real agent uses) read them.
 */
export function createEksAuthApp(options: EksAuthAppOptions): RequestListener {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = performance.now();
    const url = req.url ?? '/';
    const queryIndex = url.indexOf('?');
    const path = queryIndex < 0 ? url : url.slice(0, queryIndex);
    const answer = (status: number, body: unknown, errorType?: string): void => {
      const text = JSON.stringify(body);
      res
        .writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'x-amzn-requestid': requestId,
          date: options.now().toUTCString(),
          ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
        })
        .end(text);
    };
    const read = await readBody(req, MAX_BODY_BYTES);
    let cluster: string | undefined;
    try {
      if (!read.ok) throw new EksAuthError('InvalidRequestException', read.message);
      const match = ROUTE.exec(path);
      if (!match || req.method !== 'POST') throw new EksAuthError('UnknownOperationException', 'Unknown operation');
      try {
        cluster = decodeURIComponent(match[1]!);
      } catch {
        throw new EksAuthError('InvalidParameterException', 'The cluster name is not valid percent-encoding');
      }
      const parsed = parseJsonText(read.body.length === 0 ? '{}' : read.body.toString('utf8'));
      if (!parsed.ok) throw new EksAuthError('InvalidRequestException', 'The request body is not valid JSON', parsed.error);
      const { response, grant } = await options.service.assumeRoleForPodIdentity(cluster, parsed.value, {
        method: req.method,
        path,
        rawQuery: queryIndex < 0 ? '' : url.slice(queryIndex + 1),
        headers: req.headers,
        body: read.body,
      });
      answer(200, response);
      options.onGrant?.(grant);
      options.logger.info('eks-auth', {
        requestId,
        outcome: 'ok',
        cluster,
        namespace: grant.subject.namespace,
        serviceAccount: grant.subject.serviceAccount,
        pod: grant.subject.podName,
        ...(grant.subject.node ? { node: grant.subject.node.name, nodeUid: grant.subject.node.uid } : {}),
        ...grant.node,
        assumedRoleArn: grant.assumedRoleArn,
        durationMs: millisecondsSince(started),
      });
    } catch (error) {
      const failure = error instanceof EksAuthError ? error : new EksAuthError('InternalServerException', 'An internal error occurred.', errorMessage(error));
      answer(failure.status, { message: failure.message }, failure.code);
      options.logger.log(error instanceof EksAuthError ? 'warn' : 'error', 'eks-auth', {
        requestId,
        outcome: 'error',
        cluster,
        code: failure.code,
        reason: failure.reason,
        durationMs: millisecondsSince(started),
      });
    }
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.error('eks-auth-request-failed', { error: errorMessage(error) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
