import { request } from 'node:https';
import type { KeyPair } from './pki.js';

export type Credentials = { readonly clientCertificate: KeyPair } | { readonly token: string } | { readonly anonymous: true };

export interface KubeResponse {
  readonly status: number;
  readonly text: string;
  /** The body parsed as JSON (`undefined` when it is not JSON). */
  readonly body: unknown;
}

/** The API server's answer as a Kubernetes object (or Status), for reading fields in assertions. */
export type KubeObject = Record<string, unknown> & {
  metadata?: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string>; labels?: Record<string, string>; resourceVersion?: string };
};

/** A minimal REST client for the API server: one real HTTPS request per call, bounded in time. */
export class KubeClient {
  constructor(
    readonly server: string,
    readonly caCert: string,
    readonly credentials: Credentials,
  ) {}

  withCredentials(credentials: Credentials): KubeClient {
    return new KubeClient(this.server, this.caCert, credentials);
  }

  request(method: string, path: string, body?: unknown, options: { contentType?: string; accept?: string; timeoutMs?: number } = {}): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    if ('token' in this.credentials) headers.authorization = `Bearer ${this.credentials.token}`;
    const tls = 'clientCertificate' in this.credentials ? this.credentials.clientCertificate : undefined;
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.server),
        { method, headers, ca: this.caCert, cert: tls?.cert, key: tls?.key, agent: false, timeout: options.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A request that must answer `expected` (default: any 2xx); the object it returns. */
  async expect(expected: number | undefined, method: string, path: string, body?: unknown, contentType?: string): Promise<KubeObject> {
    const response = await this.request(method, path, body, { contentType });
    const ok = expected === undefined ? response.status >= 200 && response.status < 300 : response.status === expected;
    if (!ok) throw new Error(`${method} ${path} answered ${response.status} (expected ${expected ?? '2xx'}): ${response.text.slice(0, 2000)}`);
    return response.body as KubeObject;
  }

  get(path: string): Promise<KubeObject> {
    return this.expect(200, 'GET', path);
  }

  create(path: string, object: unknown): Promise<KubeObject> {
    return this.expect(201, 'POST', path, object);
  }
}
