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
import { withPodIdentities } from '../webhook/pod-identity/source.js';
import {
  addMutationFlags,
  flagValue,
  logLevelFrom,
  logLevelOption,
  mutationOptionsFrom,
  parseBindAddress,
  parseDnsLabel,
  parseDnsSubdomain,
  parseHosts,
  parseIntegerFlag,
  parseNamespacedName,
  parsePort,
} from './flags.js';
import { durationOption } from './duration-flag.js';
import { DUAL_STACK_ADDRESS } from '../shared/http/https-service.js';
import type { ServingCertificates } from '../shared/http/tls.js';
import type { ClusterAccess } from '../shared/k8s/request-auth.js';
import { clusterFlagsGiven, contextOption, findCluster } from './cluster-flags.js';
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
    .addOption(new Option('--kubeconfig <file>', 'cluster mode: kubeconfig to watch ServiceAccounts with (default: $KUBECONFIG, ~/.kube/config, else the in-cluster config)'))
    .addOption(contextOption())
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
    .addOption(durationOption('--lookup-timeout', 'cluster mode: budget for the live GET of a ServiceAccount missing from the cache', { unit: 'ms', min: 1, max: 60_000, default: 2000 }))
    .addOption(durationOption('--shutdown-timeout', 'on SIGTERM, how long in-flight requests may take before connections are cut', { unit: 's', min: 0, max: 3600, default: 20 }))
    .addOption(durationOption('--shutdown-delay', 'on SIGTERM, keep serving (not ready) this long before closing, so endpoints drop the pod first', { unit: 's', min: 0, max: 300, default: 0 }))
    .addOption(logLevelOption());
  return addMutationFlags(command);
}

/** Cluster mode's access to the API server: the kubeconfig as kubectl finds it, else the in-cluster config; undefined in local mode. */
async function clusterAccess(values: OptionValues, logger: Logger): Promise<ClusterAccess | undefined> {
  if (typed(values, 'serviceAccounts', isOptionalString) !== undefined) {
    if (clusterFlagsGiven(values)) throw new UsageError('--service-accounts (local mode) and --kubeconfig or --context (cluster mode) exclude each other');
    return undefined;
  }
  // Cluster mode's modules load only in cluster mode: see program.ts.
  const cluster = await findCluster(values, { inCluster: true });
  if ('missing' in cluster) throw new UsageError(`no ServiceAccount source: pass --service-accounts PATH (local mode) or --kubeconfig PATH, or run inside a cluster (${cluster.missing})`);
  logger.log('debug', 'kubeconfig', { source: cluster.found.source.description, server: cluster.found.access.server });
  return cluster.found.access;
}

async function buildSource(values: OptionValues, options: MutationOptions, logger: Logger, metrics: WebhookMetrics, cluster: ClusterAccess | undefined): Promise<ServiceAccountSource> {
  const configMap = typed(values, 'watchConfigMap', isOptionalString);
  if (cluster === undefined) {
    if (configMap !== undefined) throw new UsageError('--watch-config-map needs cluster mode (--kubeconfig or in-cluster), not --service-accounts');
    const loaded = await StaticServiceAccountSource.load(typed(values, 'serviceAccounts', isString), options.annotationPrefix);
    if (!loaded.ok) throw new UsageError(loaded.error);
    return loaded.value;
  }
  const { ClusterServiceAccountSource } = await import('../webhook/serviceaccounts/cluster-source.js');
  const { listMemoryHooks } = await import('../webhook/serviceaccounts/list-memory.js');
  const [namespace, name] = configMap?.split('/') ?? [];
  const source = new ClusterServiceAccountSource({
    cluster,
    annotationPrefix: options.annotationPrefix,
    logger,
    events: metrics.serviceAccounts,
    lookupTimeoutMs: typed(values, 'lookupTimeout', isNumber),
    roleMappingConfigMap: namespace && name ? { namespace, name } : undefined,
    listMemory: listMemoryHooks(logger),
  });
  source.start();
  return source;
}

/** How the serving certificate is kept: files (cert-manager or by hand), or managed by the webhook itself. */
interface Certificates {
  readonly serving: ServingCertificates | undefined;
  /** The readiness check of the caBundle, once the server runs (its certificate provider). */
  readonly readiness: ((served: () => Buffer) => () => Readonly<Record<string, boolean>>) | undefined;
  stop(): void;
}

async function buildCertificates(values: OptionValues, cluster: ClusterAccess | undefined, logger: Logger, metrics: WebhookMetrics): Promise<Certificates> {
  const none: Certificates = { serving: undefined, readiness: undefined, stop: () => undefined };
  // `start` has no certificate flags: its own files, always.
  if (values.certificateMode === undefined) return none;
  const mode = typed(values, 'certificateMode', (value): value is string => value === 'files' || value === 'self-managed');
  const configurationName = typed(values, 'webhookConfiguration', isOptionalString);
  if (mode === 'files' && configurationName === undefined) return none;
  if (cluster === undefined) throw new UsageError(`${mode === 'self-managed' ? '--certificate-mode self-managed' : '--webhook-configuration'} needs cluster mode (--kubeconfig or in-cluster)`);
  const { ApiClient } = await import('../shared/k8s/api-client.js');
  const { WebhookConfigurationBundle } = await import('../webhook/certificates/webhook-configuration.js');
  const api = new ApiClient(cluster);
  const intervalMs = typed(values, 'certificateCheckInterval', isNumber) * 1000;
  if (mode === 'files') {
    const { CaBundleWatch } = await import('../webhook/certificates/ca-bundle-watch.js');
    let watch: InstanceType<typeof CaBundleWatch> | undefined;
    return {
      serving: undefined,
      readiness: (served) => {
        watch = new CaBundleWatch(new WebhookConfigurationBundle(api, configurationName!), served, intervalMs, logger);
        watch.start();
        return () => ({ caBundle: watch!.isReady() });
      },
      stop: () => {
        watch?.stop();
        api.close();
      },
    };
  }
  if (configurationName === undefined) throw new UsageError('--certificate-mode self-managed needs --webhook-configuration NAME (the configuration whose caBundle it writes)');
  const { SelfManagedCertificates } = await import('../webhook/certificates/self-managed.js');
  const secret = typed(values, 'certificateSecret', (value): value is { namespace: string; name: string } => typeof value === 'object' && value !== null);
  const managed = await SelfManagedCertificates.create({
    api,
    secret,
    webhookConfiguration: configurationName,
    service: typed(values, 'certificateService', isString),
    hosts: typed(values, 'certificateHosts', (value): value is string[] => Array.isArray(value)),
    validitySeconds: typed(values, 'certificateValidity', isNumber),
    checkIntervalMs: intervalMs,
    logger,
    events: metrics.selfManagedCertificates,
  });
  if (!managed.ok) throw new UsageError(managed.error);
  return {
    serving: managed.value,
    readiness: () => () => ({ caBundle: managed.value.caBundleReady() }),
    stop: () => {
      managed.value.stop();
      api.close();
    },
  };
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
  const cluster = await clusterAccess(values, logger);
  const certificates = await buildCertificates(values, cluster, logger, metrics);
  const { podIdentitySource } = await import('./pod-identity-flags.js');
  const identities = await podIdentitySource(values, logger, metrics, cluster).catch((error: unknown) => {
    certificates.stop();
    throw error;
  });
  const serviceAccounts = await buildSource(values, options, logger, metrics, cluster).catch(async (error: unknown) => {
    certificates.stop();
    await identities?.stop();
    throw error;
  });
  const source = identities ? withPodIdentities(serviceAccounts, identities) : serviceAccounts;
  let webhook: RunningWebhook | undefined;
  const readiness = certificates.readiness?.(() => webhook?.certificates.certificate() ?? Buffer.alloc(0));
  try {
    webhook = await startWebhook({
      servingCertificates: certificates.serving,
      readinessChecks: readiness,
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
    certificates.stop();
    await source.stop();
    if (error instanceof ServiceStartError) throw new UsageError(error.message);
    throw error;
  }
  const running = webhook;
  closeOnSignal(async () => {
    await running.close();
    certificates.stop();
  }, logger);
  return running;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('run the HTTPS admission webhook (local mode with --service-accounts, else cluster mode)')
    .addOption(new Option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes').default('certs/tls.crt'))
    .addOption(new Option('--tls-key <file>', 'serving key (PEM); reloaded when the file changes').default('certs/tls.key'))
    .addOption(
      new Option('--certificate-mode <mode>', 'files: serve --tls-cert/--tls-key (cert-manager, or made by hand); self-managed: keep a CA and certificate in --certificate-secret and write the caBundle')
        .choices(['files', 'self-managed'])
        .default('files'),
    )
    .addOption(
      new Option('--webhook-configuration <name>', 'cluster mode: the MutatingWebhookConfiguration whose caBundle must verify the serving certificate before the webhook is ready (self-managed: the one it writes)').argParser(
        parseDnsSubdomain,
      ),
    )
    .addOption(
      new Option('--certificate-secret <namespace/name>', 'self-managed: the Secret holding the CA and the serving certificate (created empty beforehand)')
        .default({ namespace: 'pod-identity-webhook', name: 'pod-identity-webhook-certs' }, 'pod-identity-webhook/pod-identity-webhook-certs')
        .argParser(parseNamespacedName),
    )
    .addOption(new Option('--certificate-service <name>', "self-managed: the webhook's Service, in the Secret's namespace (the certificate names it)").default('pod-identity-webhook').argParser(parseDnsLabel))
    .addOption(new Option('--certificate-hosts <hosts>', 'self-managed: extra DNS names or IP addresses for the certificate, comma-separated').default([]).argParser(parseHosts))
    .addOption(
      new Option('--certificate-validity <seconds>', 'self-managed: lifetime of a serving certificate; renewed when two thirds have passed')
        .default(90 * 86400)
        .argParser(parseIntegerFlag(60, 398 * 86400)),
    )
    .addOption(durationOption('--certificate-check-interval', 'how often the Secret (self-managed) and the caBundle are checked', { unit: 's', min: 1, max: 3600, default: 60 }));
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
    if (values.serviceAccounts === undefined && !clusterFlagsGiven(values)) values.serviceAccounts = examples;
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
          : `pod-identity-webhook is running in cluster mode (ServiceAccounts from the API server of ${typed(values, 'kubeconfig', isOptionalString) ?? 'the kubeconfig'}) on ${url}`,
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
