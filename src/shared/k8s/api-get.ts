import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'node:https';
import { request as requestHttp } from 'node:http';

/** An HTTP error from the API server, with its status code (410 Gone, 404, ...) and message. */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GETs a path from the API server with the kubeconfig's credentials and returns the parsed JSON.
 * The informer lists tens of thousands of objects through this: the raw JSON is compacted by the
 * caller, skipping the client's model deserialisation (which doubled the garbage of every page).
 */
export async function getJson(kubeConfig: KubeConfig, path: string, signal: AbortSignal): Promise<unknown> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: Parameters<KubeConfig['applyToHTTPSOptions']>[0] = { method: 'GET', headers: { accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? requestHttp : request;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...(options as object), signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        chunks.length = 0;
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new ApiStatusError(res.statusCode ?? 0, `HTTP ${res.statusCode}: the API server answered something that is not JSON`));
          return;
        }
        if (res.statusCode !== 200) {
          const message = (body as { message?: unknown } | null)?.message;
          reject(new ApiStatusError(res.statusCode ?? 0, `HTTP ${res.statusCode}${typeof message === 'string' ? `: ${message}` : ''}`));
          return;
        }
        resolve(body);
      });
    });
    req.on('error', reject);
    req.end();
  });
}
