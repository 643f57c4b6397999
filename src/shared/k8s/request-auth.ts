import type { RequestOptions } from 'node:https';
import type { User } from '@kubernetes/client-node/dist/config_types.js';
import { errorMessage } from '../log.js';
import { isJsonObject, type JsonObject } from '../json.js';
import type { Parsed } from '../result.js';
import { TOKEN_FILE_PROVIDER } from './kubeconfig-files.js';
import { TokenFileAuthenticator } from './token-file-auth.js';

/**
 * How requests reach one cluster: its server and the kubeconfig's credentials, applied to each
 * request's options. Built from the one-context kubeconfig kubeconfig-files.ts reads (every file
 * already inline) without loading @kubernetes/client-node's `config.js`, which pulls in the whole
 * generated API and costs the serving process ~80 MB resident (bench/README.md, "Where the memory
 * goes"). What it applies is what client-node's `KubeConfig.applyToHTTPSOptions` applies, form by
 * form: the CA, insecure-skip-tls-verify, tls-server-name, the client certificate and key, `as`
 * (Impersonate-User), a bearer token (a token file read again as it rotates), basic auth, and exec
 * plugins through client-node's own `ExecAuth` (its credential cache and expiry). The rarer forms
 * (an auth-provider such as oidc, a proxy-url) load the whole of client-node, lazily, and let its
 * `KubeConfig` apply them, so every kubeconfig form behaves as before.
 */
export interface ClusterAccess {
  /** The API server's URL, without a trailing slash (as client-node keeps it). */
  readonly server: string;
  /** The context's namespace, when it has one. */
  readonly namespace: string | undefined;
  /** Set when requests go through a proxy: then `apply` sets the proxy's agent, and the caller must use it. */
  readonly proxyUrl: string | undefined;
  /** Sets the TLS options and headers (and, through a proxy, the agent) of one request. */
  apply(options: RequestOptions): Promise<void>;
}

export interface ClusterAccessOptions {
  /** The token files the user reads with the token each held when read (kubeconfig-files.ts). */
  readonly tokenFiles?: ReadonlyMap<string, string>;
  /** How long a token read from a file is used before the file is read again. */
  readonly tokenMaxAgeMs?: number;
}

interface Entries {
  readonly clusterName: string;
  readonly cluster: JsonObject;
  readonly userName: string;
  readonly user: JsonObject;
  readonly namespace: string | undefined;
}

/** The current context's cluster and user, as client-node finds them (first entry of a name). */
function currentEntries(config: JsonObject): Parsed<Entries> {
  const named = (list: unknown, name: string, field: string): JsonObject | undefined => {
    const entry = Array.isArray(list) ? list.find((item) => isJsonObject(item) && item.name === name) : undefined;
    return isJsonObject(entry) && isJsonObject(entry[field]) ? entry[field] : undefined;
  };
  const current = config['current-context'];
  if (typeof current !== 'string' || current === '') return { ok: false, error: 'has no current-context' };
  const context = named(config.contexts, current, 'context');
  if (context === undefined || typeof context.cluster !== 'string') return { ok: false, error: `has no context "${current}" naming a cluster` };
  const cluster = named(config.clusters, context.cluster, 'cluster');
  if (cluster === undefined) return { ok: false, error: `has no cluster "${context.cluster}"` };
  const userName = typeof context.user === 'string' ? context.user : '';
  const namespace = typeof context.namespace === 'string' && context.namespace !== '' ? context.namespace : undefined;
  return { ok: true, value: { clusterName: context.cluster, cluster, userName, user: named(config.users, userName, 'user') ?? {}, namespace } };
}

const optionalString = (fields: JsonObject, key: string, owner: string): Parsed<string | undefined> => {
  const value = fields[key];
  if (value === undefined || value === null || value === '') return { ok: true, value: undefined };
  return typeof value === 'string' ? { ok: true, value } : { ok: false, error: `${owner}: ${key} is not text` };
};

/** base64 `-data` fields decoded; client-node decodes them the same way (Buffer.from(data, 'base64')). */
function pemData(fields: JsonObject, key: string, owner: string): Parsed<Buffer | undefined> {
  const text = optionalString(fields, key, owner);
  if (!text.ok || text.value === undefined) return text as Parsed<undefined>;
  const bytes = Buffer.from(text.value, 'base64');
  return bytes.length === 0 ? { ok: false, error: `${owner}: ${key} is not base64` } : { ok: true, value: bytes };
}

/** The parts of a user that need no client library: TLS material and headers, computed once. */
interface StaticAuth {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized?: false;
  readonly servername?: string;
  readonly impersonate?: string;
  readonly token?: string;
  readonly basic?: string;
}

function staticAuth(entries: Entries): Parsed<StaticAuth> {
  const clusterOwner = `cluster "${entries.clusterName}"`;
  const userOwner = `user "${entries.userName}"`;
  const ca = pemData(entries.cluster, 'certificate-authority-data', clusterOwner);
  if (!ca.ok) return ca;
  const cert = pemData(entries.user, 'client-certificate-data', userOwner);
  if (!cert.ok) return cert;
  const key = pemData(entries.user, 'client-key-data', userOwner);
  if (!key.ok) return key;
  const servername = optionalString(entries.cluster, 'tls-server-name', clusterOwner);
  if (!servername.ok) return servername;
  const impersonate = optionalString(entries.user, 'as', userOwner);
  if (!impersonate.ok) return impersonate;
  const token = optionalString(entries.user, 'token', userOwner);
  if (!token.ok) return token;
  const username = optionalString(entries.user, 'username', userOwner);
  if (!username.ok) return username;
  const password = entries.user.password;
  if (password !== undefined && password !== null && typeof password !== 'string') return { ok: false, error: `${userOwner}: password is not text` };
  return {
    ok: true,
    value: {
      ...(ca.value ? { ca: ca.value } : {}),
      ...(cert.value ? { cert: cert.value } : {}),
      ...(key.value ? { key: key.value } : {}),
      ...(entries.cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false as const } : {}),
      ...(servername.value ? { servername: servername.value } : {}),
      ...(impersonate.value ? { impersonate: impersonate.value } : {}),
      ...(token.value ? { token: token.value } : {}),
      // client-node sends basic auth whenever a username is set, the password as given (`undefined` when absent).
      ...(username.value ? { basic: `${username.value}:${password ?? 'undefined'}` } : {}),
    },
  };
}

/** The server URL checked as client-node and client-go need it: http(s), no trailing slash. */
function serverUrl(cluster: JsonObject, owner: string): Parsed<string> {
  const server = cluster.server;
  if (typeof server !== 'string' || server === '') return { ok: false, error: `${owner} has no server` };
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { ok: false, error: `${owner}: server ${JSON.stringify(server.slice(0, 200))} is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, error: `${owner}: server ${JSON.stringify(server.slice(0, 200))} is not http(s)` };
  if (url.protocol === 'http:' && cluster['insecure-skip-tls-verify'] !== true) {
    // client-node refuses every request to such a server; refused here once, at start.
    return { ok: false, error: `${owner}: server ${server} is plain http, which needs insecure-skip-tls-verify: true` };
  }
  return { ok: true, value: server.replace(/\/$/, '') };
}

type Authenticate = (options: RequestOptions) => Promise<void>;

/** An exec plugin, run by client-node's ExecAuth (loaded alone: dist/exec_auth.js does not pull in the API models). */
async function execAuthentication(entries: Entries): Promise<Authenticate> {
  const { ExecAuth } = await import('@kubernetes/client-node/dist/exec_auth.js');
  const execAuth = new ExecAuth();
  // The fields ExecAuth reads (name: its credential cache key; exec: the plugin), as client-node's loader builds them.
  const user = { name: entries.userName, exec: entries.user.exec } as unknown as User;
  return (options) => execAuth.applyAuthentication(user, options);
}

/** The token-file provider kubeconfig-files.ts puts in place of a token file. */
function tokenFileProvider(user: JsonObject): string | undefined {
  const provider = user['auth-provider'];
  if (!isJsonObject(provider) || provider.name !== TOKEN_FILE_PROVIDER || !isJsonObject(provider.config)) return undefined;
  return typeof provider.config.path === 'string' ? provider.config.path : undefined;
}

/**
 * The whole client-node, for what only it does: an auth-provider other than the token file
 * (oidc), or a proxy. Loaded only for such a kubeconfig.
 */
async function clientNodeAccess(config: JsonObject, entries: Entries, server: string, proxyUrl: string | undefined, options: ClusterAccessOptions): Promise<Parsed<ClusterAccess>> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(JSON.stringify(config));
  } catch (error) {
    return { ok: false, error: errorMessage(error).split('\n')[0] ?? 'cannot be loaded' };
  }
  kubeConfig.addAuthenticator(new TokenFileAuthenticator(options.tokenFiles ?? new Map(), options.tokenMaxAgeMs));
  return {
    ok: true,
    value: {
      server,
      namespace: entries.namespace,
      proxyUrl,
      apply: (request) => kubeConfig.applyToHTTPSOptions(request as Parameters<typeof kubeConfig.applyToHTTPSOptions>[0]),
    },
  };
}

/**
 * The access a one-context kubeconfig (kubeconfig-files.ts's `config`, files inline) describes.
 * A problem is one line without the kubeconfig's name (the caller prefixes it).
 */
export async function clusterAccess(config: JsonObject, options: ClusterAccessOptions = {}): Promise<Parsed<ClusterAccess>> {
  const found = currentEntries(config);
  if (!found.ok) return found;
  const entries = found.value;
  const server = serverUrl(entries.cluster, `cluster "${entries.clusterName}"`);
  if (!server.ok) return server;
  const proxyUrl = optionalString(entries.cluster, 'proxy-url', `cluster "${entries.clusterName}"`);
  if (!proxyUrl.ok) return proxyUrl;
  const provider = entries.user['auth-provider'];
  const tokenFile = tokenFileProvider(entries.user);
  if (proxyUrl.value !== undefined || (provider !== undefined && provider !== null && tokenFile === undefined)) {
    return clientNodeAccess(config, entries, server.value, proxyUrl.value, options);
  }

  const fixed = staticAuth(entries);
  if (!fixed.ok) return fixed;
  const auth = fixed.value;
  let authenticate: Authenticate | undefined;
  if (isJsonObject(entries.user.exec)) {
    authenticate = await execAuthentication(entries);
  } else if (tokenFile !== undefined) {
    const files = new TokenFileAuthenticator(options.tokenFiles ?? new Map(), options.tokenMaxAgeMs);
    authenticate = async (request) => {
      const token = await files.token(tokenFile);
      if (token !== undefined) (request.headers as Record<string, string>).Authorization = `Bearer ${token}`;
    };
  }
  return {
    ok: true,
    value: {
      server: server.value,
      namespace: entries.namespace,
      proxyUrl: undefined,
      async apply(request) {
        // In client-node's order: TLS settings, impersonation, the authenticator, then an inline token (which wins), then basic auth.
        if (auth.rejectUnauthorized === false) request.rejectUnauthorized = false;
        if (auth.servername !== undefined) request.servername = auth.servername;
        if (auth.ca !== undefined) request.ca = auth.ca;
        if (auth.cert !== undefined) request.cert = auth.cert;
        if (auth.key !== undefined) request.key = auth.key;
        const headers = (request.headers ??= {}) as Record<string, string>;
        if (auth.impersonate !== undefined) headers['Impersonate-User'] = auth.impersonate;
        if (authenticate !== undefined) await authenticate(request);
        if (auth.token !== undefined) headers.Authorization = `Bearer ${auth.token}`;
        if (auth.basic !== undefined) request.auth = auth.basic;
      },
    },
  };
}
