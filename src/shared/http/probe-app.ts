import express from 'express';
import { HEALTHY, type Readiness, readinessAnswer } from './readiness.js';

/** An express app answering the kubelet's probes (`GET /healthz`, `GET /readyz`); callers add their routes. */
export function createProbeApp(readiness: () => Readiness): express.Express {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.get('/healthz', (_req, res) => {
    res.json(HEALTHY);
  });
  app.get('/readyz', (_req, res) => {
    const { status, body } = readinessAnswer(readiness());
    res.status(status).json(body);
  });
  return app;
}
