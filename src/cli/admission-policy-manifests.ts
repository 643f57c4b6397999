import { stringify } from 'yaml';
import { readTextFile } from '../shared/files/read-file.js';
import { errorMessage } from '../shared/log.js';
import { renderAdmissionPolicies } from '../webhook/admission-policy/policies.js';
import { type KubernetesVersion, parseKubernetesVersion, policyVersionProblem } from '../webhook/admission-policy/version.js';
import type { MutationOptions } from '../webhook/engine/types.js';
import { NO_POD_IDENTITIES, parsePodIdentities, type PodIdentities } from '../webhook/pod-identity/identities.js';
import { UsageError } from './usage-error.js';

export interface PolicyManifestRequest {
  readonly mutation: MutationOptions;
  readonly kubernetesVersion: string | undefined;
  /** --kubeconfig and --context: read the version from the cluster when either is given. */
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly identitiesFile: string | undefined;
}

/** The API server's own version (`/version` gitVersion), bounded in time. */
async function serverVersion(request: PolicyManifestRequest): Promise<string> {
  const { loadCluster } = await import('../shared/k8s/kubeconfig.js');
  const { ApiClient } = await import('../shared/k8s/api-client.js');
  // Only a kubeconfig: the manifests are printed for a cluster the user names, never for the one a pod runs in.
  const loaded = await loadCluster(request.kubeconfig, { context: request.context, inCluster: false });
  if (!loaded.ok) throw new UsageError(loaded.error);
  const { access, source } = loaded.value;
  const api = new ApiClient(access);
  let body: unknown;
  try {
    body = await api.getJson('/version', AbortSignal.timeout(10_000));
  } catch (error) {
    throw new UsageError(`cannot read the Kubernetes version of ${access.server} (${source.description}): ${errorMessage(error).split('\n')[0]}`);
  } finally {
    api.close();
  }
  const gitVersion = typeof body === 'object' && body !== null && 'gitVersion' in body ? body.gitVersion : undefined;
  if (typeof gitVersion !== 'string') throw new UsageError(`${source.description}: the API server's /version has no gitVersion`);
  return gitVersion;
}

async function clusterVersion(request: PolicyManifestRequest): Promise<KubernetesVersion | undefined> {
  const fromCluster = request.kubeconfig !== undefined || request.context !== undefined;
  if (request.kubernetesVersion !== undefined && fromCluster) throw new UsageError('--kubernetes-version and --kubeconfig or --context exclude each other');
  const raw = request.kubernetesVersion ?? (fromCluster ? await serverVersion(request) : undefined);
  if (raw === undefined) return undefined;
  const version = parseKubernetesVersion(raw);
  if (!version.ok) throw new UsageError(`--kubernetes-version: ${version.error}`);
  return version.value;
}

async function podIdentities(path: string | undefined): Promise<PodIdentities> {
  if (path === undefined) return NO_POD_IDENTITIES;
  const text = await readTextFile(path, { what: 'the container credentials config', maxBytes: 1024 * 1024 });
  if (!text.ok) throw new UsageError(text.error);
  const identities = parsePodIdentities(text.value, path);
  if (!identities.ok) throw new UsageError(identities.error);
  return identities.value;
}

/** `manifests --mode admission-policy`: the policies and bindings as YAML documents on stdout. */
export async function printAdmissionPolicies(request: PolicyManifestRequest): Promise<void> {
  const version = await clusterVersion(request);
  if (version === undefined) {
    process.stderr.write('warning: no --kubernetes-version, --kubeconfig or --context: the policies need Kubernetes 1.36 or newer (admissionregistration.k8s.io/v1)\n');
  } else {
    const problem = policyVersionProblem(version);
    if (problem !== undefined) throw new UsageError(problem);
  }
  const objects = renderAdmissionPolicies({ mutation: request.mutation, podIdentities: await podIdentities(request.identitiesFile) });
  process.stdout.write(objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n'));
}
