import type { Parsed } from '../shared/result.js';
import { errorMessage, type LogFields, type Logger } from '../shared/log.js';
import { readTextFile } from '../shared/files/read-file.js';
import { type FileWatch, serialized, watchFiles } from '../shared/files/watch-files.js';
import { type HttpsServiceConfig, type RunningHttpsService, startHttpsService, ServiceStartError } from '../shared/http/https-service.js';
import { type AccessEntries, policyNotes, readAccessEntries } from './access-entries.js';
import type { AuthenticationMode } from './authentication-modes.js';
import { type AwsAuthConfig, malformedArn, readAwsAuth } from './aws-auth.js';
import type { AuthenticatorMetrics } from './metrics.js';
import { DEFAULT_RESERVED_PREFIXES, type ReservedPrefixes } from './reserved-prefixes.js';
import type { StsPartition } from './token.js';
import { createAuthenticatorApp } from './tokenreview.js';

/** Kubernetes refuses ConfigMaps over 1 MiB; a larger file is not an aws-auth ConfigMap. */
const MAX_CONFIGMAP_BYTES = 1024 * 1024;
/** describe-access-entry outputs are under 1 KiB each; 16 MiB is thousands of entries. */
const MAX_ACCESS_ENTRIES_BYTES = 16 * 1024 * 1024;

interface WatchedFileKind<T> {
  /** `aws-auth`: names the file in messages and log events (`aws-auth-loaded`, `aws-auth-reload-failed`). */
  readonly what: string;
  readonly maxBytes: number;
  readonly parse: (text: string, path: string, logger: Logger) => Parsed<T>;
  readonly describe: (value: T) => LogFields;
}

/**
 * A configuration file reloaded when it changes (as a mounted ConfigMap updates). An update that
 * cannot be used keeps the last good one, and says why in the log.
 */
export class WatchedFile<T> {
  private watch: FileWatch | undefined;
  /** Reads the file again; resolves to whether the new contents are in force. One reload at a time, never rejects. */
  readonly reload: () => Promise<boolean>;

  private constructor(
    private readonly path: string,
    private current: T,
    private readonly kind: WatchedFileKind<T>,
    private readonly logger: Logger,
  ) {
    this.reload = serialized(
      () => this.reloadNow(),
      (error) => {
        this.logger.error(`${this.kind.what}-reload-failed`, { error: errorMessage(error) });
        return false;
      },
    );
  }

  private static async read<T>(path: string, kind: WatchedFileKind<T>, logger: Logger): Promise<Parsed<T>> {
    const text = await readTextFile(path, { what: kind.what, maxBytes: kind.maxBytes });
    return text.ok ? kind.parse(text.value, path, logger) : text;
  }

  static async load<T>(path: string, kind: WatchedFileKind<T>, logger: Logger): Promise<Parsed<WatchedFile<T>>> {
    const value = await WatchedFile.read(path, kind, logger);
    return value.ok ? { ok: true, value: new WatchedFile(path, value.value, kind, logger) } : value;
  }

  get value(): T {
    return this.current;
  }

  start(): void {
    this.watch = watchFiles([this.path], () => void this.reload(), {
      debounceMs: 100,
      onError: (directory, error) => this.logger.warn(`${this.kind.what}-watch-failed`, { directory, error: error.message }),
    });
  }

  private async reloadNow(): Promise<boolean> {
    const value = await WatchedFile.read(this.path, this.kind, this.logger);
    if (!value.ok) {
      this.logger.error(`${this.kind.what}-reload-failed`, { error: value.error });
      return false;
    }
    this.current = value.value;
    this.logger.info(`${this.kind.what}-loaded`, this.kind.describe(value.value));
    return true;
  }

  stop(): void {
    this.watch?.close();
    this.watch = undefined;
  }
}

/**
 * aws-auth: an update that is not a ConfigMap, or whose mapRoles/mapUsers/mapAccounts is not a
 * YAML list, keeps the last good mapping (it would drop every mapping in it); single bad entries
 * are skipped and logged.
 */
export const AWS_AUTH_FILE: WatchedFileKind<AwsAuthConfig> = {
  what: 'aws-auth',
  maxBytes: MAX_CONFIGMAP_BYTES,
  parse: (text, path, logger) => {
    const { config, problems } = readAwsAuth(text);
    const fatal = problems.find((problem) => problem.where === 'file' || problem.rule === 'invalid-yaml');
    if (fatal) return { ok: false, error: `${path}: ${fatal.message}` };
    for (const problem of problems) logger.warn('aws-auth-entry-skipped', { file: path, where: problem.where, problem: problem.message });
    for (const entry of [...config.roles, ...config.users]) {
      const malformed = malformedArn(entry);
      if (malformed) logger.warn('aws-auth-entry-refused', { file: path, where: entry.where, problem: malformed });
    }
    return { ok: true, value: config };
  },
  describe: (config) => ({ roles: config.roles.length, users: config.users.length, accounts: config.accounts.length }),
};

/** Access entries: one entry EKS could not have created refuses the whole file (the last good one stays). */
export function accessEntriesFile(clusterName: string): WatchedFileKind<AccessEntries> {
  return {
    what: 'access-entries',
    maxBytes: MAX_ACCESS_ENTRIES_BYTES,
    parse: (text, path, logger) => {
      const read = readAccessEntries(text, { source: path, clusterName });
      // Accepted, but a login through such an entry gets less than EKS would give: said once per load.
      if (read.ok) for (const note of policyNotes(read.value)) logger.warn('access-entries-policy-note', { file: path, note });
      return read;
    },
    describe: (entries) => ({ entries: entries.entries.length, policies: entries.entries.reduce((sum, entry) => sum + entry.policies.length, 0) }),
  };
}

/** The aws-auth ConfigMap from a file, reloaded when the file changes. */
export const AwsAuthFile = {
  load: (path: string, logger: Logger): Promise<Parsed<WatchedFile<AwsAuthConfig>>> => WatchedFile.load(path, AWS_AUTH_FILE, logger),
};

export interface AuthenticatorConfig extends Omit<HttpsServiceConfig, 'registry'> {
  readonly metrics: AuthenticatorMetrics;
  readonly clusterId: string;
  readonly authenticationMode: AuthenticationMode;
  /** Required in CONFIG_MAP and API_AND_CONFIG_MAP; not read in API. */
  readonly awsAuthPath: string | undefined;
  /** Required in API_AND_CONFIG_MAP and API; refused in CONFIG_MAP, as EKS refuses access entries there. */
  readonly accessEntriesPath: string | undefined;
  readonly labStsOrigins: readonly string[];
  /** Only this partition's STS hosts; every partition's when undefined. */
  readonly partition?: StsPartition | undefined;
  readonly stsTimeoutMs: number;
  /** The username prefixes each backend may not yield (default: DEFAULT_RESERVED_PREFIXES). */
  readonly reservedUsernamePrefixes?: ReservedPrefixes;
}

/** Which files a mode reads: one line naming the flag for a combination EKS has no counterpart of. */
function modeProblem(config: AuthenticatorConfig): string | undefined {
  const { authenticationMode: mode } = config;
  if (mode === 'CONFIG_MAP' && config.accessEntriesPath !== undefined) {
    return '--access-entries needs --authentication-mode API_AND_CONFIG_MAP or API: EKS has no access entries in CONFIG_MAP mode';
  }
  if (mode !== 'API' && config.awsAuthPath === undefined) return `--authentication-mode ${mode} reads the aws-auth ConfigMap: give --aws-auth`;
  if (mode !== 'CONFIG_MAP' && config.accessEntriesPath === undefined) return `--authentication-mode ${mode} reads access entries: give --access-entries`;
  return undefined;
}

/** The TokenReview authentication webhook over HTTPS. */
export async function startAuthenticator(config: AuthenticatorConfig): Promise<RunningHttpsService> {
  const problem = modeProblem(config);
  if (problem) throw new ServiceStartError(problem);
  const mode = config.authenticationMode;
  const reservedPrefixes = config.reservedUsernamePrefixes ?? DEFAULT_RESERVED_PREFIXES;
  const files: Array<{ start(): void; stop(): void }> = [];
  const stop = (): void => {
    for (const file of files) file.stop();
  };
  let awsAuth: WatchedFile<AwsAuthConfig> | undefined;
  let accessEntries: WatchedFile<AccessEntries> | undefined;
  if (mode !== 'API') {
    const loaded = await WatchedFile.load(config.awsAuthPath!, AWS_AUTH_FILE, config.logger);
    if (!loaded.ok) throw new ServiceStartError(loaded.error);
    awsAuth = loaded.value;
    files.push(awsAuth);
  } else if (config.awsAuthPath !== undefined) {
    config.logger.warn('aws-auth-ignored', { file: config.awsAuthPath, reason: 'authentication mode API does not read the aws-auth ConfigMap' });
  }
  if (mode !== 'CONFIG_MAP') {
    const loaded = await WatchedFile.load(config.accessEntriesPath!, accessEntriesFile(config.clusterId), config.logger);
    if (!loaded.ok) {
      stop();
      throw new ServiceStartError(loaded.error);
    }
    accessEntries = loaded.value;
    files.push(accessEntries);
  }
  for (const file of files) file.start();
  try {
    return await startHttpsService({
      ...config,
      registry: config.metrics.registry,
      createApp: (state) =>
        createAuthenticatorApp({
          clusterId: config.clusterId,
          labStsOrigins: config.labStsOrigins,
          partition: config.partition,
          identitySources: () => ({ mode, awsAuth: awsAuth?.value, accessEntries: accessEntries?.value, reservedPrefixes }),
          stsTimeoutMs: config.stsTimeoutMs,
          logger: config.logger,
          metrics: config.metrics,
          ready: () => !state.isShuttingDown() && state.certificateValid(),
        }),
      onClosed: async () => stop(),
      describe: () => ({
        clusterId: config.clusterId,
        authenticationMode: mode,
        awsAuth: awsAuth ? config.awsAuthPath : undefined,
        accessEntries: config.accessEntriesPath,
        labSts: [...config.labStsOrigins],
        partition: config.partition ?? 'every',
        reservedAwsAuthPrefixes: reservedPrefixes['aws-auth'],
        reservedAccessEntryPrefixes: reservedPrefixes['access-entries'],
      }),
    });
  } catch (error) {
    stop();
    throw error;
  }
}
