import { type IncomingMessage, request as httpRequest, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { rawHeader } from '../../shared/http/http-body.js';
import { errorMessage, type Logger, millisecondsSince } from '../../shared/log.js';
import { counter, createRegistry, gauge, metricsListener } from '../../shared/metrics.js';
import { listenHttp, type RunningHttpServer } from '../http.js';
import { CredentialsCache } from './agent-cache.js';
import { AGENT_HOSTS, checkHost, checkToken, hasOneHost } from './agent-request.js';
import { type AssumeRoleForPodIdentityRequest, EksAuthApiError, type PodCredentials } from './eks-auth-client.js';
import type { NodeContext } from './node-context.js';

export interface AgentOptions {
  readonly bindAddress: string;
  readonly port: number;
  /** The cluster this node belongs to (`--cluster-name`). */
  readonly clusterName: string;
  /** The node this agent serves, sent with every call (`--node-name`, `--instance-id`, `--zone`). */
  readonly node?: NodeContext;
  /** EKS Auth's AssumeRoleForPodIdentity for this cluster. */
  readonly fetchCredentials: (request: AssumeRoleForPodIdentityRequest) => Promise<PodCredentials>;
  /** Check the Host header (on by default): the link-local addresses, the bind address and `allowedHosts`. */
  readonly hostCheck?: boolean;
  readonly allowedHosts?: readonly string[];
  /** Default 2000; 0 turns caching off. */
  readonly maxCacheSize?: number;
  /** Default 3 h; 0 turns caching off. */
  readonly renewAfterMs?: number;
  /** How often due entries are renewed in the background (default 1 min), at most `maxServiceQps` calls a second (default 3). */
  readonly renewIntervalMs?: number;
  readonly maxServiceQps?: number;
  /** Where `/healthz`, `/readyz` and `/metrics` are served (undefined: nowhere). */
  readonly metricsPort?: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Called with every /v1/credentials answer (status and body), for the demo and tests. */
  readonly onAnswer?: (status: number, body: string) => void;
}

export interface RunningAgent {
  /** `http://ADDRESS:PORT`; the credentials URI is `${url}/v1/credentials`. */
  readonly url: string;
  readonly port: number;
  readonly metricsUrl: string | undefined;
  readonly cache: CredentialsCache;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** The route's limiter in the real agent: 1,000 requests a second, bursts of 500. */
function tokenBucket(ratePerSecond: number, burst: number, now: () => number): () => boolean {
  let tokens = burst;
  let last = now();
  return () => {
    const current = now();
    tokens = Math.min(burst, tokens + ((current - last) / 1000) * ratePerSecond);
    last = current;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/** Go's RFC3339Nano of a UTC time: `Z`, the fraction without trailing zeros. */
function goTime(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}

/** http.Error: plain text, nosniff, a newline after the message. */
function plainError(res: ServerResponse, status: number, message: string): void {
  const text = `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) }).end(text);
}

function agentMetrics(registry: Registry) {
  return {
    responses: counter(registry, 'agent_responses_total', 'Pod Identity Agent /v1/credentials answers, by HTTP status', ['code']),
    cache: counter(registry, 'agent_cache_total', 'Pod Identity Agent cache lookups and evictions, by state (hit, miss, evicted)', ['state']),
    cacheErrors: counter(registry, 'agent_cache_errors_total', 'EKS Auth failures seen by the cache, by type (Recoverable, NonRecoverable) and code', ['type', 'code']),
    cached: gauge(registry, 'agent_cached_tokens', 'Tokens whose credentials the agent holds'),
  };
}

/**
 * The lab's EKS Pod Identity Agent: `/v1/credentials` (any method, the query ignored, every other
 * path `404 page not found`; a request with two Host headers `400 Bad Request`, as Go's server
 * refuses it), checking in the real agent's order: the rate limit, the Host header,
 * the Authorization header, the token's shape and exp/nbf; then the cache and EKS Auth. EKS Auth's
 * errors are passed on with its status as `[REQUEST-ID]: (CODE): MESSAGE, fault: client|server`.
 */
export async function startPodIdentityAgent(options: AgentOptions): Promise<RunningAgent> {
  const now = options.now ?? Date.now;
  const { logger } = options;
  const registry = createRegistry();
  const metrics = agentMetrics(registry);
  const cache = new CredentialsCache(
    { maxSize: options.maxCacheSize ?? 2000, renewAfterMs: options.renewAfterMs ?? 3 * 3600 * 1000, retryAfterMs: 60_000, now },
    // Still keyed by the token alone: an agent serves one node, so the node fields never vary.
    (token) => options.fetchCredentials({ clusterName: options.clusterName, token, ...options.node }),
    { state: (state) => metrics.cache.inc({ state }), error: (type, code) => metrics.cacheErrors.inc({ type, code }) },
  );
  const allowed = options.hostCheck === false ? undefined : [...new Set([...AGENT_HOSTS, options.bindAddress, ...(options.allowedHosts ?? [])])];
  const admit = tokenBucket(1000, 500, now);

  const answer = (res: ServerResponse, status: number, body: string | PodCredentials): void => {
    metrics.responses.inc({ code: String(status) });
    if (typeof body === 'string') {
      plainError(res, status, body);
      options.onAnswer?.(status, `${body}\n`);
      return;
    }
    const text = `${JSON.stringify({ AccessKeyId: body.accessKeyId, SecretAccessKey: body.secretAccessKey, Token: body.sessionToken, AccountId: body.accountId, Expiration: goTime(body.expiration) })}\n`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    options.onAnswer?.(200, text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    if (!hasOneHost(req.rawHeaders)) {
      // What Go's server writes before any handler runs: no route, no metrics, the connection closed.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', 'content-length': 15 }).end('400 Bad Request');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/v1/credentials') {
      plainError(res, 404, '404 page not found');
      return;
    }
    if (!admit()) return answer(res, 429, 'Too Many Requests');
    if (allowed) {
      const host = checkHost(rawHeader(req, 'host'), allowed);
      if (!host.ok) return answer(res, host.status, host.message);
    }
    const token = rawHeader(req, 'authorization');
    const checked = checkToken(token, now() / 1000);
    if (!checked.ok) return answer(res, checked.status, checked.message);
    try {
      const credentials = await cache.get(token!);
      metrics.cached.set(cache.size);
      answer(res, 200, credentials);
      logger.info('agent-credentials', { outcome: 'ok', accessKeyId: credentials.accessKeyId, expiration: credentials.expiration.toISOString(), durationMs: millisecondsSince(started) });
    } catch (error) {
      metrics.cached.set(cache.size);
      if (error instanceof EksAuthApiError) {
        answer(res, error.status, `[${error.requestId}]: (${error.code}): ${error.message}, fault: ${error.fault}`);
        logger.warn('agent-credentials', { outcome: 'error', status: error.status, code: error.code, durationMs: millisecondsSince(started) });
        return;
      }
      answer(res, 500, errorMessage(error));
      logger.warn('agent-credentials', { outcome: 'error', status: 500, error: errorMessage(error), durationMs: millisecondsSince(started) });
    }
  };
  const listener: RequestListener = (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('agent-request-failed', { error: errorMessage(error) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server = await listenHttp(listener, options.bindAddress, options.port);

  // The real agent's janitor: renew due entries in the background, a few calls a second at most.
  const qps = Math.max(1, options.maxServiceQps ?? 3);
  let renewing = false;
  const renewer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    void (async () => {
      for (const token of cache.due()) {
        await cache.refresh(token).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1000 / qps).unref());
      }
    })().finally(() => {
      renewing = false;
    });
  }, options.renewIntervalMs ?? 60_000);
  renewer.unref();

  let probes: RunningHttpServer | undefined;
  if (options.metricsPort !== undefined) {
    probes = await listenHttp(probeListener(registry, server.server, options.bindAddress), options.bindAddress, options.metricsPort).catch(async (error: unknown) => {
      clearInterval(renewer);
      await server.close();
      throw error;
    });
  }
  return {
    url: server.url,
    port: server.port,
    metricsUrl: probes?.url,
    cache,
    registry,
    close: async () => {
      clearInterval(renewer);
      await Promise.all([server.close(), probes?.close()]);
    },
  };
}

/** GET / on the credentials listener must answer 404, as the real agent's readiness probe checks. */
function probeSelf(server: Server, bindAddress: string): Promise<number> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve) => {
    const probe = httpRequest({ host: bindAddress, port, path: '/', method: 'GET', timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 404 ? 200 : 500);
    });
    probe.on('timeout', () => {
      probe.destroy();
      resolve(408);
    });
    probe.on('error', () => resolve(500));
    probe.end();
  });
}

function probeListener(registry: Registry, server: Server, bindAddress: string): RequestListener {
  const metrics = metricsListener(registry);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void probeSelf(server, bindAddress).then((status) => {
        const text = status === 200 ? 'ok\n' : status === 408 ? 'Request Timeout\n' : 'Internal Server Error occurred\n';
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      });
      return;
    }
    metrics(req, res);
  };
}
