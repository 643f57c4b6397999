import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LoadedCluster } from '../shared/k8s/kubeconfig.js';
import { clusterFlagsGiven, contextOption, findCluster } from './cluster-flags.js';
import { formatStructured, outputFormatFrom, outputOption } from './output-flag.js';
import { UsageError } from './usage-error.js';
import { addMutationFlags, flagValue, mutationOptionsFrom, parseDnsSubdomain, parseHttpUrl, parseNamespacedName, parseDnsLabel } from './flags.js';

const { typed, isString, isOptionalString } = flagValue;

function parseInstant(raw: string): Date {
  const date = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(date.getTime())) throw new InvalidArgumentError(`"${raw}" is not an ISO 8601 time such as 2026-12-01T10:00:00Z`);
  return date;
}

const collectFile = (value: string, previous: readonly string[] | undefined): readonly string[] => [...(previous ?? []), value];

type Reference = { readonly namespace: string; readonly name: string } | undefined;
const isReference = (value: unknown): value is Reference => value === undefined || (typeof value === 'object' && value !== null && 'namespace' in value && 'name' in value);

/**
 * Which cluster explain reads: --kubeconfig or --context, else none when --service-account names
 * files (offline), else the kubeconfig kubectl would use ($KUBECONFIG, ~/.kube/config; never the
 * in-cluster config). Offline, `offlineReason` says why, for the one line explain prints.
 */
async function clusterOf(values: Record<string, unknown>, filesGiven: boolean): Promise<{ cluster: LoadedCluster | undefined; offlineReason: string | undefined }> {
  if (clusterFlagsGiven(values)) {
    if (filesGiven) throw new UsageError('--service-account FILE is for files; with --kubeconfig or --context the ServiceAccount is read from the cluster');
    const found = await findCluster(values, { inCluster: false });
    if ('missing' in found) throw new UsageError(found.missing);
    return { cluster: found.found, offlineReason: undefined };
  }
  if (filesGiven) return { cluster: undefined, offlineReason: 'give --kubeconfig or --context, without --service-account, to read a cluster' };
  const found = await findCluster(values, { inCluster: false });
  return 'missing' in found ? { cluster: undefined, offlineReason: found.missing } : { cluster: found.found, offlineReason: undefined };
}

export function registerExplain(program: Command): void {
  const command = program
    .command('explain')
    .description("say why a pod does or does not get its AWS identity: every link from the webhook configuration to the role's trust policy (and, with --action, what its credentials may do), the first broken one named (exit 0 ok, 1 broken or denied, 2 bad input)")
    .requiredOption('--pod <file-or-name>', 'the Pod manifest (offline, with --service-account); else the name of a pod in --namespace of the cluster')
    .addOption(new Option('--service-account <file>', "ServiceAccount manifest(s): explain offline, from files; the pod's is looked up among them"))
    .addOption(new Option('--kubeconfig <file>', 'read the pod, its ServiceAccount and namespace, the MutatingWebhookConfiguration and the issuer from this cluster (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(contextOption())
    .addOption(new Option('-n, --namespace <namespace>', "the pod's namespace (default: the pod file's, or the kubeconfig context's, else default)").argParser(parseDnsLabel))
    .addOption(new Option('--webhook-config <file>', 'offline: the MutatingWebhookConfiguration (default: the shipped manifests/base one)'))
    .addOption(new Option('--webhook-configuration <name>', 'the MutatingWebhookConfiguration to read (cluster), or to pick from --webhook-config').argParser(parseDnsSubdomain))
    .addOption(new Option('--trust-policy <file>', "the role's trust policy (IAM JSON, as aws iam get-role prints its AssumeRolePolicyDocument)"))
    .addOption(new Option('--lab-config <file>', "the lab config: its roles' trust policies, OIDC providers, clusters and Pod Identity associations"))
    .addOption(new Option('--cluster <name>', 'the lab cluster the pod runs in (default: the one whose issuer is the token\'s, or the only one)'))
    .addOption(new Option('--issuer-url <url>', "the cluster's service-account issuer (default: the token's iss, the lab cluster's, or the cluster's discovery document)").argParser(parseHttpUrl))
    .addOption(new Option('--token <file>', 'a projected token of the pod (its claims are checked; the signature is left to STS)'))
    .addOption(new Option('--container <name>', 'explain only this container (default: every container and init container)'))
    .addOption(new Option('--watch-container-credentials-config <file>', 'EKS Pod Identity: identities JSON file (read once here); a listed ServiceAccount gets Pod Identity'))
    .addOption(new Option('--watch-container-credentials-config-map <namespace/name>', 'with --kubeconfig, EKS Pod Identity: the ConfigMap the webhook reads its identities from').argParser(parseNamespacedName))
    .addOption(new Option('--watch-config-map <namespace/name>', 'with --kubeconfig: the ConfigMap mapping namespace/serviceaccount to role settings, as the webhook is given it').argParser(parseNamespacedName))
    .addOption(new Option('--action <service:Action>', "after the chain, judge the pod's credentials for this call (s3:GetObject): identity policies, boundary and session policy, the statement that decides"))
    .addOption(new Option('--resource <arn>', 'with --action: the resource ARN of the call (default: *)'))
    .addOption(new Option('--identity-policy <file>', "with --action, without --lab-config: an identity policy of the credentials' role (IAM JSON); repeat for several").argParser(collectFile))
    .addOption(new Option('--permissions-boundary <file>', "with --action, without --lab-config: the role's permissions boundary (IAM JSON)"))
    .addOption(new Option('--session-policy <file>', "with --action, without --lab-config: the Pod Identity association's session policy (IAM JSON, at most 2,048 characters)"))
    .addOption(new Option('--now <time>', 'judge token times at this instant, ISO 8601 (default: the current time)').argParser(parseInstant))
    .addOption(outputOption());
  addMutationFlags(command).action(async (values: Record<string, unknown>) => {
    const reference = (key: string): Reference => typed(values, key, isReference);
    // Loaded here: the Kubernetes client and the engine are not needed by the other commands.
    const { readExplainInput } = await import('./explain-inputs.js');
    const { explain } = await import('../diagnose/explain/chain.js');
    const { exitCodeOf, explainText } = await import('../diagnose/report.js');
    const serviceAccount = typed(values, 'serviceAccount', isOptionalString);
    const { cluster, offlineReason } = await clusterOf(values, serviceAccount !== undefined);
    const input = await readExplainInput({
      pod: typed(values, 'pod', isString),
      kubeCluster: cluster,
      offlineReason,
      namespace: typed(values, 'namespace', isOptionalString),
      serviceAccount,
      webhookConfigFile: typed(values, 'webhookConfig', isOptionalString),
      webhookConfiguration: typed(values, 'webhookConfiguration', isOptionalString),
      trustPolicy: typed(values, 'trustPolicy', isOptionalString),
      labConfig: typed(values, 'labConfig', isOptionalString),
      cluster: typed(values, 'cluster', isOptionalString),
      issuerUrl: typed(values, 'issuerUrl', isOptionalString),
      token: typed(values, 'token', isOptionalString),
      identitiesFile: typed(values, 'watchContainerCredentialsConfig', isOptionalString),
      identitiesConfigMap: reference('watchContainerCredentialsConfigMap'),
      roleMappingConfigMap: reference('watchConfigMap'),
      container: typed(values, 'container', isOptionalString),
      action: typed(values, 'action', isOptionalString),
      resource: typed(values, 'resource', isOptionalString),
      identityPolicies: typed(values, 'identityPolicy', (value): value is string[] | undefined => value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'))) ?? [],
      permissionsBoundary: typed(values, 'permissionsBoundary', isOptionalString),
      sessionPolicy: typed(values, 'sessionPolicy', isOptionalString),
      now: typed(values, 'now', (value): value is Date | undefined => value === undefined || value instanceof Date) ?? new Date(),
      options: mutationOptionsFrom(values),
    });
    const report = explain(input);
    // Said once the input was read: bad input still gets its one line alone.
    if (cluster === undefined && serviceAccount !== undefined) process.stderr.write(`explain: offline: reading the pod and its ServiceAccount from files (--service-account); ${offlineReason}\n`);
    const output = outputFormatFrom(values);
    process.stdout.write(output === 'text' ? explainText(report) : formatStructured(report, output));
    process.exitCode = exitCodeOf(report.verdict);
  });
}
