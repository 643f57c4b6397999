import express from 'express';

export interface Readiness {
  readonly ready: boolean;
  /** What readiness is made of, reported in the /readyz body. */
  readonly checks?: Readonly<Record<string, boolean>>;
}

/** An express app answering the kubelet's probes (`GET /healthz`, `GET /readyz`); callers add their routes. */
export function createProbeApp(readiness: () => Readiness): express.Express {
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const { ready, checks } = readiness();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  return app;
}
