import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, ListPage } from '../../shared/k8s/api-client.js';
import { errorMessage, type Logger } from '../../shared/log.js';
import type { ServiceAccountSourceEvents } from './source.js';

export type { ListPage };

export interface ReflectorConfig<T> {
  /** For logs: what is being reflected. */
  readonly name: string;
  /** Watches with bounded events (ApiClient.watch). */
  readonly api: Pick<ApiClient, 'watch'>;
  /**
   * One page of the list; must throw an error with `code` or `statusCode` 410 when the continue
   * token expired, and give up when `signal` aborts (the reflector stops).
   */
  readonly listPage: (continueToken: string | undefined, limit: number, signal: AbortSignal) => Promise<ListPage>;
  readonly watchPath: string;
  readonly watchQuery?: Readonly<Record<string, string>>;
  /** Keeps what the cache needs of an object; undefined drops it. */
  readonly transform: (object: unknown) => T | undefined;
  readonly replace: (items: T[]) => void;
  readonly upsert: (item: T) => void;
  readonly remove: (item: T) => void;
  readonly logger: Logger;
  readonly events: Pick<ServiceAccountSourceEvents, 'listed' | 'watchRestarted'>;
  readonly pageSize?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Server-side watch timeout range, seconds (client-go uses 5 to 10 minutes). */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Runs after each page of a list has been transformed (the page itself is garbage by then). */
  readonly afterPage?: () => void;
  /** Runs after each complete list is in the cache, before the reflector reports itself synced. */
  readonly afterList?: () => void;
}

type WatchOutcome =
  | { readonly kind: 'closed'; readonly resourceVersion: string; readonly hadEvents: boolean }
  | { readonly kind: 'gone' }
  | { readonly kind: 'error'; readonly resourceVersion: string; readonly error: string }
  | { readonly kind: 'stopped' };

function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode: status } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof status === 'number') return status;
  return undefined;
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : undefined;
}

class GoneError extends Error {}

/**
 * The list-then-watch loop of a client-go reflector: list in pages, watch from the list's
 * resourceVersion with bookmarks, resume the watch from the last seen resourceVersion when it
 * closes or fails, and list again only when the server answers 410 Gone.
 */
export class Reflector<T> {
  private stopped = false;
  private synced = false;
  private readonly abort = new AbortController();
  private currentWatch: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private backoffMs: number;

  constructor(private readonly config: ReflectorConfig<T>) {
    this.backoffMs = config.initialBackoffMs ?? 500;
    this.firstSync = new Promise((resolve) => {
      this.resolveFirstSync = resolve;
    });
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first complete list. */
  waitForSync(): Promise<void> {
    return this.firstSync;
  }

  start(): void {
    // The loop handles its own errors; this catch is for a bug in it, which must not end the process.
    this.loop ??= this.run().catch((error: unknown) => {
      this.config.logger.error('reflector-stopped', { resource: this.config.name, error: errorMessage(error) });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.currentWatch?.abort();
    await this.loop;
  }

  private async pause(): Promise<void> {
    const max = this.config.maxBackoffMs ?? 30_000;
    const delay = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(max, this.backoffMs * 2);
    await sleep(delay, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private resetBackoff(): void {
    this.backoffMs = this.config.initialBackoffMs ?? 500;
  }

  private async run(): Promise<void> {
    const { logger, events, name } = this.config;
    let reason: 'initial' | 'gone' | 'error' = 'initial';
    let failuresInARow = 0;
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        events.listed(name, reason);
        resourceVersion = await this.listAll();
      } catch (error) {
        if (this.stopped) return;
        reason = error instanceof GoneError ? 'gone' : 'error';
        failuresInARow += 1;
        logger.warn('list-failed', { resource: name, error: errorMessage(error) });
        // An expired continue token is retried at once (as client-go does), anything else backs off.
        if (reason === 'error' || failuresInARow > 1) await this.pause();
        continue;
      }
      failuresInARow = 0;
      this.runHook('afterList');
      if (!this.synced) {
        this.synced = true;
        this.resolveFirstSync();
      }
      this.resetBackoff();
      if ((await this.watchUntilGone(resourceVersion)) === 'stopped') return;
      reason = 'gone';
    }
  }

  /** A hook's failure is logged, never allowed to stop the list-then-watch loop. */
  private runHook(hook: 'afterPage' | 'afterList'): void {
    try {
      this.config[hook]?.();
    } catch (error) {
      this.config.logger.warn(hook === 'afterList' ? 'after-list-failed' : 'after-page-failed', { resource: this.config.name, error: errorMessage(error) });
    }
  }

  private async listAll(): Promise<string> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      let page: ListPage;
      try {
        page = await this.config.listPage(continueToken, this.config.pageSize ?? 500, this.abort.signal);
      } catch (error) {
        if (statusCode(error) === 410) throw new GoneError(`list continue token expired: ${errorMessage(error)}`);
        throw error;
      }
      for (const object of page.items) {
        const item = this.config.transform(object);
        if (item !== undefined) items.push(item);
      }
      resourceVersion = page.resourceVersion;
      continueToken = page.continueToken || undefined;
      this.runHook('afterPage');
    } while (continueToken !== undefined && !this.stopped);
    this.config.replace(items);
    this.config.logger.info('list-complete', { resource: this.config.name, items: items.length, resourceVersion });
    return resourceVersion;
  }

  /** Watches (resuming after closes and errors) until the server says the resourceVersion is gone. */
  private async watchUntilGone(initialResourceVersion: string): Promise<'gone' | 'stopped'> {
    let resourceVersion = initialResourceVersion;
    while (!this.stopped) {
      const outcome = await this.watchOnce(resourceVersion);
      switch (outcome.kind) {
        case 'stopped':
          return 'stopped';
        case 'gone':
          this.config.logger.info('watch-expired', { resource: this.config.name, resourceVersion });
          return 'gone';
        case 'closed':
          resourceVersion = outcome.resourceVersion;
          this.config.events.watchRestarted(this.config.name, 'closed');
          // A server that closes watches at once must not turn this loop into a busy one.
          if (!outcome.hadEvents) await this.pause();
          break;
        case 'error':
          resourceVersion = outcome.resourceVersion;
          this.config.events.watchRestarted(this.config.name, 'error');
          this.config.logger.warn('watch-failed', { resource: this.config.name, error: outcome.error });
          await this.pause();
          break;
      }
    }
    return 'stopped';
  }

  private watchOnce(resourceVersion: string): Promise<WatchOutcome> {
    const [low, high] = this.config.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.floor(low + Math.random() * (high - low + 1));
    let lastResourceVersion = resourceVersion;
    let receivedEvent = false;

    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let controller: AbortController | undefined;
      // The server closes the watch after timeoutSeconds; a connection silent for longer is dead.
      const budgetMs = (timeoutSeconds + 30) * 1000;
      const idle = setTimeout(() => finish({ kind: 'error', resourceVersion: lastResourceVersion, error: 'watch went silent' }), budgetMs);
      idle.unref();
      const onStop = (): void => finish({ kind: 'stopped' });
      this.abort.signal.addEventListener('abort', onStop, { once: true });
      const finish = (outcome: WatchOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        this.abort.signal.removeEventListener('abort', onStop);
        controller?.abort();
        if (outcome.kind === 'closed' && receivedEvent) this.resetBackoff();
        resolve(outcome);
      };

      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        try {
          apply(type, object);
        } catch (error) {
          // An object the transform or the cache cannot take: restart the watch rather than throw into the client.
          finish({ kind: 'error', resourceVersion: lastResourceVersion, error: `could not apply a ${type} event: ${errorMessage(error)}` });
        }
      };
      const apply = (type: string, object: unknown): void => {
        if (type === 'ERROR') {
          const code = (object as { code?: unknown } | null)?.code;
          const message = (object as { message?: unknown } | null)?.message;
          if (code === 410) finish({ kind: 'gone' });
          else finish({ kind: 'error', resourceVersion: lastResourceVersion, error: `watch error event: ${String(message ?? code)}` });
          return;
        }
        receivedEvent = true;
        const version = resourceVersionOf(object);
        if (type !== 'BOOKMARK') {
          const item = this.config.transform(object);
          if (item !== undefined && (type === 'ADDED' || type === 'MODIFIED')) this.config.upsert(item);
          else if (item !== undefined && type === 'DELETED') this.config.remove(item);
        }
        // Only once applied: a watch restarted after a failure must see this event again.
        if (version) lastResourceVersion = version;
      };
      const onDone = (error: unknown): void => {
        if (error === null || error === undefined) finish({ kind: 'closed', resourceVersion: lastResourceVersion, hadEvents: receivedEvent });
        else if (statusCode(error) === 410) finish({ kind: 'gone' });
        else finish({ kind: 'error', resourceVersion: lastResourceVersion, error: errorMessage(error) });
      };

      controller = new AbortController();
      this.currentWatch = controller;
      const query = new URLSearchParams({ ...this.config.watchQuery, watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
      this.config.api.watch(`${this.config.watchPath}?${query.toString()}`, controller.signal, onEvent).then(
        () => onDone(null),
        (error: unknown) => onDone(error),
      );
    });
  }
}
