import { createServer, request, type Server } from 'node:https';
import { generateCertificates } from '../../../src/shared/certs/generate.js';

export interface HostedObject {
  readonly body: string;
  readonly contentType: string;
}

export interface FetchedObject {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A static HTTPS host on 127.0.0.1 standing in for an S3 bucket or any web server: GET answers the
 * object stored under the exact path with its content type, 404 otherwise. Its certificate is
 * signed by its own CA (`caCert`), which clients must be given.
 */
export class StaticHost {
  readonly objects = new Map<string, HostedObject>();
  readonly requests: string[] = [];

  readonly caCert: string;
  private readonly server: Server;

  private constructor() {
    const certificates = generateCertificates({ service: 'oidc-host', namespace: 'e2e', hosts: ['127.0.0.1'], validityDays: 2 });
    this.caCert = certificates.caCert;
    this.server = createServer({ cert: certificates.cert, key: certificates.key }, (req, res) => {
      const path = req.url ?? '';
      if (this.requests.length < 1000) this.requests.push(`${req.method ?? ''} ${path}`);
      const object = req.method === 'GET' ? this.objects.get(path) : undefined;
      if (!object) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': object.contentType }).end(object.body);
    });
  }

  /** Listens on 127.0.0.1:`port`. */
  static async start(port: number): Promise<StaticHost> {
    const host = new StaticHost();
    await new Promise<void>((resolve, reject) => {
      host.server.once('error', reject);
      host.server.listen(port, '127.0.0.1', () => resolve());
    });
    return host;
  }

  /** GET `url` trusting this host's CA (as a client with that CA installed would), the body capped at 1 MiB. */
  get(url: string): Promise<FetchedObject> {
    return new Promise((resolve, reject) => {
      const req = request(url, { ca: this.caCert, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`${url}: more than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
