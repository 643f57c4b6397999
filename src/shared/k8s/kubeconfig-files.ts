import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { readFileBytes, readTextFile } from '../files/read-file.js';
import { isJsonObject, type JsonObject } from '../json.js';
import type { Parsed } from '../result.js';
import { escapeUnprintable } from '../text.js';
import { parseYaml } from '../yaml.js';

/**
 * A kubeconfig (or the in-cluster config) read into one self-contained object: every file it names
 * (certificate-authority, client-certificate, client-key, an oidc idp-certificate-authority) read
 * through the bounded reader and replaced by its inline `-data` form, so the Kubernetes client it
 * is handed to never opens a file the user named. Token files are read here too (once, to refuse a
 * bad one at start) and then by the token-file authenticator, which reads them again as they
 * rotate. No client library here: this module only reads files.
 */

export const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;
/** Certificates, keys and CA bundles (a system bundle is about 200 KiB). */
export const MAX_KUBECONFIG_PEM_BYTES = 1024 * 1024;
/** A bearer token (a projected ServiceAccount token is about 1 KiB). */
export const MAX_TOKEN_BYTES = 64 * 1024;
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The auth-provider the resolved user carries for a token file: `config.path` names it; the token-file authenticator answers for it. */
export const TOKEN_FILE_PROVIDER = 'pod-identity-webhook-token-file';

export interface ResolvedKubeconfig {
  /** `kubeconfig PATH[:PATH…]` or `in-cluster config`, for messages. */
  readonly source: string;
  /** Which rule found it. */
  readonly origin: KubeconfigOrigin;
  /** The kubeconfig files read (none for the in-cluster config). */
  readonly files: readonly string[];
  /** The context used: --context, else the current-context (`in-cluster` for the in-cluster config). */
  readonly context: string;
  /** The current context, its cluster and its user only, in kubeconfig form, with inline data instead of files. */
  readonly config: JsonObject;
  /** The token files the user reads, with the token each held when it was read here. */
  readonly tokenFiles: ReadonlyMap<string, string>;
}

export interface KubeconfigReadOptions {
  /** KUBECONFIG, and for the in-cluster config KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whose ~/.kube/config is the default (default: the user's home directory, $HOME). */
  readonly home?: string;
  /** The context to use instead of the current-context (kubectl's --context). */
  readonly context?: string;
  /** False: no in-cluster config when no kubeconfig is found (ERR_NO_KUBECONFIG instead). Default true. */
  readonly inCluster?: boolean;
  /** For the in-cluster config: where the ServiceAccount's ca.crt, token and namespace are mounted. */
  readonly serviceAccountDir?: string;
}

/** A token file's token: bounded, trimmed (as client-go trims it), never empty. */
export async function readTokenFile(path: string): Promise<Parsed<string>> {
  const text = await readTextFile(path, { what: 'token-file', maxBytes: MAX_TOKEN_BYTES });
  if (!text.ok) return text;
  const token = text.value.trim();
  return token === '' ? { ok: false, error: `cannot read token-file ${path}: it is empty` } : { ok: true, value: token };
}

/** kubectl resolves the files a kubeconfig names from the kubeconfig's own directory. */
const resolvePath = (dir: string, file: string): string => (isAbsolute(file) ? file : join(dir, file));

/**
 * Replaces `fileKey` of `fields` by `dataKey` holding the file's contents in base64. Both given is
 * refused, as kubectl refuses it. Returns why it could not, or undefined.
 */
async function inlineFile(fields: JsonObject, fileKey: string, dataKey: string, owner: string, dir: string): Promise<string | undefined> {
  const file = fields[fileKey];
  const data = fields[dataKey];
  if (file !== undefined && file !== null && typeof file !== 'string') return `${owner}: ${fileKey} is not a path`;
  if (data !== undefined && data !== null && typeof data !== 'string') return `${owner}: ${dataKey} is not base64 text`;
  delete fields[fileKey];
  if (!file) return undefined;
  if (data) return `${owner} has both ${fileKey} and ${dataKey}: give one`;
  const bytes = await readFileBytes(resolvePath(dir, file), { what: fileKey, maxBytes: MAX_KUBECONFIG_PEM_BYTES });
  if (!bytes.ok) return bytes.error;
  fields[dataKey] = bytes.value.toString('base64');
  return undefined;
}

/** Settings of client-node's own that make it read a file or run a program kubectl would not: never passed on. */
const CLIENT_NODE_ONLY_KEYS = ['tokenFile', 'exec', 'cmd-path'];

/** The oidc auth-provider (the only one kubectl still has), its CA file inlined; any other is refused. */
async function resolveAuthProvider(provider: unknown, owner: string, dir: string): Promise<Parsed<JsonObject>> {
  if (!isJsonObject(provider) || typeof provider.name !== 'string') return { ok: false, error: `${owner}: auth-provider has no name` };
  const { name } = provider;
  if (name === 'gcp' || name === 'azure') return { ok: false, error: `${owner}: auth-provider "${name}" is not supported (kubectl removed it in 1.26): use an exec plugin` };
  if (name !== 'oidc') return { ok: false, error: `${owner}: auth-provider "${name}" is not supported (only oidc is, as in kubectl): use an exec plugin` };
  const config = isJsonObject(provider.config) ? { ...provider.config } : {};
  const foreign = CLIENT_NODE_ONLY_KEYS.find((key) => key in config);
  if (foreign !== undefined) return { ok: false, error: `${owner}: auth-provider "oidc" has "${foreign}", which is not an oidc setting` };
  const problem = await inlineFile(config, 'idp-certificate-authority', 'idp-certificate-authority-data', owner, dir);
  return problem === undefined ? { ok: true, value: { ...provider, config } } : { ok: false, error: problem };
}

/** The user's fields with every file inlined (or, for token-file, handed to the token-file authenticator). */
async function resolveUser(entry: JsonObject, owner: string, dir: string, tokenFiles: Map<string, string>): Promise<Parsed<JsonObject>> {
  const user = { ...entry };
  for (const [fileKey, dataKey] of [['client-certificate', 'client-certificate-data'], ['client-key', 'client-key-data']] as const) {
    const problem = await inlineFile(user, fileKey, dataKey, owner, dir);
    if (problem !== undefined) return { ok: false, error: problem };
  }
  if (user['auth-provider'] !== undefined && user['auth-provider'] !== null) {
    const provider = await resolveAuthProvider(user['auth-provider'], owner, dir);
    if (!provider.ok) return provider;
    user['auth-provider'] = provider.value;
  }
  if (isJsonObject(user.exec) && typeof user.exec.command === 'string' && user.exec.command.includes('/')) {
    // As kubectl: a command with a path in it is relative to the kubeconfig; a bare name is looked up in PATH.
    user.exec = { ...user.exec, command: resolvePath(dir, user.exec.command) };
  }
  const tokenFile = user['token-file'];
  delete user['token-file'];
  if (tokenFile === undefined || tokenFile === null || tokenFile === '') return { ok: true, value: user };
  if (typeof tokenFile !== 'string') return { ok: false, error: `${owner}: token-file is not a path` };
  for (const other of ['auth-provider', 'exec']) {
    if (user[other] !== undefined && user[other] !== null) return { ok: false, error: `${owner} has both token-file and ${other}: give one` };
  }
  const path = resolvePath(dir, tokenFile);
  const token = await readTokenFile(path);
  if (!token.ok) return token;
  tokenFiles.set(path, token.value);
  // The file wins over an inline token, as in client-go.
  delete user.token;
  user['auth-provider'] = { name: TOKEN_FILE_PROVIDER, config: { path } };
  return { ok: true, value: user };
}

/** A named entry of a kubeconfig list (clusters, users, contexts) and the file that defined it (relative paths resolve from there). */
interface NamedEntry {
  readonly value: JsonObject;
  readonly file: string;
}

/** What kubectl's merge of several files keeps: the first file to define a name wins, and the first current-context set. */
interface MergedKubeconfig {
  readonly clusters: Map<string, NamedEntry>;
  readonly users: Map<string, NamedEntry>;
  readonly contexts: Map<string, NamedEntry>;
  currentContext: string | undefined;
}

const LIST_FIELDS = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;

function mergeDocument(merged: MergedKubeconfig, document: JsonObject, file: string): void {
  const current = document['current-context'];
  if (merged.currentContext === undefined && typeof current === 'string' && current !== '') merged.currentContext = current;
  for (const [list, field] of Object.entries(LIST_FIELDS) as [keyof typeof LIST_FIELDS, string][]) {
    const entries = document[list];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!isJsonObject(entry) || typeof entry.name !== 'string' || entry.name === '' || merged[list].has(entry.name)) continue;
      merged[list].set(entry.name, { value: isJsonObject(entry[field]) ? entry[field] : {}, file });
    }
  }
}

/** The contexts a kubeconfig has, for a message: quoted, escaped (names come from the file), the first 20. */
function contextList(names: readonly string[]): string {
  if (names.length === 0) return 'it has none';
  const shown = names.slice(0, 20).map((name) => `"${escapeUnprintable(name.length > 200 ? `${name.slice(0, 200)}…` : name)}"`);
  return `it has ${shown.join(', ')}${names.length > 20 ? ` and ${names.length - 20} more` : ''}`;
}

/** Where the kubeconfig comes from, as kubectl looks: the flag, then $KUBECONFIG, then ~/.kube/config, then the in-cluster config. */
export type KubeconfigOrigin = '--kubeconfig' | '$KUBECONFIG' | '~/.kube/config' | 'in-cluster';

/** At most this many files in $KUBECONFIG (kubectl has no limit; a longer list is a mistake, not a config). */
export const MAX_KUBECONFIG_FILES = 32;

/**
 * The files, read and merged as kubectl merges $KUBECONFIG: the first file to define a cluster,
 * user or context by name wins, and so does the first to set current-context. A missing file is
 * skipped unless it was named by --kubeconfig. Undefined when none of them exists.
 */
async function readKubeconfigFiles(files: readonly string[], origin: KubeconfigOrigin, contextName: string | undefined): Promise<Parsed<ResolvedKubeconfig> | undefined> {
  const merged: MergedKubeconfig = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined };
  const read: string[] = [];
  for (const file of files) {
    const text = await readTextFile(file, { what: 'the kubeconfig', maxBytes: MAX_KUBECONFIG_BYTES });
    if (!text.ok && text.code === 'ERR_FILE_NOT_FOUND' && origin !== '--kubeconfig') continue;
    if (!text.ok) return text;
    const parsed = parseYaml(text.value, `kubeconfig ${file}`);
    if (!parsed.ok) return parsed;
    read.push(file);
    mergeDocument(merged, isJsonObject(parsed.value) ? parsed.value : {}, file);
  }
  if (read.length === 0) return undefined;
  const source = `kubeconfig ${read.join(delimiter)}`;
  const fail = (error: string, code?: string): Parsed<ResolvedKubeconfig> => ({ ok: false, error: `${source}: ${error}`, ...(code === undefined ? {} : { code }) });
  const available = contextList([...merged.contexts.keys()]);
  if (contextName !== undefined && !merged.contexts.has(contextName)) return fail(`has no context "${escapeUnprintable(contextName)}" (${available})`, 'ERR_UNKNOWN_CONTEXT');
  const current = contextName ?? merged.currentContext;
  if (current === undefined) return fail(`has no current-context (pass --context: ${available})`);
  const contextEntry = merged.contexts.get(current);
  if (contextEntry === undefined) return fail(`has no context "${escapeUnprintable(current)}" (its current-context; ${available})`);
  const context = { ...contextEntry.value };
  if (typeof context.cluster !== 'string') return fail(`context "${current}" names no cluster`);
  const clusterEntry = merged.clusters.get(context.cluster);
  if (clusterEntry === undefined) return fail(`context "${current}" names cluster "${context.cluster}", which it does not define`);

  const cluster = { ...clusterEntry.value };
  const problem = await inlineFile(cluster, 'certificate-authority', 'certificate-authority-data', `cluster "${context.cluster}"`, dirname(clusterEntry.file));
  if (problem !== undefined) return fail(problem);
  // Without a user the client applies no TLS settings at all (not even the CA): an empty one keeps them.
  const userName = typeof context.user === 'string' && context.user !== '' ? context.user : '(no user)';
  const userEntry = merged.users.get(userName);
  const tokenFiles = new Map<string, string>();
  const user = await resolveUser(userEntry?.value ?? {}, `user "${userName}"`, dirname(userEntry?.file ?? contextEntry.file), tokenFiles);
  if (!user.ok) return fail(user.error);
  const config = oneContext(current, { name: context.cluster, cluster }, { name: userName, user: user.value }, { ...context, user: userName });
  return { ok: true, value: { source, origin, files: read, context: current, config, tokenFiles } };
}

/** A kubeconfig of one context, its cluster and its user: what client-node is given. */
function oneContext(name: string, cluster: JsonObject, user: JsonObject, context: JsonObject): JsonObject {
  return { apiVersion: 'v1', kind: 'Config', clusters: [cluster], users: [user], contexts: [{ name, context }], 'current-context': name };
}

/** The in-cluster config as client-go builds it: https://HOST:PORT, the mounted CA, the mounted token (read again as it rotates). */
async function readInClusterConfig(env: Readonly<Record<string, string | undefined>>, dir: string, searched: string): Promise<Parsed<ResolvedKubeconfig>> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host) return { ok: false, code: 'ERR_NOT_IN_CLUSTER', error: `${searched}, and not running in a cluster (KUBERNETES_SERVICE_HOST is not set)` };
  const source = 'in-cluster config';
  const fail = (error: string): Parsed<ResolvedKubeconfig> => ({ ok: false, error: `${source}: ${error}` });
  if (!port) return fail('KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not');
  const ca = await readFileBytes(join(dir, 'ca.crt'), { what: 'certificate-authority', maxBytes: MAX_KUBECONFIG_PEM_BYTES });
  if (!ca.ok) return fail(ca.error);
  const tokenPath = join(dir, 'token');
  const token = await readTokenFile(tokenPath);
  if (!token.ok) return fail(token.error);
  const namespace = await readTextFile(join(dir, 'namespace'), { what: 'namespace', maxBytes: 1024 });
  if (!namespace.ok && namespace.code !== 'ERR_FILE_NOT_FOUND') return fail(namespace.error);
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const config = oneContext(
    'in-cluster',
    { name: 'in-cluster', cluster: { server, 'certificate-authority-data': ca.value.toString('base64') } },
    { name: 'in-cluster', user: { 'auth-provider': { name: TOKEN_FILE_PROVIDER, config: { path: tokenPath } } } },
    { cluster: 'in-cluster', user: 'in-cluster', ...(namespace.ok && namespace.value.trim() ? { namespace: namespace.value.trim() } : {}) },
  );
  return { ok: true, value: { source, origin: 'in-cluster', files: [], context: 'in-cluster', config, tokenFiles: new Map([[tokenPath, token.value]]) } };
}

/** The $KUBECONFIG list: kubectl's path-list separator, empty entries and repeats dropped. */
function kubeconfigList(value: string): Parsed<string[]> {
  const files = [...new Set(value.split(delimiter).filter((file) => file !== ''))];
  if (files.length > MAX_KUBECONFIG_FILES) return { ok: false, error: `$KUBECONFIG lists ${files.length} files, more than ${MAX_KUBECONFIG_FILES}` };
  return { ok: true, value: files };
}

/**
 * The kubeconfig as kubectl finds it: `path` (--kubeconfig) when given, else the files of
 * $KUBECONFIG merged, else ~/.kube/config when it exists, else the in-cluster config (unless
 * `inCluster` is false). `context` replaces the current-context. Codes: ERR_NO_KUBECONFIG (nothing
 * found and the in-cluster config not wanted), ERR_NOT_IN_CLUSTER (nothing found, not in a cluster),
 * ERR_UNKNOWN_CONTEXT.
 */
export async function readKubeconfig(path: string | undefined, options: KubeconfigReadOptions = {}): Promise<Parsed<ResolvedKubeconfig>> {
  const env = options.env ?? process.env;
  if (path !== undefined) return (await readKubeconfigFiles([path], '--kubeconfig', options.context)) ?? { ok: false, error: `cannot read the kubeconfig ${path}` };
  const listed = env.KUBECONFIG;
  if (listed !== undefined && listed !== '') {
    const files = kubeconfigList(listed);
    if (!files.ok) return files;
    const found = await readKubeconfigFiles(files.value, '$KUBECONFIG', options.context);
    if (found !== undefined) return found;
  } else {
    const found = await readKubeconfigFiles([join(options.home ?? homedir(), '.kube', 'config')], '~/.kube/config', options.context);
    // A pod running as a user its image does not know (OpenShift's restricted-v2 picks one) may be
    // refused its $HOME: inside a cluster that is no kubeconfig, and the in-cluster config serves.
    const homeRefused = found?.ok === false && found.code === 'ERR_FILE_UNREADABLE' && Boolean(env.KUBERNETES_SERVICE_HOST) && options.inCluster !== false && options.context === undefined;
    if (found !== undefined && !homeRefused) return found;
  }
  const searched = listed ? `no file of $KUBECONFIG (${listed}) exists` : 'no --kubeconfig, $KUBECONFIG or ~/.kube/config';
  if (options.inCluster === false) return { ok: false, code: 'ERR_NO_KUBECONFIG', error: `no kubeconfig: ${searched}` };
  if (options.context !== undefined) return { ok: false, code: 'ERR_UNKNOWN_CONTEXT', error: `--context ${options.context} needs a kubeconfig: ${searched}` };
  return readInClusterConfig(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, searched);
}
