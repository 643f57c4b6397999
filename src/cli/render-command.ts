import { type Command, Option } from 'commander';
import { loadManifestFile } from '../shared/k8s/manifests.js';
import { render, type RenderOutput, selectPod, selectServiceAccount } from '../webhook/render.js';
import { addMutationFlags, flagValue, mutationOptionsFrom } from './flags.js';
import { UsageError } from './usage-error.js';
import { readTextFile } from '../shared/files/read-file.js';
import { parsePodIdentities, podIdentityKey } from '../webhook/pod-identity/identities.js';

export function registerRender(program: Command): void {
  const command = program
    .command('render')
    .description('print the JSON patch (or the mutated pod) for a pod and its ServiceAccount, offline')
    .requiredOption('--pod <file>', 'Pod manifest (YAML or JSON)')
    .requiredOption('--service-account <file>', 'ServiceAccount manifest(s); the one the pod runs as is used')
    .addOption(new Option('-o, --output <format>', 'what to print').choices(['patch', 'pod']).default('patch'))
    .addOption(new Option('--watch-container-credentials-config <file>', 'EKS Pod Identity: identities JSON file (read once here); a listed ServiceAccount gets Pod Identity'));
  addMutationFlags(command).action(async (values: Record<string, unknown>) => {
    const podPath = flagValue.typed(values, 'pod', flagValue.isString);
    const saPath = flagValue.typed(values, 'serviceAccount', flagValue.isString);
    const output = flagValue.typed(values, 'output', (v): v is RenderOutput => v === 'patch' || v === 'pod');
    const options = mutationOptionsFrom(values);

    const podDocuments = await loadManifestFile(podPath);
    if (!podDocuments.ok) throw new UsageError(podDocuments.error);
    const pod = selectPod(podDocuments.value, podPath);
    if (!pod.ok) throw new UsageError(pod.error);

    const saDocuments = await loadManifestFile(saPath);
    if (!saDocuments.ok) throw new UsageError(saDocuments.error);
    const namespace = pod.value.view.namespace || 'default';
    const serviceAccount = selectServiceAccount(saDocuments.value, saPath, namespace, pod.value.view.serviceAccountName);
    if (!serviceAccount.ok) throw new UsageError(serviceAccount.error);

    const identitiesPath = flagValue.typed(values, 'watchContainerCredentialsConfig', flagValue.isOptionalString);
    let podIdentity = false;
    if (identitiesPath !== undefined) {
      const text = await readTextFile(identitiesPath, { what: 'the container credentials config', maxBytes: 1024 * 1024 });
      if (!text.ok) throw new UsageError(text.error);
      const identities = parsePodIdentities(text.value, identitiesPath);
      if (!identities.ok) throw new UsageError(identities.error);
      podIdentity = identities.value.has(podIdentityKey(serviceAccount.value.namespace, serviceAccount.value.name));
    }
    const rendered = render(pod.value, { ...serviceAccount.value, podIdentity }, options, output, Math.random());
    for (const warning of rendered.warnings) process.stderr.write(`warning: ${warning}\n`);
    process.stdout.write(rendered.text);
  });
}
