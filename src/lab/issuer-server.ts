import express from 'express';
import { trimTrailing } from '../shared/text.js';
import { listenHttp, type RunningHttpServer } from './http.js';
import { type IssuerKey, jwksOf } from './keys.js';

/** The OIDC discovery document for an issuer whose JWKS is served at `<issuer>/keys`. */
export function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/keys`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['sub', 'iss'],
  };
}

/**
 * Discovery and JWKS routes under `basePath` (OIDC puts discovery below the issuer URL's path).
 * `issuer` and `keys` are read per request, so keys can be rotated while serving.
 */
export function createIssuerApp(basePath: string, issuer: () => string, keys: () => readonly IssuerKey[]): express.Express {
  const base = trimTrailing(basePath, '/');
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.get(`${base}/.well-known/openid-configuration`, (_req, res) => {
    res.set('cache-control', 'public, max-age=300').json(discoveryDocument(issuer()));
  });
  app.get(`${base}/keys`, (_req, res) => {
    res.set('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(JSON.stringify(jwksOf(keys())));
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', endpoints: [`${base}/.well-known/openid-configuration`, `${base}/keys`] });
  });
  return app;
}

export interface RunningIssuer extends RunningHttpServer {
  readonly issuer: string;
}

/**
 * Serves an issuer on `bindAddress:port`. Without an explicit issuer URL the issuer is the
 * server's own URL, `http://<bindAddress>:<port>` (port 0 picks a free one).
 */
export async function startIssuer(options: {
  readonly bindAddress: string;
  readonly port: number;
  readonly issuerUrl?: string;
  readonly keys: () => readonly IssuerKey[];
}): Promise<RunningIssuer> {
  const configured = options.issuerUrl === undefined ? undefined : trimTrailing(options.issuerUrl, '/');
  let issuer = configured ?? '';
  const running = await listenHttp(
    createIssuerApp(configured ? new URL(configured).pathname : '', () => issuer, options.keys),
    options.bindAddress,
    options.port,
  );
  issuer ||= running.url;
  return { ...running, issuer };
}
