import { EksAuthApiError, type PodCredentials } from './eks-auth-client.js';

/** Credentials with this little time left count as invalid (the real agent's rule). */
export const MIN_VALIDITY_MS = 15_000;
/** EKS Auth errors after which the agent forgets a token's credentials rather than keep serving them. */
export const IRRECOVERABLE_CODES: ReadonlySet<string> = new Set(['ResourceNotFoundException', 'ExpiredTokenException', 'InvalidTokenException', 'AccessDeniedException']);

export interface CacheOptions {
  /** At most this many tokens are kept (least recently used dropped first); 0 turns caching off. */
  readonly maxSize: number;
  /** Credentials are fetched again after at most this long (`--max-credential-retention-before-renewal`); 0 turns caching off. */
  readonly renewAfterMs: number;
  /** After a recoverable failure old credentials are served and the fetch retried after this long (plus up to as much again). */
  readonly retryAfterMs: number;
  readonly now: () => number;
  readonly random?: () => number;
}

export type CacheState = 'hit' | 'miss' | 'evicted';

export interface CacheEvents {
  state(state: CacheState): void;
  error(type: 'Recoverable' | 'NonRecoverable', code: string): void;
}

interface Entry {
  readonly credentials: PodCredentials;
  /** When to fetch again (epoch ms). */
  renewAt: number;
}

/** The fetch raised an error the agent keeps old credentials through. */
const isIrrecoverable = (error: unknown): boolean => error instanceof EksAuthApiError && IRRECOVERABLE_CODES.has(error.code);

/** Fetched credentials that would expire within 15 s are refused (the real agent's text). */
export class ExpiringCredentialsError extends Error {
  constructor() {
    super(`error getting credentials to cache: fetched credentials are expired or will expire within the next ${MIN_VALIDITY_MS / 1000} seconds`);
  }
}

/**
 * The agent's credentials cache, keyed by the whole token string: an entry is served until
 * min(its credentials' remaining time, renewAfter) has passed or its credentials have 15 s or less
 * left; then it is fetched again. An irrecoverable EKS Auth error (no association, expired or
 * invalid token, access denied) drops the entry; any other failure keeps serving the old
 * credentials while they last and retries after retryAfter (+ up to as much jitter). Errors are
 * never cached; concurrent misses for one token share one fetch.
 */
export class CredentialsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<PodCredentials>>();

  constructor(
    private readonly options: CacheOptions,
    private readonly fetchCredentials: (token: string) => Promise<PodCredentials>,
    private readonly events: CacheEvents,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  private get enabled(): boolean {
    return this.options.maxSize > 0 && this.options.renewAfterMs > 0;
  }

  private valid(credentials: PodCredentials): boolean {
    return credentials.expiration.getTime() - this.options.now() > MIN_VALIDITY_MS;
  }

  async get(token: string): Promise<PodCredentials> {
    const entry = this.entries.get(token);
    if (entry && this.valid(entry.credentials) && this.options.now() < entry.renewAt) {
      // Least recently used goes first: a hit moves the entry to the end.
      this.entries.delete(token);
      this.entries.set(token, entry);
      this.events.state('hit');
      return entry.credentials;
    }
    this.events.state('miss');
    return this.refresh(token);
  }

  /** Fetches the token's credentials again (one fetch at a time per token). */
  refresh(token: string): Promise<PodCredentials> {
    let pending = this.inFlight.get(token);
    if (!pending) {
      pending = this.fetchAndStore(token).finally(() => this.inFlight.delete(token));
      this.inFlight.set(token, pending);
    }
    return pending;
  }

  /** Tokens whose entries are due for renewal, for a background renewer. */
  due(): string[] {
    const now = this.options.now();
    return [...this.entries].filter(([, entry]) => now >= entry.renewAt).map(([token]) => token);
  }

  private async fetchAndStore(token: string): Promise<PodCredentials> {
    let credentials: PodCredentials;
    try {
      credentials = await this.fetchCredentials(token);
      if (!this.valid(credentials)) throw new ExpiringCredentialsError();
    } catch (error) {
      const code = error instanceof EksAuthApiError ? error.code : error instanceof ExpiringCredentialsError ? 'ExpiringCredentials' : 'Transport';
      const old = this.entries.get(token);
      if (isIrrecoverable(error)) {
        this.events.error('NonRecoverable', code);
        if (old) {
          this.entries.delete(token);
          this.events.state('evicted');
        }
        throw error;
      }
      this.events.error('Recoverable', code);
      if (old && this.valid(old.credentials)) {
        const retry = this.options.retryAfterMs;
        old.renewAt = this.options.now() + retry + Math.floor((this.options.random ?? Math.random)() * retry);
        return old.credentials;
      }
      throw error;
    }
    if (!this.enabled) return credentials;
    const now = this.options.now();
    const remaining = credentials.expiration.getTime() - now;
    this.entries.delete(token);
    this.entries.set(token, { credentials, renewAt: now + Math.min(remaining, this.options.renewAfterMs) });
    while (this.entries.size > this.options.maxSize) {
      this.entries.delete(this.entries.keys().next().value!);
      this.events.state('evicted');
    }
    return credentials;
  }
}
