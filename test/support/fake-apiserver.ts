/**
 * An in-process stand-in for the kube-apiserver, for tests and benchmarks only: no real API server
 * can run on these machines. A real kube-apiserver is the production peer; this fake speaks the
 * same HTTP protocol for the calls the webhook makes, faithfully enough to exercise its informer:
 *
 * - HTTPS with a bearer token (401 without it);
 * - list with `limit`/`continue` pagination over a snapshot at one resourceVersion, `410 Expired`
 *   when a continue token's resourceVersion has been compacted;
 * - watch (`?watch=true`) from a resourceVersion as a stream of JSON lines (ADDED, MODIFIED,
 *   DELETED, BOOKMARK with allowWatchBookmarks), closed after `timeoutSeconds`; a resourceVersion
 *   older than the compaction point gets HTTP 200 then an ERROR event carrying a 410 Status, as
 *   the real server does; with `sendInitialEvents=true` (client-go's watch-list, on by default from
 *   client-go 0.35) the watch first sends every current object as ADDED, then a BOOKMARK annotated
 *   `k8s.io/initial-events-end`, as the real server's watch cache does;
 * - get by name (404 Status when absent); fieldSelector `metadata.name=` on lists and watches.
 *
 * Fault controls let tests take the server away and bring it back on the same port, delay or fail
 * requests, and compact history.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generateCertificates } from '../../src/shared/certs/generate.js';

export type Resource = 'serviceaccounts' | 'configmaps' | 'pods';

interface StoredObject {
  readonly resource: Resource;
  readonly namespace: string;
  readonly name: string;
  readonly object: Record<string, unknown>;
}

interface WatchEvent {
  readonly resourceVersion: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly item: StoredObject;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly response: ServerResponse;
  readonly bookmarks: boolean;
}

interface Snapshot {
  readonly resourceVersion: number;
  readonly items: readonly StoredObject[];
}

export interface FakeApiServerOptions {
  readonly token?: string;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (0: never on a timer). */
  readonly bookmarkIntervalMs?: number;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly kind: 'list' | 'watch' | 'get' | 'other';
}

const LIST_KINDS: Record<Resource, { list: string; item: string }> = {
  serviceaccounts: { list: 'ServiceAccountList', item: 'ServiceAccount' },
  configmaps: { list: 'ConfigMapList', item: 'ConfigMap' },
  pods: { list: 'PodList', item: 'Pod' },
};

/** Answers one request the list/watch/get protocol does not cover; `match` is the path matched. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => void;

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeApiServer {
  readonly token: string;
  readonly caCert: string;
  private readonly cert: string;
  private readonly tlsKey: string;
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<string, StoredObject>();
  private readonly events: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly snapshots = new Map<string, Snapshot>();
  private resourceVersion = 1000;
  private compactedThrough = 0;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private getDelayMs = 0;
  private getsHidden = false;
  private held: WatchEvent[] | undefined;
  private failures: Array<{ kind: RequestRecord['kind']; status: number }> = [];
  private readonly routes: Array<{ readonly pattern: RegExp; readonly handler: RouteHandler }> = [];
  readonly requests: RequestRecord[] = [];
  /** TLS connections accepted since the start (a client reusing connections keeps this low). */
  tlsConnections = 0;

  constructor(private readonly options: FakeApiServerOptions = {}) {
    this.token = options.token ?? 'fake-token';
    const certificates = generateCertificates({ service: 'kubernetes', namespace: 'default', hosts: ['127.0.0.1', 'localhost'] });
    this.caCert = certificates.caCert;
    this.cert = certificates.cert;
    this.tlsKey = certificates.key;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  get activeWatches(): number {
    return this.watchers.size;
  }

  /** Listens (again, on the same port after `stop`). */
  async start(): Promise<void> {
    const server = createServer({ cert: this.cert, key: this.tlsKey }, (req, res) => this.handle(req, res));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket) => {
      this.tlsConnections += 1;
      socket.on('error', () => undefined);
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    const interval = this.options.bookmarkIntervalMs ?? 0;
    if (interval > 0) this.bookmarkTimer = setInterval(() => this.sendBookmarks(), interval);
  }

  /** Goes away abruptly: every connection (watches included) is cut and the port closed. */
  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    for (const watcher of this.watchers) watcher.response.destroy();
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A kubeconfig (YAML text) pointing at this server. */
  kubeconfig(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${Buffer.from(this.caCert).toString('base64')}`,
      'users:',
      '- name: webhook',
      '  user:',
      `    token: ${this.token}`,
      'contexts:',
      '- name: fake',
      '  context: {cluster: fake, user: webhook}',
      'current-context: fake',
      '',
    ].join('\n');
  }

  // ---- fault controls ---------------------------------------------------------------------

  /**
   * Answers requests whose path matches `pattern` (after the bearer token check, before the
   * resources above) with `handler`: other objects served as they are, or the service proxy.
   */
  serveRoute(pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ pattern, handler });
  }

  /** Serves `body` (JSON, status 200 unless given) for GETs of exactly this path. */
  serveObject(path: string, body: unknown, statusCode = 200): void {
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.serveRoute(new RegExp(`^${escaped}$`), (_req, res) => this.send(res, statusCode, body));
  }

  /** Delays every GET of a single object by this long (a slow or overloaded API server). */
  delayGets(milliseconds: number): void {
    this.getDelayMs = milliseconds;
  }

  /** Every GET of a single object answers 404 from now on: a client can learn objects only from lists and watches. */
  hideFromGets(): void {
    this.getsHidden = true;
  }

  /** The next request of this kind fails with this HTTP status. */
  failNext(kind: RequestRecord['kind'], statusCode: number): void {
    this.failures.push({ kind, status: statusCode });
  }

  /** Forgets history up to now: watches and continue tokens from older resourceVersions get 410. */
  compact(): void {
    this.compactedThrough = this.resourceVersion;
    this.events.length = 0;
  }

  /** Ends every open watch cleanly (as the server does at timeoutSeconds). */
  closeWatches(): void {
    for (const watcher of this.watchers) watcher.response.end();
    this.watchers.clear();
  }

  /** Stops delivering watch events (a lagging watch); `releaseEvents` delivers what was held. */
  holdEvents(): void {
    this.held ??= [];
  }

  releaseEvents(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) for (const watcher of this.watchers) this.deliver(watcher, event);
  }

  sendBookmarks(): void {
    for (const watcher of this.watchers) {
      if (!watcher.bookmarks) continue;
      const kind = LIST_KINDS[watcher.resource].item;
      watcher.response.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind, apiVersion: 'v1', metadata: { resourceVersion: this.currentResourceVersion } } })}\n`,
      );
    }
  }

  // ---- objects ----------------------------------------------------------------------------

  private key(resource: Resource, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  private write(resource: Resource, object: Record<string, unknown>, type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'auto'): Record<string, unknown> {
    const metadata = { ...(object.metadata as Record<string, unknown>) };
    const namespace = String(metadata.namespace ?? 'default');
    const name = String(metadata.name);
    const key = this.key(resource, namespace, name);
    const existing = this.objects.get(key);
    const eventType = type === 'auto' ? (existing ? 'MODIFIED' : 'ADDED') : type;
    this.resourceVersion += 1;
    metadata.namespace = namespace;
    metadata.resourceVersion = this.currentResourceVersion;
    metadata.uid = (existing?.object.metadata as { uid?: string } | undefined)?.uid ?? metadata.uid ?? randomUUID();
    metadata.creationTimestamp ??= new Date().toISOString();
    const stored: StoredObject = {
      resource,
      namespace,
      name,
      object: { apiVersion: 'v1', kind: LIST_KINDS[resource].item, ...object, metadata },
    };
    if (eventType === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, stored);
    const event: WatchEvent = { resourceVersion: this.resourceVersion, type: eventType, item: stored };
    this.events.push(event);
    if (this.held) this.held.push(event);
    else for (const watcher of this.watchers) this.deliver(watcher, event);
    return stored.object;
  }

  /** Creates or replaces an object (ADDED or MODIFIED for watchers). */
  apply(resource: Resource, object: Record<string, unknown>): Record<string, unknown> {
    return this.write(resource, object, 'auto');
  }

  delete(resource: Resource, namespace: string, name: string): void {
    const existing = this.objects.get(this.key(resource, namespace, name));
    if (existing) this.write(resource, existing.object, 'DELETED');
  }

  /** Adds many objects without per-object events (a large cluster that existed before the watch). */
  seed(resource: Resource, objects: Iterable<Record<string, unknown>>): void {
    for (const object of objects) {
      const metadata = { ...(object.metadata as Record<string, unknown>) };
      const namespace = String(metadata.namespace ?? 'default');
      const name = String(metadata.name);
      this.resourceVersion += 1;
      metadata.namespace = namespace;
      metadata.resourceVersion = this.currentResourceVersion;
      metadata.uid ??= randomUUID();
      this.objects.set(this.key(resource, namespace, name), {
        resource,
        namespace,
        name,
        object: { apiVersion: 'v1', kind: LIST_KINDS[resource].item, ...object, metadata },
      });
    }
    this.compact();
  }

  count(resource: Resource): number {
    let total = 0;
    for (const item of this.objects.values()) if (item.resource === resource) total += 1;
    return total;
  }

  // ---- protocol ---------------------------------------------------------------------------

  private matches(item: StoredObject, resource: Resource, namespace: string | undefined, name: string | undefined): boolean {
    return item.resource === resource && (namespace === undefined || item.namespace === namespace) && (name === undefined || item.name === name);
  }

  private deliver(watcher: Watcher, event: WatchEvent): void {
    if (!this.matches(event.item, watcher.resource, watcher.namespace, watcher.name)) return;
    watcher.response.write(`${JSON.stringify({ type: event.type, object: event.item.object })}\n`);
  }

  send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const query = Object.fromEntries(url.searchParams);
    const route = this.route(url.pathname);
    const kind: RequestRecord['kind'] = route?.name !== undefined ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : route ? 'list' : 'other';
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, kind });
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const failure = this.failures.findIndex((entry) => entry.kind === kind);
    if (failure >= 0) {
      const [entry] = this.failures.splice(failure, 1);
      this.send(res, entry!.status, status(entry!.status, 'InternalError', 'injected failure'));
      return;
    }
    for (const custom of this.routes) {
      const match = custom.pattern.exec(url.pathname);
      if (match) {
        custom.handler(req, res, match);
        return;
      }
    }
    if (req.method !== 'GET' || !route) {
      this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const fieldName = /^metadata\.name=(.+)$/.exec(query.fieldSelector ?? '')?.[1];
    const name = route.name ?? fieldName;
    if (kind === 'get') {
      setTimeout(() => this.get(res, route.resource, route.namespace ?? '', route.name ?? ''), this.getDelayMs);
    } else if (kind === 'watch') {
      this.watch(res, route.resource, route.namespace, name, query);
    } else {
      this.list(res, route.resource, route.namespace, name, query);
    }
  }

  private route(pathname: string): { resource: Resource; namespace?: string; name?: string } | undefined {
    const match = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/(serviceaccounts|configmaps|pods)(?:\/([^/]+))?$/.exec(pathname);
    if (!match) return undefined;
    const [, namespace, resource, name] = match;
    return { resource: resource as Resource, namespace: namespace ? decodeURIComponent(namespace) : undefined, name: name ? decodeURIComponent(name) : undefined };
  }

  private get(res: ServerResponse, resource: Resource, namespace: string, name: string): void {
    if (res.destroyed) return;
    const item = this.getsHidden ? undefined : this.objects.get(this.key(resource, namespace, name));
    if (!item) this.send(res, 404, status(404, 'NotFound', `${resource} "${name}" not found`));
    else this.send(res, 200, item.object);
  }

  private list(res: ServerResponse, resource: Resource, namespace: string | undefined, name: string | undefined, query: Record<string, string>): void {
    let snapshot: Snapshot;
    let start = 0;
    if (query.continue) {
      const [id, offset] = query.continue.split(':');
      const found = this.snapshots.get(id ?? '');
      if (!found || found.resourceVersion < this.compactedThrough) {
        this.send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
        return;
      }
      snapshot = found;
      start = Number(offset);
    } else {
      const items = [...this.objects.values()]
        .filter((item) => this.matches(item, resource, namespace, name))
        .sort((a, b) => (a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace)));
      snapshot = { resourceVersion: this.resourceVersion, items };
    }
    const limit = query.limit ? Number(query.limit) : Number.POSITIVE_INFINITY;
    const page = snapshot.items.slice(start, start + limit);
    let continueToken: string | undefined;
    if (start + page.length < snapshot.items.length) {
      const id = query.continue?.split(':')[0] ?? randomUUID();
      this.snapshots.set(id, snapshot);
      continueToken = `${id}:${start + page.length}`;
    }
    const body = JSON.stringify({
      kind: LIST_KINDS[resource].list,
      apiVersion: 'v1',
      metadata: { resourceVersion: String(snapshot.resourceVersion), ...(continueToken ? { continue: continueToken } : {}) },
      items: page.map((item) => item.object),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }

  private watch(res: ServerResponse, resource: Resource, namespace: string | undefined, name: string | undefined, query: Record<string, string>): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(query.resourceVersion || this.resourceVersion);
    if (from < this.compactedThrough) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedThrough})`) })}\n`);
      return;
    }
    const watcher: Watcher = { resource, namespace, name, response: res, bookmarks: query.allowWatchBookmarks === 'true' };
    if (query.sendInitialEvents === 'true') {
      // A watch-list: the current state as ADDED events, then the bookmark that ends it.
      for (const item of this.objects.values()) if (this.matches(item, resource, namespace, name)) res.write(`${JSON.stringify({ type: 'ADDED', object: item.object })}\n`);
      const end = { kind: LIST_KINDS[resource].item, apiVersion: 'v1', metadata: { resourceVersion: this.currentResourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } };
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: end })}\n`);
    } else {
      for (const event of this.events) if (event.resourceVersion > from) this.deliver(watcher, event);
    }
    this.watchers.add(watcher);
    const timeout = query.timeoutSeconds ? setTimeout(() => res.end(), Number(query.timeoutSeconds) * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timeout);
      this.watchers.delete(watcher);
    });
  }
}
