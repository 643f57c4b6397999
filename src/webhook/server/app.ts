import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Decision, type DecisionContext, decide } from '../admission/decide.js';
import { type AdmissionRequestView, type AdmissionVersion, denyResponse, parseAdmissionReview, serializeReview } from '../admission/review.js';
import { type Logger, millisecondsSince } from '../../shared/log.js';
import { onBody, rawHeader } from '../../shared/http/http-body.js';
import type { WebhookMetrics } from './metrics.js';
import { HEALTHY, type Readiness, readinessAnswer } from '../../shared/http/readiness.js';

/** AdmissionReviews above this are refused with 413 (the API server's own request limit is 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface AppContext {
  readonly decisions: DecisionContext;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly readiness: () => Readiness;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
}

/** `application/json`, optionally with a UTF-8 charset; otherwise what is wrong with it. */
const CONTENT_TYPE_OK = { ok: true } as const;

function checkContentType(header: string | undefined): { ok: true } | { ok: false; message: string } {
  if (header === 'application/json') return CONTENT_TYPE_OK;
  if (header === undefined) return { ok: false, message: 'Content-Type must be application/json, got ""' };
  const [media = '', ...parameters] = header.split(';');
  if (media.trim().toLowerCase() !== 'application/json') {
    return { ok: false, message: `Content-Type must be application/json, got "${header}"`.slice(0, 200) };
  }
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() === 'charset' && !['utf-8', 'utf8'].includes(value.trim().replace(/"/g, '').toLowerCase())) {
      return { ok: false, message: 'the request body must be UTF-8 JSON' };
    }
  }
  return CONTENT_TYPE_OK;
}

/**
 * The admission server's request listener, on node:http alone: `POST /mutate` (the hot path:
 * express and body-parser cost more than the mutation itself), `GET`/`HEAD /healthz` and `/readyz`
 * (query ignored, as express routes them), 404 for the rest. Express is not loaded at all: it was
 * ~5 MB of the serving process's resident memory for two routes (bench/README.md).
 */
export function createApp(context: AppContext): RequestListener {
  const { metrics, logger } = context;
  /** Every refused review is answered as an AdmissionReview, counted and logged. */
  const refuse = (res: ServerResponse, started: number, status: number, message: string, apiVersion: AdmissionVersion = 'admission.k8s.io/v1', uid = ''): void => {
    sendJson(res, status, denyResponse(apiVersion, uid, status, message));
    metrics.recordAdmission('bad-request');
    logger.warn('admission', { uid: uid || undefined, decision: 'bad-request', status, reason: message, durationMs: millisecondsSince(started) });
  };

  /** Answers a decided review; counts, times and logs it. */
  const answer = (res: ServerResponse, started: number, request: AdmissionRequestView, decision: Decision): void => {
    sendText(res, 200, serializeReview(decision.review));
    const durationMs = millisecondsSince(started);
    metrics.recordAdmission(decision.kind, durationMs / 1000);
    logger.log(decision.kind === 'lookup-failed' ? 'error' : 'info', 'admission', {
      uid: request.uid,
      namespace: decision.namespace,
      pod: decision.pod,
      serviceAccount: decision.serviceAccount,
      operation: request.operation,
      kind: request.kind.kind,
      dryRun: request.dryRun || undefined,
      decision: decision.kind,
      patchOperations: decision.patchOperations,
      warnings: decision.warnings.length > 0 ? decision.warnings : undefined,
      reason: decision.reason,
      durationMs,
    });
  };

  const failed = (res: ServerResponse, error: unknown): void => {
    logger.error('request-failed', { path: '/mutate', error: String(error) });
    if (!res.headersSent) sendJson(res, 500, denyResponse('admission.k8s.io/v1', '', 500, 'internal error'));
  };

  const handleBody = (res: ServerResponse, started: number, body: Buffer): void => {
    const text = body.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      refuse(res, started, 400, text.trim() === '' ? 'the request body is empty (expected an AdmissionReview)' : 'the request body is not valid JSON');
      return;
    }
    const parsed = parseAdmissionReview(value);
    if (!parsed.ok) {
      const { problem } = parsed;
      refuse(res, started, 400, problem.message, problem.apiVersion, problem.uid);
      return;
    }
    const request = parsed.value;
    const decision = decide(request, context.decisions);
    if (decision instanceof Promise) {
      decision.then((decided) => answer(res, started, request, decided)).catch((error: unknown) => failed(res, error));
    } else {
      answer(res, started, request, decision);
    }
  };

  // Callbacks rather than async functions: the promises cost a measurable share of a small request.
  const mutate = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    if (rawHeader(req, 'content-length') === '0') {
      refuse(res, started, 400, 'the request body is empty (expected an AdmissionReview)');
      return;
    }
    const type = checkContentType(rawHeader(req, 'content-type'));
    onBody(req, MAX_BODY_BYTES, (body) => {
      try {
        if (!type.ok) refuse(res, started, 415, type.message);
        else if (!body.ok) refuse(res, started, body.status, body.message);
        else handleBody(res, started, body.body);
      } catch (error) {
        failed(res, error);
      }
    });
  };

  const probe = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const answer = (status: number, value: unknown): void => {
      const body = Buffer.from(JSON.stringify(value));
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read && path === '/healthz') return answer(200, HEALTHY);
    if (read && path === '/readyz') {
      const { status, body } = readinessAnswer(context.readiness());
      return answer(status, body);
    }
    answer(404, { status: 'not found', endpoints: ['POST /mutate', 'GET /healthz', 'GET /readyz'] });
  };

  return (req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'POST' && (url === '/mutate' || url.startsWith('/mutate?'))) {
      try {
        mutate(req, res);
      } catch (error) {
        failed(res, error);
      }
      return;
    }
    // The request's body, if any, is not read: the answer closes the exchange (node:http drains it).
    const query = url.indexOf('?');
    probe(req, res, query < 0 ? url : url.slice(0, query));
  };
}
