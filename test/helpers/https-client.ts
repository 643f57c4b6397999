import { type Agent, request } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface HttpsResult {
  readonly status: number;
  readonly body: string;
  readonly peerFingerprint: string | undefined;
}

/** One real HTTPS request (node:https), resolving with status, body and the server certificate's fingerprint. */
export function httpsRequest(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string>; ca?: string | string[]; agent?: Agent; minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; timeoutMs?: number; rejectUnauthorized?: boolean } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
        ca: options.agent ? undefined : options.ca,
        agent: options.agent ?? false,
        minVersion: options.minVersion,
        maxVersion: options.maxVersion,
        rejectUnauthorized: options.rejectUnauthorized,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const peer: PeerCertificate | undefined = socket.getPeerCertificate?.();
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), peerFingerprint: peer?.fingerprint256 }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}
