import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { readTextFile } from '../shared/files/read-file.js';
import { CERT_FILES, writeCertificateFiles } from '../shared/certs/files.js';
import type { MutationOptions } from '../webhook/engine/types.js';
import { createLogger, type Logger } from '../shared/log.js';
import { packageRoot } from '../shared/package-info.js';
import { createWebhookMetrics, type WebhookMetrics } from '../webhook/server/metrics.js';
import { createRegistry } from '../shared/metrics.js';
import { type RunningWebhook, startWebhook, ServiceStartError } from '../webhook/server/webhook.js';
import type { ServiceAccountSource } from '../webhook/serviceaccounts/source.js';
import { StaticServiceAccountSource } from '../webhook/serviceaccounts/static-source.js';
import { addMutationFlags, flagValue, logLevelFrom, logLevelOption, mutationOptionsFrom, parseBindAddress, parseIntegerFlag, parsePort } from './flags.js';
import { DUAL_STACK_ADDRESS } from '../shared/http/https-service.js';
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
      new Option('--bind-address <address>', 'address to listen on (default: 127.0.0.1 in local mode, :: (IPv6 and IPv4) in cluster mode)').argParser(
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
    .addOption(
      new Option('--shutdown-delay <seconds>', 'on SIGTERM, keep serving (not ready) this long before closing, so endpoints drop the pod first')
        .default(0)
        .argParser(parseIntegerFlag(0, 300)),
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

/** --bind-address, else loopback in local mode and every interface, IPv6 and IPv4, in cluster mode. */
export function bindAddressOf(values: OptionValues): string {
  const localMode = typed(values, 'serviceAccounts', isOptionalString) !== undefined;
  return typed(values, 'bindAddress', isOptionalString) ?? (localMode ? '127.0.0.1' : DUAL_STACK_ADDRESS);
}

async function runServer(values: OptionValues, tls: { cert: string; key: string }): Promise<RunningWebhook> {
  const options = mutationOptionsFrom(values);
  const logger = createLogger(undefined, logLevelFrom(values));
  const metrics = createWebhookMetrics(createRegistry());
  const source = await buildSource(values, options, logger, metrics);
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
      shutdownDelayMs: typed(values, 'shutdownDelay', isNumber) * 1000,
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

/** Where `start` is reached from the same machine: a wildcard address over loopback. */
function localAddress(bindAddress: string): string {
  return bindAddress === DUAL_STACK_ADDRESS || bindAddress === '0.0.0.0' ? '127.0.0.1' : bindAddress;
}

/** Whether the serving certificate in `certsDir` names `host` (an IP address or a DNS name). */
async function certificateCovers(certsDir: string, host: string): Promise<boolean> {
  const file = await readTextFile(join(certsDir, CERT_FILES.cert), { maxBytes: 1024 * 1024 });
  if (!file.ok) return false;
  try {
    const certificate = new X509Certificate(file.value);
    return (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined && new Date(certificate.validTo) > new Date();
  } catch {
    return false;
  }
}

export function registerStart(program: Command): void {
  const examples = join(packageRoot(), 'manifests', 'examples');
  const command = program
    .command('start')
    .description('try the webhook locally: certificates generated on first run, example ServiceAccounts, no cluster')
    .addOption(new Option('--certs-dir <dir>', 'where certificates are generated and read (apart from the certs command\'s certs/)').default('certs/local'));
  addServerFlags(command).action(async (values: OptionValues) => {
    // Local mode with the examples unless a ServiceAccount source was chosen.
    if (values.serviceAccounts === undefined && values.kubeconfig === undefined) values.serviceAccounts = examples;
    const localMode = values.serviceAccounts !== undefined;
    const certsDir = resolve(typed(values, 'certsDir', isString));
    const host = localAddress(bindAddressOf(values));
    // Generated on the first run, and again when the certificate there does not name the address
    // it is reached at (another command wrote it, or --bind-address changed) or has expired.
    if (!(await certificateCovers(certsDir, host)) || !(await certificateCovers(certsDir, 'localhost'))) {
      const { generateCertificates } = await import('../shared/certs/generate.js');
      const hosts = [...new Set(['localhost', '127.0.0.1', '::1', host])];
      const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts });
      await writeCertificateFiles(certsDir, certificates);
      process.stderr.write(`generated a CA and a serving certificate for ${hosts.join(', ')} in ${displayPath(certsDir)}/\n`);
    }
    const webhook = await runServer(values, { cert: join(certsDir, CERT_FILES.cert), key: join(certsDir, CERT_FILES.key) });
    const review = join(examples, 'admission-review.json');
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${webhook.port}`;
    process.stderr.write(
      [
        '',
        localMode
          ? `pod-identity-webhook is running in local mode (ServiceAccounts from ${displayPath(typed(values, 'serviceAccounts', isString))}, no cluster) on ${url}`
          : `pod-identity-webhook is running in cluster mode (ServiceAccounts from the API server of ${typed(values, 'kubeconfig', isOptionalString) ?? 'the in-cluster config'}) on ${url}`,
        'Send it the example AdmissionReview:',
        '',
        `  curl --cacert ${displayPath(join(certsDir, CERT_FILES.caCert))} -H 'Content-Type: application/json' \\`,
        `    --data-binary @${displayPath(review)} ${url}/mutate`,
        '',
        "Append  | jq -r .response.patch | base64 -d | jq  to read the patch. Stop with Ctrl-C.",
        '',
      ].join('\n'),
    );
  });
}
