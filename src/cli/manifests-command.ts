import { type Command, Option, type OptionValues } from 'commander';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { CERT_FILES } from '../shared/certs/files.js';
import { DEFAULT_NAMESPACE, renderManifests } from '../webhook/render-manifests.js';
import { packageRoot } from '../shared/package-info.js';
import { readTextFile } from '../shared/files/read-file.js';
import { addMutationFlags, flagValue, mutationOptionsFrom, parseDnsLabel } from './flags.js';
import { contextOption } from './cluster-flags.js';
import { UsageError } from './usage-error.js';

async function readPem(path: string): Promise<string> {
  const pem = await readTextFile(path);
  if (!pem.ok) throw new UsageError(`${pem.error} (create it with: npx pod-identity-webhook certs)`);
  return pem.value;
}

const MODES = ['webhook', 'admission-policy'] as const;
type Mode = (typeof MODES)[number];
/** The flags of one mode only (commander's attribute names). */
const WEBHOOK_ONLY = ['certs', 'image', 'roleMapping', 'namespace'];

/** Refuses a flag given on the command line that the chosen mode does not use. */
function refuseOtherModeFlags(command: Command, mode: Mode): void {
  const mutationFlags = command.options.filter((option) => option.long?.startsWith('--') && !['--mode', '--help'].includes(option.long)).map((option) => option.attributeName());
  const ignored = mode === 'webhook' ? mutationFlags.filter((name) => !WEBHOOK_ONLY.includes(name)) : WEBHOOK_ONLY;
  for (const name of ignored) {
    if (command.getOptionValueSource(name) !== 'cli') continue;
    const flag = command.options.find((option) => option.attributeName() === name)?.long ?? name;
    throw new UsageError(mode === 'webhook' ? `${flag} needs --mode admission-policy (the webhook's settings are its Deployment's flags)` : `${flag} is a flag of --mode webhook`);
  }
}

async function printWebhookManifests(values: OptionValues): Promise<void> {
  const certs = flagValue.typed(values, 'certs', flagValue.isOptionalString);
  const namespace = flagValue.typed(values, 'namespace', flagValue.isString);
  let caCert: string | undefined;
  let tls: { cert: string; key: string } | undefined;
  if (certs !== undefined) {
    caCert = await readPem(join(certs, CERT_FILES.caCert));
    tls = { cert: await readPem(join(certs, CERT_FILES.cert)), key: await readPem(join(certs, CERT_FILES.key)) };
    // The API server calls pod-identity-webhook.NAMESPACE.svc: a certificate for another namespace fails every call.
    const serviceName = `pod-identity-webhook.${namespace}.svc`;
    let names: boolean;
    try {
      names = new X509Certificate(tls.cert).checkHost(serviceName, { subject: 'never', wildcards: false }) !== undefined;
    } catch {
      throw new UsageError(`${join(certs, CERT_FILES.cert)} is not a PEM certificate`);
    }
    if (!names) throw new UsageError(`${join(certs, CERT_FILES.cert)} does not name ${serviceName}: create it with certs --namespace ${namespace}`);
  } else {
    process.stderr.write('warning: no --certs: caBundle stays empty and no TLS Secret is included\n');
  }
  const text = await renderManifests(join(packageRoot(), 'manifests'), {
    caCert,
    tls,
    image: flagValue.typed(values, 'image', flagValue.isString),
    roleMapping: values.roleMapping === true,
    namespace,
  });
  process.stdout.write(text);
}

export function registerManifests(program: Command): void {
  const command = program
    .command('manifests')
    .description('print the manifests to install (kubectl apply -f -): the webhook of the manual certificate mode, or the admission policies (Kubernetes 1.36+)')
    .addOption(new Option('--mode <mode>', 'webhook: the webhook, its caBundle and TLS Secret; admission-policy: MutatingAdmissionPolicies doing the same injection inside kube-apiserver').choices(MODES).default('webhook'))
    .addOption(new Option('--certs <dir>', 'directory holding ca.crt, tls.crt and tls.key (from the certs command)'))
    .addOption(new Option('-n, --namespace <namespace>', 'namespace of every object (the certificate must name the Service in it: certs --namespace)').default(DEFAULT_NAMESPACE).argParser(parseDnsLabel))
    .addOption(new Option('--image <image>', 'container image of the webhook').default('pod-identity-webhook:dev'))
    .option('--role-mapping', 'add the role-mapping ConfigMap, its RBAC and --watch-config-map', false)
    .addOption(new Option('--kubernetes-version <version>', 'admission-policy: the cluster\'s Kubernetes version (refused before 1.36)'))
    .addOption(new Option('--kubeconfig <file>', 'admission-policy: read the Kubernetes version from this cluster\'s /version'))
    .addOption(contextOption())
    .addOption(new Option('--watch-container-credentials-config <file>', 'admission-policy: EKS Pod Identity identities JSON file, read once into the Pod Identity policy'));
  addMutationFlags(command).action(async (values: OptionValues) => {
    const mode = flagValue.typed(values, 'mode', (value): value is Mode => MODES.some((candidate) => candidate === value));
    refuseOtherModeFlags(command, mode);
    if (mode === 'webhook') {
      await printWebhookManifests(values);
      return;
    }
    const { printAdmissionPolicies } = await import('./admission-policy-manifests.js');
    await printAdmissionPolicies({
      mutation: mutationOptionsFrom(values),
      kubernetesVersion: flagValue.typed(values, 'kubernetesVersion', flagValue.isOptionalString),
      kubeconfig: flagValue.typed(values, 'kubeconfig', flagValue.isOptionalString),
      context: flagValue.typed(values, 'context', flagValue.isOptionalString),
      identitiesFile: flagValue.typed(values, 'watchContainerCredentialsConfig', flagValue.isOptionalString),
    });
  });
}
