import { type Command, InvalidArgumentError, Option } from 'commander';
import { addMutationFlags, flagValue, mutationOptionsFrom, parseDnsSubdomain, parseHttpUrl, parseNamespacedName, parseDnsLabel } from './flags.js';

const { typed, isString, isOptionalString } = flagValue;

function parseInstant(raw: string): Date {
  const date = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(date.getTime())) throw new InvalidArgumentError(`"${raw}" is not an ISO 8601 time such as 2026-12-01T10:00:00Z`);
  return date;
}

type Reference = { readonly namespace: string; readonly name: string } | undefined;
const isReference = (value: unknown): value is Reference => value === undefined || (typeof value === 'object' && value !== null && 'namespace' in value && 'name' in value);

export function registerExplain(program: Command): void {
  const command = program
    .command('explain')
    .description("say why a pod does or does not get its AWS identity: every link from the webhook configuration to the role's trust policy, the first broken one named (exit 0 ok, 1 broken, 2 bad input)")
    .requiredOption('--pod <file-or-name>', 'the Pod manifest; with --kubeconfig, the name of a pod in --namespace')
    .addOption(new Option('--service-account <file>', "ServiceAccount manifest(s), offline: the pod's is looked up among them"))
    .addOption(new Option('--kubeconfig <file>', 'read the pod, its ServiceAccount and namespace, the MutatingWebhookConfiguration and the issuer from this cluster'))
    .addOption(new Option('--namespace <namespace>', "the pod's namespace (default: the pod file's, or the kubeconfig context's, else default)").argParser(parseDnsLabel))
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
    .addOption(new Option('--now <time>', 'judge token times at this instant, ISO 8601 (default: the current time)').argParser(parseInstant))
    .addOption(new Option('--output <format>', 'what to print').choices(['text', 'json']).default('text'));
  addMutationFlags(command).action(async (values: Record<string, unknown>) => {
    const reference = (key: string): Reference => typed(values, key, isReference);
    // Loaded here: the Kubernetes client and the engine are not needed by the other commands.
    const { readExplainInput } = await import('./explain-inputs.js');
    const { explain } = await import('../diagnose/explain/chain.js');
    const { exitCodeOf, explainText } = await import('../diagnose/report.js');
    const input = await readExplainInput({
      pod: typed(values, 'pod', isString),
      kubeconfig: typed(values, 'kubeconfig', isOptionalString),
      namespace: typed(values, 'namespace', isOptionalString),
      serviceAccount: typed(values, 'serviceAccount', isOptionalString),
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
      now: typed(values, 'now', (value): value is Date | undefined => value === undefined || value instanceof Date) ?? new Date(),
      options: mutationOptionsFrom(values),
    });
    const report = explain(input);
    process.stdout.write(values.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : explainText(report));
    process.exitCode = exitCodeOf(report.verdict);
  });
}
