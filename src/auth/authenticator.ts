import type { Parsed } from '../k8s/objects.js';
import type { Logger } from '../log.js';
import { readTextFile } from '../read-file.js';
import { type FileWatch, watchFiles } from '../watch-files.js';
import { type HttpsServiceConfig, type RunningHttpsService, startHttpsService, WebhookStartError } from '../server/https-service.js';
import { type AwsAuthConfig, readAwsAuth } from './aws-auth.js';
import { createAuthenticatorApp } from './tokenreview.js';

/**
 * The aws-auth ConfigMap from a file, reloaded when the file changes (as a mounted ConfigMap
 * updates). An unreadable update keeps the last good mapping; bad entries are skipped and logged.
 */
export class AwsAuthFile {
  private watch: FileWatch | undefined;

  private constructor(
    private readonly path: string,
    private current: AwsAuthConfig,
    private readonly logger: Logger,
  ) {}

  private static async read(path: string, logger: Logger): Promise<Parsed<AwsAuthConfig>> {
    const text = await readTextFile(path);
    if (!text.ok) return text;
    const { config, problems } = readAwsAuth(text.value);
    const fatal = problems.find((problem) => problem.where === 'file');
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

  async reload(): Promise<boolean> {
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

export interface AuthenticatorConfig extends HttpsServiceConfig {
  readonly clusterId: string;
  readonly awsAuthPath: string;
  readonly labStsOrigins: readonly string[];
  readonly stsTimeoutMs: number;
}

/** The TokenReview authentication webhook over HTTPS. */
export async function startAuthenticator(config: AuthenticatorConfig): Promise<RunningHttpsService> {
  const awsAuth = await AwsAuthFile.load(config.awsAuthPath, config.logger);
  if (!awsAuth.ok) throw new WebhookStartError(awsAuth.error);
  awsAuth.value.start();
  try {
    return await startHttpsService({
      ...config,
      createApp: (isShuttingDown) =>
        createAuthenticatorApp({
          clusterId: config.clusterId,
          labStsOrigins: config.labStsOrigins,
          awsAuth: () => awsAuth.value.config,
          stsTimeoutMs: config.stsTimeoutMs,
          logger: config.logger,
          metrics: config.metrics,
          ready: () => !isShuttingDown(),
        }),
      onClosed: async () => awsAuth.value.stop(),
      describe: () => ({ clusterId: config.clusterId, awsAuth: config.awsAuthPath, labSts: [...config.labStsOrigins] }),
    });
  } catch (error) {
    awsAuth.value.stop();
    throw error;
  }
}
