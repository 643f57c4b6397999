import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { join, relative, resolve } from 'node:path';
import { CERT_FILES, existingCertificateFiles, writeCertificateFiles } from '../shared/certs/files.js';
import type { MutationOptions } from '../webhook/engine/types.js';
import { createLogger, type Logger } from '../shared/log.js';
import { packageRoot } from '../shared/package-info.js';
import { createWebhookMetrics, type WebhookMetrics } from '../webhook/server/metrics.js';
import { createRegistry } from '../shared/metrics.js';
import { type RunningWebhook, startWebhook, ServiceStartError } from '../webhook/server/webhook.js';
import type { ServiceAccountSource } from '../webhook/serviceaccounts/source.js';
import { StaticServiceAccountSource } from '../webhook/serviceaccounts/static-source.js';
import { withPodIdentities } from '../webhook/pod-identity/source.js';
import { addMutationFlags, flagValue, logLevelFrom, logLevelOption, mutationOptionsFrom, parseBindAddress, parseIntegerFlag, parsePort } from './flags.js';
import { closeOnSignal } from './signals.js';
import { UsageError } from './usage-error.js';

const { typed, isString, isNumber, isOptionalString } = flagValue;

function parseObjectReference(raw: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(raw)) {
    throw new InvalidArgumentError(`"${raw}" is not NAMESPACE/NAME`);
  }
  return raw;
}

/** Flags shared by `serve` and `start` (start changes some defaults). */
function addServerFlags(command: Command): Command {
  command
    .addOption(new Option('--port <port>', 'HTTPS port of the admission server').default(8443).argParser(parsePort))
    .addOption(
      new Option('--bind-address <address>', 'address to listen on (default: 127.0.0.1 in local mode, 0.0.0.0 in cluster mode)').argParser(
        parseBindAddress,
      ),
    )
    .addOption(new Option('--metrics-port <port>', 'HTTP port serving /metrics (Prometheus format)').default(9999).argParser(parsePort))
    .addOption(new Option('--service-accounts <path>', 'local mode: ServiceAccount manifests (a YAML/JSON file or a directory)'))
    .addOption(new Option('--kubeconfig <file>', 'cluster mode: kubeconfig to watch ServiceAccounts with (default: in-cluster config)'))
    .addOption(
      new Option('--watch-config-map <namespace/name>', 'cluster mode: ConfigMap mapping namespace/serviceaccount to role settings').argParser(
        parseObjectReference,
      ),
    )
    .addOption(new Option('--watch-container-credentials-config <file>', 'EKS Pod Identity: identities JSON file ({"identities":[{"namespace","serviceAccount"}]}), watched'))
    .addOption(
      new Option('--watch-container-credentials-config-map <namespace/name>', 'cluster mode, EKS Pod Identity: ConfigMap whose config key holds the identities JSON, watched').argParser(
        parseObjectReference,
      ),
    )
    .addOption(
      new Option('--lookup-timeout <ms>', 'cluster mode: budget for the live GET of a ServiceAccount missing from the cache')
        .default(2000)
        .argParser(parseIntegerFlag(1, 60_000)),
    )
    .addOption(
      new Option('--shutdown-timeout <seconds>', 'on SIGTERM, how long in-flight requests may take before connections are cut')
        .default(20)
        .argParser(parseIntegerFlag(0, 3600)),
    )
    .addOption(logLevelOption());
  return addMutationFlags(command);
}

async function buildSource(values: OptionValues, options: MutationOptions, logger: Logger, metrics: WebhookMetrics): Promise<ServiceAccountSource> {
  const serviceAccountsPath = typed(values, 'serviceAccounts', isOptionalString);
  const kubeconfigPath = typed(values, 'kubeconfig', isOptionalString);
  const configMap = typed(values, 'watchConfigMap', isOptionalString);
  if (serviceAccountsPath !== undefined) {
    if (kubeconfigPath !== undefined) throw new UsageError('--service-accounts (local mode) and --kubeconfig (cluster mode) exclude each other');
    if (configMap !== undefined) throw new UsageError('--watch-config-map needs cluster mode (--kubeconfig or in-cluster), not --service-accounts');
    const loaded = await StaticServiceAccountSource.load(serviceAccountsPath, options.annotationPrefix);
    if (!loaded.ok) throw new UsageError(loaded.error);
    return loaded.value;
  }
  // Cluster mode's modules (and @kubernetes/client-node) load only in cluster mode: see program.ts.
  const { loadKubeConfig } = await import('../shared/k8s/kubeconfig.js');
  const { ClusterServiceAccountSource } = await import('../webhook/serviceaccounts/cluster-source.js');
  const kubeConfig = loadKubeConfig(kubeconfigPath);
  if (!kubeConfig.ok) throw new UsageError(kubeConfig.error);
  const [namespace, name] = configMap?.split('/') ?? [];
  const source = new ClusterServiceAccountSource({
    kubeConfig: kubeConfig.value,
    annotationPrefix: options.annotationPrefix,
    logger,
    events: metrics.serviceAccounts,
    lookupTimeoutMs: typed(values, 'lookupTimeout', isNumber),
    roleMappingConfigMap: namespace && name ? { namespace, name } : undefined,
  });
  source.start();
  return source;
}

/** --bind-address, else loopback in local mode and every interface in cluster mode. */
function bindAddressOf(values: OptionValues): string {
  const localMode = typed(values, 'serviceAccounts', isOptionalString) !== undefined;
  return typed(values, 'bindAddress', isOptionalString) ?? (localMode ? '127.0.0.1' : '0.0.0.0');
}

async function runServer(values: OptionValues, tls: { cert: string; key: string }): Promise<RunningWebhook> {
  const options = mutationOptionsFrom(values);
  const logger = createLogger(undefined, logLevelFrom(values));
  const metrics = createWebhookMetrics(createRegistry());
  const { podIdentitySource } = await import('./pod-identity-flags.js');
  const identities = await podIdentitySource(values, logger, metrics);
  const serviceAccounts = await buildSource(values, options, logger, metrics).catch(async (error: unknown) => {
    await identities?.stop();
    throw error;
  });
  const source = identities ? withPodIdentities(serviceAccounts, identities) : serviceAccounts;
  let webhook: RunningWebhook;
  try {
    webhook = await startWebhook({
      bindAddress: bindAddressOf(values),
      port: typed(values, 'port', isNumber),
      metricsPort: typed(values, 'metricsPort', isNumber),
      tlsCertPath: tls.cert,
      tlsKeyPath: tls.key,
      options,
      serviceAccounts: source,
      logger,
      metrics,
      shutdownTimeoutMs: typed(values, 'shutdownTimeout', isNumber) * 1000,
    });
  } catch (error) {
    await source.stop();
    if (error instanceof ServiceStartError) throw new UsageError(error.message);
    throw error;
  }
  closeOnSignal(() => webhook.close(), logger);
  return webhook;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('run the HTTPS admission webhook (local mode with --service-accounts, else cluster mode)')
    .addOption(new Option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes').default('certs/tls.crt'))
    .addOption(new Option('--tls-key <file>', 'serving key (PEM); reloaded when the file changes').default('certs/tls.key'));
  addServerFlags(command).action(async (values: OptionValues) => {
    await runServer(values, { cert: typed(values, 'tlsCert', isString), key: typed(values, 'tlsKey', isString) });
  });
}

function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith('..') ? path : shown;
}

export function registerStart(program: Command): void {
  const examples = join(packageRoot(), 'manifests', 'examples');
  const command = program
    .command('start')
    .description('try the webhook locally: certificates generated on first run, example ServiceAccounts, no cluster')
    .addOption(new Option('--certs-dir <dir>', 'where certificates are generated and read').default('certs'));
  addServerFlags(command).action(async (values: OptionValues) => {
    // Local mode with the examples unless a ServiceAccount source was chosen.
    if (values.serviceAccounts === undefined && values.kubeconfig === undefined) values.serviceAccounts = examples;
    const certsDir = resolve(typed(values, 'certsDir', isString));
    const present = await existingCertificateFiles(certsDir);
    if (!present.includes(CERT_FILES.cert) || !present.includes(CERT_FILES.key)) {
      const { generateCertificates } = await import('../shared/certs/generate.js');
      const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['localhost', '127.0.0.1'] });
      await writeCertificateFiles(certsDir, certificates);
      process.stderr.write(`generated a CA and a serving certificate for localhost/127.0.0.1 in ${displayPath(certsDir)}/\n`);
    }
    const webhook = await runServer(values, { cert: join(certsDir, CERT_FILES.cert), key: join(certsDir, CERT_FILES.key) });
    const host = bindAddressOf(values);
    const review = join(examples, 'admission-review.json');
    process.stderr.write(
      [
        '',
        `pod-identity-webhook is running in local mode (no cluster) on https://${host}:${webhook.port}`,
        'Send it the example AdmissionReview:',
        '',
        `  curl --cacert ${displayPath(join(certsDir, CERT_FILES.caCert))} -H 'Content-Type: application/json' \\`,
        `    --data-binary @${displayPath(review)} https://${host}:${webhook.port}/mutate`,
        '',
        "Append  | jq -r .response.patch | base64 -d | jq  to read the patch. Stop with Ctrl-C.",
        '',
      ].join('\n'),
    );
  });
}
