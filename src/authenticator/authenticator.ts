import type { Parsed } from '../shared/result.js';
import { errorMessage, type Logger } from '../shared/log.js';
import { readTextFile } from '../shared/files/read-file.js';
import { type FileWatch, serialized, watchFiles } from '../shared/files/watch-files.js';
import { type HttpsServiceConfig, type RunningHttpsService, startHttpsService, ServiceStartError } from '../shared/http/https-service.js';
import { type AwsAuthConfig, readAwsAuth } from './aws-auth.js';
import type { AuthenticatorMetrics } from './metrics.js';
import { createAuthenticatorApp } from './tokenreview.js';

/** Kubernetes refuses ConfigMaps over 1 MiB; a larger file is not an aws-auth ConfigMap. */
const MAX_CONFIGMAP_BYTES = 1024 * 1024;

/**
 * The aws-auth ConfigMap from a file, reloaded when the file changes (as a mounted ConfigMap
 * updates). An update that cannot be read, or whose mapRoles/mapUsers/mapAccounts is not a YAML
 * list, keeps the last good mapping; single bad entries are skipped and logged.
 */
export class AwsAuthFile {
  private watch: FileWatch | undefined;
  /** Reads the file again; resolves to whether the new mapping is in force. One reload at a time, never rejects. */
  readonly reload: () => Promise<boolean>;

  private constructor(
    private readonly path: string,
    private current: AwsAuthConfig,
    private readonly logger: Logger,
  ) {
    this.reload = serialized(
      () => this.reloadNow(),
      (error) => {
        this.logger.error('aws-auth-reload-failed', { error: errorMessage(error) });
        return false;
      },
    );
  }

  private static async read(path: string, logger: Logger): Promise<Parsed<AwsAuthConfig>> {
    const text = await readTextFile(path, { what: 'aws-auth', maxBytes: MAX_CONFIGMAP_BYTES });
    if (!text.ok) return text;
    const { config, problems } = readAwsAuth(text.value);
    // A list that is not YAML would drop every mapping in it: keep the last good file instead.
    const fatal = problems.find((problem) => problem.where === 'file' || problem.rule === 'invalid-yaml');
    if (fatal) return { ok: false, error: `${path}: ${fatal.message}` };
    for (const problem of problems) logger.warn('aws-auth-entry-skipped', { file: path, where: problem.where, problem: problem.message });
    return { ok: true, value: config };
  }

  static async load(path: string, logger: Logger): Promise<Parsed<AwsAuthFile>> {
    const config = await AwsAuthFile.read(path, logger);
    return config.ok ? { ok: true, value: new AwsAuthFile(path, config.value, logger) } : config;
  }

  get config(): AwsAuthConfig {
    return this.current;
  }

  start(): void {
    this.watch = watchFiles([this.path], () => void this.reload(), {
      debounceMs: 100,
      onError: (directory, error) => this.logger.warn('aws-auth-watch-failed', { directory, error: error.message }),
    });
  }

  private async reloadNow(): Promise<boolean> {
    const config = await AwsAuthFile.read(this.path, this.logger);
    if (!config.ok) {
      this.logger.error('aws-auth-reload-failed', { error: config.error });
      return false;
    }
    this.current = config.value;
    this.logger.info('aws-auth-loaded', { roles: config.value.roles.length, users: config.value.users.length, accounts: config.value.accounts.length });
    return true;
  }

  stop(): void {
    this.watch?.close();
    this.watch = undefined;
  }
}

export interface AuthenticatorConfig extends Omit<HttpsServiceConfig, 'registry'> {
  readonly metrics: AuthenticatorMetrics;
  readonly clusterId: string;
  readonly awsAuthPath: string;
  readonly labStsOrigins: readonly string[];
  readonly stsTimeoutMs: number;
}

/** The TokenReview authentication webhook over HTTPS. */
export async function startAuthenticator(config: AuthenticatorConfig): Promise<RunningHttpsService> {
  const awsAuth = await AwsAuthFile.load(config.awsAuthPath, config.logger);
  if (!awsAuth.ok) throw new ServiceStartError(awsAuth.error);
  awsAuth.value.start();
  try {
    return await startHttpsService({
      ...config,
      registry: config.metrics.registry,
      createApp: (state) =>
        createAuthenticatorApp({
          clusterId: config.clusterId,
          labStsOrigins: config.labStsOrigins,
          awsAuth: () => awsAuth.value.config,
          stsTimeoutMs: config.stsTimeoutMs,
          logger: config.logger,
          metrics: config.metrics,
          ready: () => !state.isShuttingDown() && state.certificateValid(),
        }),
      onClosed: async () => awsAuth.value.stop(),
      describe: () => ({ clusterId: config.clusterId, awsAuth: config.awsAuthPath, labSts: [...config.labStsOrigins] }),
    });
  } catch (error) {
    awsAuth.value.stop();
    throw error;
  }
}
