import { randomUUID } from 'node:crypto';
import express from 'express';
import { errorMessage, type Logger } from '../../log.js';
import { StsError } from './errors.js';
import type { AssumedRole, StsService } from './service.js';
import { actionResponse, actionResponseJson, errorResponse, errorResponseJson } from './responses.js';

/** STS bodies are small: a web identity token is at most 20,000 characters. */
const MAX_BODY_BYTES = 64 * 1024;

export interface StsAppOptions {
  readonly service: StsService;
  readonly logger: Logger;
  /** The STS clock; also sent as the Date header, which the SDKs use to correct their clock skew. */
  readonly now: () => Date;
  /** Called after every successful AssumeRoleWithWebIdentity. */
  readonly onAssumeRole?: (assumed: AssumedRole) => void;
}

/** Parameters from the query string and, for form posts, the body (the AWS Query protocol). */
function requestParameters(rawQuery: string, contentType: string | undefined, body: Buffer): Map<string, string> {
  const params = new Map(new URLSearchParams(rawQuery));
  if (body.length > 0 && (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params.set(key, value);
  }
  return params;
}

export function createStsApp(options: StsAppOptions): express.Express {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.use(express.raw({ type: () => true, limit: MAX_BODY_BYTES }));
  app.all('/', async (req, res) => {
    const requestId = randomUUID();
    const started = performance.now();
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const queryIndex = req.originalUrl.indexOf('?');
    const rawQuery = queryIndex < 0 ? '' : req.originalUrl.slice(queryIndex + 1);
    const params = requestParameters(rawQuery, req.headers['content-type'], body);
    const json = (req.headers.accept ?? '').toLowerCase().includes('application/json');
    res.set({ 'x-amzn-requestid': requestId, date: options.now().toUTCString() }).type(json ? 'application/json' : 'text/xml');
    try {
      const outcome = await options.service.handle(params, {
        method: req.method,
        path: queryIndex < 0 ? req.originalUrl : req.originalUrl.slice(0, queryIndex),
        rawQuery,
        headers: req.headers,
        body,
      });
      res.status(200).send((json ? actionResponseJson : actionResponse)(outcome.action, outcome.result, requestId));
      if (outcome.assumed) options.onAssumeRole?.(outcome.assumed);
      options.logger.info('sts', { requestId, action: outcome.action, outcome: 'ok', ...outcome.details, durationMs: Math.round((performance.now() - started) * 1000) / 1000 });
    } catch (error) {
      const stsError = error instanceof StsError ? error : new StsError('ValidationError', 'The request could not be processed', errorMessage(error));
      res.status(stsError.status).send((json ? errorResponseJson : errorResponse)(stsError, requestId));
      options.logger.log(error instanceof StsError ? 'warn' : 'error', 'sts', {
        requestId,
        action: params.get('Action'),
        outcome: 'error',
        code: stsError.code,
        reason: stsError.reason,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      });
    }
  });
  app.use((_req, res) => {
    res.status(404).type('text/xml').send(errorResponse(new StsError('InvalidAction', 'STS is served at /'), randomUUID()));
  });
  app.use((error: { type?: string; status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const message = error.type === 'entity.too.large' ? `The request body is larger than ${MAX_BODY_BYTES} bytes` : 'The request body could not be read';
    res.status(error.status && error.status < 500 ? error.status : 400).type('text/xml').send(errorResponse(new StsError('ValidationError', message), randomUUID()));
  });
  return app;
}

