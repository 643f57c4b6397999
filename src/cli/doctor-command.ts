import { type Command, Option, type OptionValues } from 'commander';
import { readTextFile } from '../shared/files/read-file.js';
import { ECR_TOKEN_AUDIENCE } from '../shared/k8s/credential-provider.js';
import { escapeUnprintable } from '../shared/text.js';
import { parsePodIdentities } from '../webhook/pod-identity/identities.js';
import { contextOption, findCluster } from './cluster-flags.js';
import { durationOption } from './duration-flag.js';
import { addMutationFlags, flagValue, mutationOptionsFrom, parseDnsLabel, parseDnsSubdomain, parseIntegerFlag, parseNamespacedName } from './flags.js';
import { formatStructured, outputFormatFrom, outputOption } from './output-flag.js';
import { UsageError } from './usage-error.js';

const { typed, isString, isNumber, isOptionalString } = flagValue;

type NamespacedName = { readonly namespace: string; readonly name: string };
const isOptionalReference = (value: unknown): value is NamespacedName | undefined => value === undefined || (typeof value === 'object' && value !== null && 'namespace' in value && 'name' in value);

/** The cluster to check, as kubectl finds it, else the in-cluster config. */
async function clusterAccess(values: OptionValues): Promise<import('../shared/k8s/kubeconfig.js').LoadedCluster> {
  const cluster = await findCluster(values, { inCluster: true });
  if ('missing' in cluster) throw new UsageError(`doctor needs a cluster (--kubeconfig FILE or --context NAME): ${cluster.missing}`);
  return cluster.found;
}

/** --watch-container-credentials-config (read once, as render does) or --watch-container-credentials-config-map (read from the cluster). */
async function identitiesSource(values: OptionValues): Promise<import('../diagnose/doctor/index.js').IdentitiesSource | undefined> {
  const file = typed(values, 'watchContainerCredentialsConfig', isOptionalString);
  const configMap = typed(values, 'watchContainerCredentialsConfigMap', isOptionalReference);
  if (file !== undefined && configMap !== undefined) throw new UsageError('--watch-container-credentials-config and --watch-container-credentials-config-map exclude each other');
  if (configMap !== undefined) return { kind: 'configMap', namespace: configMap.namespace, name: configMap.name };
  if (file === undefined) return undefined;
  const text = await readTextFile(file, { what: 'the container credentials config', maxBytes: 1024 * 1024 });
  if (!text.ok) throw new UsageError(text.error);
  const identities = parsePodIdentities(text.value, file);
  if (!identities.ok) throw new UsageError(identities.error);
  return { kind: 'file', source: file, identities: identities.value };
}

export function registerDoctor(program: Command): void {
  const command = program
    .command('doctor')
    .description(
      "check a live installation: the webhook configuration and its selectors, its endpoints and certificate, ServiceAccount annotations, pods running without their identity, nodes' RBAC for image-pull tokens (eks.amazonaws.com/ecr-role-arn), the cluster's OIDC documents; exits 1 on an error finding, 3 when a check could not be made",
    )
    .addHelpText(
      'after',
      '\nExit status (docs/doctor.md): exit 0: no error found; 1: an error finding; 2: bad input (a flag, the kubeconfig or a file it names, an API server that cannot be used), with one line on stderr; 3: incomplete: no error found, but a check could not be made (a read failed or was refused), so the run proves nothing about it.',
    )
    .addOption(new Option('--kubeconfig <file>', 'the cluster to check (default: $KUBECONFIG, ~/.kube/config, else the in-cluster config)'))
    .addOption(contextOption())
    .addOption(new Option('-n, --namespace <namespace>', 'check the ServiceAccounts and pods of this namespace only').argParser(parseDnsLabel))
    .addOption(new Option('--webhook-configuration <name>', 'the MutatingWebhookConfiguration to check').default('pod-identity-webhook').argParser(parseDnsSubdomain))
    .addOption(outputOption())
    .addOption(
      new Option('--certificate-secret <namespace/name>', "the Secret whose tls.crt the webhook serves, for a service clientConfig (default: NAME-certs, then NAME-tls, in the Service's namespace)").argParser(
        parseNamespacedName,
      ),
    )
    .addOption(new Option('--max-pods <count>', 'the most pods scanned (the report says when it stopped)').default(10_000).argParser(parseIntegerFlag(1, 1_000_000)))
    .addOption(durationOption('--request-timeout', 'budget of each request to the API server and the webhook', { unit: 'ms', min: 100, max: 300_000, default: 10_000 }))
    .addOption(new Option('--image-pull-audience <audience>', "the token audience of the kubelet's ECR credential provider, whose RBAC for nodes is checked").default(ECR_TOKEN_AUDIENCE))
    .addOption(new Option('--watch-container-credentials-config <file>', 'EKS Pod Identity: identities JSON file, as serve is given it (read once)'))
    .addOption(
      new Option('--watch-container-credentials-config-map <namespace/name>', 'EKS Pod Identity: the ConfigMap whose config key holds the identities JSON, as serve is given it').argParser(parseNamespacedName),
    );
  addMutationFlags(command).action(async (values: OptionValues) => {
    const options = mutationOptionsFrom(values);
    const output = outputFormatFrom(values);
    const identities = await identitiesSource(values);
    const { access, source } = await clusterAccess(values);
    const { server } = access;
    const { ApiClient } = await import('../shared/k8s/api-client.js');
    const { ApiUnreachableError, runDoctor } = await import('../diagnose/doctor/index.js');
    const { doctorText, exitCodeOf } = await import('../diagnose/report.js');
    const api = new ApiClient(access);
    try {
      const report = await runDoctor({
        api,
        server,
        configurationName: typed(values, 'webhookConfiguration', isString),
        namespace: typed(values, 'namespace', isOptionalString),
        options,
        identities,
        certificateSecret: typed(values, 'certificateSecret', isOptionalReference),
        maxPods: typed(values, 'maxPods', isNumber),
        requestTimeoutMs: typed(values, 'requestTimeout', isNumber),
        imagePullAudience: typed(values, 'imagePullAudience', isString),
      });
      const cluster = { server, kubeconfig: source.description };
      process.stdout.write(output === 'text' ? `cluster: ${escapeUnprintable(server)} from ${escapeUnprintable(source.description)}\n${doctorText(report)}` : formatStructured({ cluster, ...report }, output));
      process.exitCode = exitCodeOf(report.verdict);
    } catch (error) {
      if (error instanceof ApiUnreachableError) throw new UsageError(error.message);
      throw error;
    } finally {
      api.close();
    }
  });
}
