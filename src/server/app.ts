import express, { type NextFunction, type Request, type Response } from 'express';
import { type DecisionContext, decide } from '../admission/decide.js';
import { type AdmissionVersion, denyResponse, parseAdmissionReview } from '../admission/review.js';
import type { Logger } from '../log.js';
import type { WebhookMetrics } from './metrics.js';

/** AdmissionReviews above this are refused with 413 (the API server's own request limit is 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface AppContext {
  readonly decisions: DecisionContext;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly readiness: () => Readiness;
}

function durationMs(res: Response): number | undefined {
  const started = res.locals.started as number | undefined;
  return started === undefined ? undefined : round(performance.now() - started);
}

/** Body-parser failures become AdmissionReview errors with the matching HTTP status. */
function bodyErrorStatus(error: { type?: unknown; status?: unknown }): { status: number; message: string } {
  switch (error.type) {
    case 'entity.too.large':
      return { status: 413, message: `the request body is larger than ${MAX_BODY_BYTES} bytes` };
    case 'entity.parse.failed':
      return { status: 400, message: 'the request body is not valid JSON' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, message: 'the request body must be UTF-8 JSON' };
    default:
      return { status: typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 400, message: 'the request body could not be read' };
  }
}

export function createApp(context: AppContext): express.Express {
  const { metrics, logger } = context;

  /** Every refused review is answered as an AdmissionReview, counted and logged. */
  const refuse = (res: Response, status: number, message: string, apiVersion: AdmissionVersion = 'admission.k8s.io/v1', uid = ''): void => {
    res.status(status).json(denyResponse(apiVersion, uid, status, message));
    metrics.admissionRequests.inc({ decision: 'bad-request' });
    logger.warn('admission', { uid: uid || undefined, decision: 'bad-request', status, reason: message, durationMs: durationMs(res) });
  };
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const readiness = context.readiness();
    res.status(readiness.ready ? 200 : 503).json({ status: readiness.ready ? 'ready' : 'not ready', checks: readiness.checks });
  });

  const parseJson = express.json({ limit: MAX_BODY_BYTES, strict: false, type: () => true });

  app.post(
    '/mutate',
    (req, res, next) => {
      res.locals.started = performance.now();
      if (req.headers['content-length'] === '0') {
        refuse(res, 400, 'the request body is empty (expected an AdmissionReview)');
        return;
      }
      const type = req.is('application/json');
      if (type === false || (type === null && req.headers['content-type'] !== undefined)) {
        refuse(res, 415, `Content-Type must be application/json, got "${String(req.headers['content-type'] ?? '')}"`.slice(0, 200));
        return;
      }
      next();
    },
    parseJson,
    async (req, res) => {
      const started = res.locals.started as number;
      const parsed = parseAdmissionReview(req.body as unknown);
      if (!parsed.ok) {
        const problem = parsed.problem!;
        refuse(res, 400, problem.message, problem.apiVersion, problem.uid);
        return;
      }
      const request = parsed.value;
      const decision = await decide(request, context.decisions);
      res.json(decision.review);
      const seconds = (performance.now() - started) / 1000;
      metrics.admissionRequests.inc({ decision: decision.kind });
      metrics.admissionDuration.observe({ decision: decision.kind }, seconds);
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
        durationMs: round(seconds * 1000),
      });
    },
  );

  app.use((_req, res) => {
    res.status(404).json({ status: 'not found', endpoints: ['POST /mutate', 'GET /healthz', 'GET /readyz'] });
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const bodyError = typeof error === 'object' && error !== null ? bodyErrorStatus(error as { type?: unknown }) : undefined;
    if ((error as { type?: unknown } | null)?.type === 'request.aborted') return;
    if (res.headersSent) return;
    const status = bodyError?.status ?? 500;
    if (status >= 500) logger.error('request-failed', { path: req.path, error: String(error) });
    if (req.path === '/mutate') refuse(res, status, bodyError?.message ?? 'internal error');
    else res.status(status).json({ status: 'error', message: bodyError?.message ?? 'internal error' });
  });
  return app;
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 1000) / 1000;
}
