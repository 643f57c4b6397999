import type { KubeConfig } from '@kubernetes/client-node';
import { isJsonObject } from '../json.js';
import { readTokenFile, TOKEN_FILE_PROVIDER } from './kubeconfig-files.js';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];
type User = Parameters<Authenticator['isAuthProvider']>[0];
type RequestOptions = Parameters<Authenticator['applyAuthentication']>[1];

/** client-go reads a token file again after a minute: a projected ServiceAccount token rotates. */
export const TOKEN_MAX_AGE_MS = 60_000;

/**
 * The bearer token of a token file (a kubeconfig's token-file, the in-cluster ServiceAccount token),
 * read through the bounded reader and read again once it is older than `maxAgeMs`, as client-go
 * does. A read that fails keeps the last good token (client-go too): a file replaced by a FIFO or
 * removed for a moment does not stop the requests, and the next one tries again.
 */
export class TokenFileAuthenticator implements Authenticator {
  private readonly tokens = new Map<string, { token: string; readAt: number }>();
  private readonly reading = new Map<string, Promise<void>>();

  /** `initial`: the token each file held when the kubeconfig was read. */
  constructor(
    initial: ReadonlyMap<string, string>,
    private readonly maxAgeMs = TOKEN_MAX_AGE_MS,
  ) {
    const now = Date.now();
    for (const [path, token] of initial) this.tokens.set(path, { token, readAt: now });
  }

  isAuthProvider(user: User): boolean {
    return isJsonObject(user.authProvider) && user.authProvider.name === TOKEN_FILE_PROVIDER;
  }

  async applyAuthentication(user: User, opts: RequestOptions): Promise<void> {
    const config: unknown = isJsonObject(user.authProvider) ? user.authProvider.config : undefined;
    const path = isJsonObject(config) && typeof config.path === 'string' ? config.path : undefined;
    if (path === undefined) return;
    const token = await this.token(path);
    if (token === undefined) return;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    headers.Authorization = `Bearer ${token}`;
  }

  /** The file's token: the one read last, unless it is older than `maxAgeMs` (then the file is read again first). */
  async token(path: string): Promise<string | undefined> {
    const cached = this.tokens.get(path);
    if (cached === undefined || Date.now() - cached.readAt > this.maxAgeMs) await this.reread(path);
    return this.tokens.get(path)?.token;
  }

  /** One read at a time per file, however many requests are waiting for it. */
  private reread(path: string): Promise<void> {
    let pending = this.reading.get(path);
    if (pending === undefined) {
      pending = readTokenFile(path).then((read) => {
        this.reading.delete(path);
        if (read.ok) this.tokens.set(path, { token: read.value, readAt: Date.now() });
      });
      this.reading.set(path, pending);
    }
    return pending;
  }
}
