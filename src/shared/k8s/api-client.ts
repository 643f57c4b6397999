import { Agent as HttpAgent, request as requestHttp } from 'node:http';
import { Agent as HttpsAgent, request, type RequestOptions } from 'node:https';
import { isJsonObject } from '../json.js';
import type { ClusterAccess } from './request-auth.js';

/** An HTTP error from the API server, with its status code (410 Gone, 404, ...) and message. */
export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    message: string,
    /** The answer's parsed JSON body, when it had one (a Status, or what a proxied service answered). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** One page of a list call: its items as raw JSON, the list's resourceVersion and the continue token. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

export interface ListQuery {
  readonly limit: number;
  readonly continueToken: string | undefined;
  readonly fieldSelector?: string;
}

/** A kept-alive connection that did not answer in time: the request is resent on a new one. */
class StaleConnectionError extends Error {
  override readonly name = 'StaleConnectionError';
  constructor() {
    super('no answer on a reused connection');
  }
}

/**
 * A page of 500 ServiceAccounts is a few hundred kilobytes; a single object is at most the API
 * server's 3 MiB request limit. An answer larger than this is refused rather than buffered.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** One watch event holds one object (at most the 3 MiB request limit) in its envelope. */
export const DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024;

export interface ApiClientOptions {
  readonly maxResponseBytes?: number;
  /**
   * A GET sent on a kept-alive connection that has no answer's headers after this long is sent
   * again, once, on a new connection: an idle connection a middlebox dropped without a reset would
   * otherwise eat the caller's whole budget. Default 1000 ms.
   */
  readonly reusedConnectionPatienceMs?: number;
}

/**
 * GETs from the API server with the kubeconfig's credentials (request-auth.ts), returning parsed JSON. Connections
 * are kept alive and reused (a burst of cache misses does not pay a TLS handshake each), and every
 * answer is read up to a size limit. The informer lists tens of thousands of objects through this:
 * the raw JSON is compacted by the caller, skipping the client's model deserialisation (which
 * doubled the garbage of every page).
 */
export class ApiClient {
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly maxResponseBytes: number;
  private readonly reusedConnectionPatienceMs: number;

  constructor(
    private readonly cluster: ClusterAccess,
    options: ApiClientOptions = {},
  ) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.reusedConnectionPatienceMs = options.reusedConnectionPatienceMs ?? 1000;
  }

  /** `accept`: for the endpoints that refuse application/json (the JWKS answers only application/jwk-set+json). */
  getJson(path: string, signal: AbortSignal, accept = 'application/json'): Promise<unknown> {
    return this.requestJson('GET', path, undefined, signal, accept);
  }

  /** One page of the list at `path` (items left raw: the caller keeps only what it needs). */
  async listPage(path: string, query: ListQuery, signal: AbortSignal): Promise<ListPage> {
    const search = new URLSearchParams({ limit: String(query.limit) });
    if (query.continueToken) search.set('continue', query.continueToken);
    if (query.fieldSelector) search.set('fieldSelector', query.fieldSelector);
    const list = await this.getJson(`${path}?${search}`, signal);
    const metadata = isJsonObject(list) && isJsonObject(list.metadata) ? list.metadata : {};
    return {
      items: isJsonObject(list) && Array.isArray(list.items) ? list.items : [],
      resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '',
      continueToken: typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined,
    };
  }

  /** PUT of a whole object (carrying its resourceVersion: a 409 Conflict means someone else wrote first). */
  putJson(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    return this.requestJson('PUT', path, body, signal);
  }

  /** POST of an object, such as a SubjectAccessReview (the API server answers it and stores nothing). */
  postJson(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    return this.requestJson('POST', path, body, signal);
  }

  async requestJson(method: 'GET' | 'PUT' | 'POST', path: string, body: unknown, signal: AbortSignal, accept = 'application/json'): Promise<unknown> {
    const { cluster } = this;
    const url = new URL(path, cluster.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) });
    const options: RequestOptions = { method, headers };
    await cluster.apply(options);
    const http = url.protocol === 'http:';
    // Through a proxy, the client library's proxy agent; otherwise ours, which keeps connections alive.
    const pooled = cluster.proxyUrl ? options.agent : http ? this.httpAgent : this.httpsAgent;
    const attempt = (agent: typeof pooled | false, patience: number | undefined): Promise<unknown> =>
      this.send(http ? requestHttp : request, url, { ...(options as object), agent, signal }, method, payload, patience);
    if (method !== 'GET' || cluster.proxyUrl) return attempt(pooled, undefined);
    try {
      return await attempt(pooled, this.reusedConnectionPatienceMs);
    } catch (error) {
      if (!(error instanceof StaleConnectionError)) throw error;
      return attempt(false, undefined);
    }
  }

  /**
   * One request. With `patience`, a request that went out on a reused connection and has no
   * answer's headers by then fails with StaleConnectionError (the caller resends it).
   */
  private send(
    send: typeof request,
    url: URL,
    requestOptions: Parameters<typeof request>[1],
    method: string,
    payload: Buffer | undefined,
    patience: number | undefined,
  ): Promise<unknown> {
    const limit = this.maxResponseBytes;
    return new Promise((resolve, reject) => {
      let patienceTimer: NodeJS.Timeout | undefined;
      const req = send(url, requestOptions, (res) => {
        clearTimeout(patienceTimer);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            res.destroy(new ApiStatusError(res.statusCode ?? 0, `the API server's answer to ${method} ${url.pathname} is larger than ${limit} bytes`));
            return;
          }
          chunks.push(chunk);
        });
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
          if (res.statusCode !== 200 && res.statusCode !== 201) {
            const message = (body as { message?: unknown } | null)?.message;
            reject(new ApiStatusError(res.statusCode ?? 0, `HTTP ${res.statusCode}${typeof message === 'string' ? `: ${message.slice(0, 500)}` : ''}`, body));
            return;
          }
          resolve(body);
        });
      });
      if (patience !== undefined) {
        req.on('socket', () => {
          if (!req.reusedSocket) return;
          patienceTimer = setTimeout(() => req.destroy(new StaleConnectionError()), patience);
          patienceTimer.unref();
        });
      }
      req.on('error', (error) => {
        clearTimeout(patienceTimer);
        reject(error);
      });
      req.on('close', () => clearTimeout(patienceTimer));
      req.end(payload);
    });
  }

  /**
   * A watch: the newline-delimited events of `path` (a `watch=1` URL) passed to `onEvent` as they
   * arrive. Every event is read up to `maxEventBytes` (a longer line ends the watch with an error,
   * never an unbounded buffer). Resolves when the server ends the stream, rejects on a transport
   * error, a non-200 answer (an ApiStatusError: 410 Gone when the resource version expired) or a
   * line that is not JSON; aborting `signal` ends it. Its connection is its own, not the pool's.
   */
  async watch(path: string, signal: AbortSignal, onEvent: (type: string, object: unknown) => void, maxEventBytes = DEFAULT_MAX_EVENT_BYTES): Promise<void> {
    const { cluster } = this;
    const url = new URL(path, cluster.server);
    const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await cluster.apply(options);
    const http = url.protocol === 'http:';
    const send = http ? requestHttp : request;
    return new Promise<void>((resolve, reject) => {
      const req = send(url, { ...(options as object), agent: cluster.proxyUrl ? options.agent : false, signal }, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= 64 * 1024) chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            let message = '';
            try {
              const status = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: unknown };
              if (typeof status.message === 'string') message = `: ${status.message.slice(0, 500)}`;
            } catch {
              // not a Status: the code says enough
            }
            reject(new ApiStatusError(res.statusCode ?? 0, `watch ${url.pathname}: HTTP ${res.statusCode}${message}`));
          });
          return;
        }
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const fail = (error: Error): void => {
          res.destroy(error);
        };
        const line = (bytes: Buffer): void => {
          if (bytes.length === 0) return;
          let event: unknown;
          try {
            event = JSON.parse(bytes.toString('utf8'));
          } catch {
            throw new Error(`watch ${url.pathname}: an event that is not JSON`);
          }
          const { type, object } = (event ?? {}) as { type?: unknown; object?: unknown };
          if (typeof type !== 'string') throw new Error(`watch ${url.pathname}: an event without a type`);
          onEvent(type, object);
        };
        res.on('data', (chunk: Buffer) => {
          try {
            let from = 0;
            for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
              const piece = chunk.subarray(from, newline);
              if (pendingBytes + piece.length > maxEventBytes) throw new Error(`watch ${url.pathname}: an event larger than ${maxEventBytes} bytes`);
              line(pending.length === 0 ? piece : Buffer.concat([...pending, piece]));
              pending = [];
              pendingBytes = 0;
              from = newline + 1;
            }
            const rest = chunk.subarray(from);
            if (pendingBytes + rest.length > maxEventBytes) throw new Error(`watch ${url.pathname}: an event larger than ${maxEventBytes} bytes`);
            if (rest.length > 0) {
              pending.push(rest);
              pendingBytes += rest.length;
            }
          } catch (error) {
            fail(error as Error);
          }
        });
        res.on('error', reject);
        res.on('end', () => {
          try {
            if (pending.length > 0) line(Buffer.concat(pending));
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}
