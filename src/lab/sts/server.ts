import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { rawHeader, readBody } from '../../shared/http/http-body.js';
import { errorMessage, type Logger, millisecondsSince } from '../../shared/log.js';
import { fromSigV4Error, StsError } from './errors.js';
import { formPairs, SigV4Error } from '../../shared/aws/sigv4.js';
import type { AssumedRole, StsService } from './service.js';
import { actionResponse, actionResponseJson, errorResponse, errorResponseJson, IAM_NAMESPACE, STS_NAMESPACE } from './responses.js';
import { IAM_VERSION } from './iam.js';

/**
 * STS bodies are small (a web identity token is at most 20,000 characters); the lab IAM's
 * SimulatePrincipalPolicy takes policies of up to 131,072 characters, form-encoded.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface StsAppOptions {
  readonly service: StsService;
  readonly logger: Logger;
  /** The STS clock; also sent as the Date header, which the SDKs use to correct their clock skew. */
  readonly now: () => Date;
  /** Called after every successful AssumeRoleWithWebIdentity. */
  readonly onAssumeRole?: (assumed: AssumedRole) => void;
}

/**
 * Parameters from the query string and, for form posts, the body (the AWS Query protocol). Decoded
 * strictly, as the signature check decodes them; a parameter given twice is refused, since which of
 * the two an action would read is anybody's guess.
 */
function requestParameters(rawQuery: string, contentType: string | undefined, body: Buffer): Map<string, string> {
  const pairs = formPairs(rawQuery);
  if (body.length > 0 && (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) pairs.push(...formPairs(body.toString('utf8')));
  const params = new Map<string, string>();
  for (const [key, value] of pairs) {
    if (params.has(key)) throw new StsError('MalformedQueryString', `The parameter ${key.slice(0, 100)} is given more than once`);
    params.set(key, value);
  }
  return params;
}

/**
 * The STS request listener, on node:http directly: express costs as much per request as the STS's
 * own work (see bench/README.md). Every path is served as `/`, as AWS does.
 */
export function createStsApp(options: StsAppOptions): RequestListener {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = performance.now();
    const url = req.url ?? '/';
    const queryIndex = url.indexOf('?');
    const rawQuery = queryIndex < 0 ? '' : url.slice(queryIndex + 1);
    const json = (rawHeader(req, 'accept') ?? '').toLowerCase().includes('application/json');
    const answer = (status: number, text: string): void => {
      res
        .writeHead(status, {
          'content-type': json ? 'application/json' : 'text/xml',
          'content-length': Buffer.byteLength(text),
          'x-amzn-requestid': requestId,
          date: options.now().toUTCString(),
        })
        .end(text);
    };
    const read = await readBody(req, MAX_BODY_BYTES);
    if (!read.ok) {
      const error = new StsError('ValidationError', read.status === 413 ? `The request body is larger than ${MAX_BODY_BYTES} bytes` : 'The request body could not be read');
      answer(read.status, (json ? errorResponseJson : errorResponse)(error, requestId));
      return;
    }
    let params = new Map<string, string>();
    try {
      params = requestParameters(rawQuery, rawHeader(req, 'content-type'), read.body);
      const outcome = await options.service.handle(params, {
        method: req.method ?? 'GET',
        path: queryIndex < 0 ? url : url.slice(0, queryIndex),
        rawQuery,
        // Only signed actions read the headers; Node builds the object on first access.
        get headers() {
          return req.headers;
        },
        body: read.body,
      });
      answer(200, json ? actionResponseJson(outcome.action, outcome.result, requestId) : actionResponse(outcome.action, outcome.result, requestId, outcome.namespace));
      if (outcome.assumed) options.onAssumeRole?.(outcome.assumed);
      options.logger.info('sts', { requestId, action: outcome.action, outcome: 'ok', ...outcome.details, durationMs: millisecondsSince(started) });
    } catch (error) {
      const stsError =
        error instanceof StsError ? error
        : error instanceof SigV4Error ? fromSigV4Error(error)
        : new StsError('ValidationError', 'The request could not be processed', errorMessage(error));
      answer(stsError.status, json ? errorResponseJson(stsError, requestId) : errorResponse(stsError, requestId, params.get('Version') === IAM_VERSION ? IAM_NAMESPACE : STS_NAMESPACE));
      options.logger.log(error instanceof StsError || error instanceof SigV4Error ? 'warn' : 'error', 'sts', {
        requestId,
        action: params.get('Action'),
        outcome: 'error',
        code: stsError.code,
        reason: stsError.reason,
        durationMs: millisecondsSince(started),
      });
    }
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.error('sts-request-failed', { error: errorMessage(error) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
