import { join } from 'node:path';
import { MAX_PERMISSION_POLICY_CHARS, MAX_SESSION_POLICY_CHARS, type NamedPolicy, parsePermissionPolicy } from '../shared/aws/iam-permissions.js';
import { parseTrustPolicy, type TrustPolicy } from '../shared/aws/iam-policy.js';
import { readTextFile } from '../shared/files/read-file.js';
import { isJsonObject } from '../shared/json.js';
import { parseCompactJwt, projectedTokenClaimProblem } from '../shared/jwt.js';
import { ApiClient, ApiStatusError } from '../shared/k8s/api-client.js';
import type { LoadedCluster } from '../shared/k8s/kubeconfig.js';
import { loadManifestFile, type ManifestDocument } from '../shared/k8s/manifests.js';
import { errorMessage } from '../shared/log.js';
import { packageRoot } from '../shared/package-info.js';
import { parseJsonText } from '../shared/yaml.js';
import type { ExplainInput, OidcProviderFacts, PermissionPolicies, PermissionQuery, PodIdentityFacts, RolePermissions, TrustSource } from '../diagnose/explain/input.js';
import type { LabRole } from '../lab/sts/config.js';
import type { MutationOptions, ServiceAccountView } from '../webhook/engine/types.js';
import { parsePodIdentities, podIdentityKey } from '../webhook/pod-identity/identities.js';
import { readPod, readServiceAccount } from '../webhook/read-objects.js';
import { applyRoleMapping, parseRoleMapping } from '../webhook/serviceaccounts/role-mapping.js';
import { selectPod } from '../webhook/render.js';
import { UsageError } from './usage-error.js';

/**
 * Reads what `explain` reasons about, from files or a cluster, into its neutral input. Every
 * problem with what was given is a UsageError (exit 2): a report is only ever about good input.
 */
export interface ExplainSources {
  readonly pod: string;
  /** The cluster to read (as kubectl finds it), or undefined: files, offline. */
  readonly kubeCluster: LoadedCluster | undefined;
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly webhookConfigFile: string | undefined;
  readonly webhookConfiguration: string | undefined;
  readonly trustPolicy: string | undefined;
  readonly labConfig: string | undefined;
  readonly cluster: string | undefined;
  readonly issuerUrl: string | undefined;
  readonly token: string | undefined;
  readonly identitiesFile: string | undefined;
  readonly identitiesConfigMap: { readonly namespace: string; readonly name: string } | undefined;
  readonly roleMappingConfigMap: { readonly namespace: string; readonly name: string } | undefined;
  readonly container: string | undefined;
  /** The call to judge (`--action`, `--resource`, default `*`) and the policy files (only without --lab-config). */
  readonly action?: string | undefined;
  readonly resource?: string | undefined;
  readonly identityPolicies?: readonly string[];
  readonly permissionsBoundary?: string | undefined;
  readonly sessionPolicy?: string | undefined;
  /** Offline: why no cluster is read (for messages). */
  readonly offlineReason?: string;
  readonly now: Date;
  readonly options: MutationOptions;
}

const DEFAULT_WEBHOOK_CONFIGURATION = 'pod-identity-webhook';
const MAX_TOKEN_BYTES = 64 * 1024;
const MAX_POLICY_BYTES = 64 * 1024;
const API_TIMEOUT_MS = 10_000;
/** A cluster has a handful of MutatingAdmissionPolicies; explain reads one page of at most this many. */
const MAX_POLICIES = 500;

function must<T>(parsed: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.value;
}

async function readToken(path: string): Promise<ExplainInput['token']> {
  const text = must(await readTextFile(path, { what: 'the token', maxBytes: MAX_TOKEN_BYTES })).trim();
  const jwt = parseCompactJwt(text);
  if (!jwt.ok) throw new UsageError(`${path}: not a JWT: ${jwt.error}`);
  const problem = projectedTokenClaimProblem(jwt.value.claims);
  if (problem) throw new UsageError(`${path}: not a service-account token: ${problem}`);
  return { claims: jwt.value.claims, source: path };
}

async function readTrustPolicy(path: string): Promise<TrustPolicy> {
  const text = must(await readTextFile(path, { what: 'the trust policy', maxBytes: MAX_POLICY_BYTES }));
  const document = must(parseJsonText(text, path));
  const policy = parseTrustPolicy(document);
  if (!policy.ok) throw new UsageError(`${path}: ${policy.error}`);
  return policy.value;
}

/** The MutatingAdmissionPolicies and bindings among a file's documents (`manifests --mode admission-policy`); undefined when it has none. */
function pickAdmissionPolicies(documents: readonly ManifestDocument[], source: string): ExplainInput['admissionPolicies'] {
  const of = (kind: string): unknown[] => documents.filter((document) => document.kind === kind).map((document) => document.object);
  const policies = of('MutatingAdmissionPolicy');
  const bindings = of('MutatingAdmissionPolicyBinding');
  return policies.length + bindings.length === 0 ? undefined : { policies, bindings, source };
}

/** The MutatingWebhookConfiguration among a file's documents: the named one, or the only one; none is allowed in a file of admission policies. */
function pickWebhookConfiguration(documents: readonly ManifestDocument[], source: string, name: string | undefined): unknown {
  const configurations = documents.filter((document) => document.kind === 'MutatingWebhookConfiguration');
  const named = name === undefined ? configurations : configurations.filter((document) => (document.object.metadata as { name?: unknown } | undefined)?.name === name);
  if (named.length === 1) return named[0]!.object;
  if (named.length === 0 && configurations.length === 0 && pickAdmissionPolicies(documents, source) !== undefined) return undefined;
  if (named.length === 0) throw new UsageError(`${source}: no MutatingWebhookConfiguration${name ? ` named ${name}` : ''}`);
  throw new UsageError(`${source}: ${named.length} MutatingWebhookConfigurations; choose one with --webhook-configuration`);
}

/** A permission policy file (IAM JSON, as aws iam get-role-policy prints its PolicyDocument); its id is the path. */
async function readPermissionPolicy(path: string, maxChars: number): Promise<NamedPolicy> {
  const text = must(await readTextFile(path, { what: 'the policy', maxBytes: MAX_POLICY_BYTES }));
  const policy = parsePermissionPolicy(text, { maxChars });
  if (!policy.ok) throw new UsageError(`${path}: ${policy.error}`);
  return { id: path, policy: policy.value };
}

const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9]+$/;
const MAX_RESOURCE_LENGTH = 2048;

/** The asked call and the policy files; undefined when no call is asked (then no policy file may be given). */
async function readPermissionQuery(sources: ExplainSources, lab: LabFacts | undefined): Promise<PermissionQuery | undefined> {
  const files = [...(sources.identityPolicies ?? []), sources.permissionsBoundary, sources.sessionPolicy].filter((file) => file !== undefined);
  if (sources.action === undefined) {
    if (sources.resource !== undefined || files.length > 0) throw new UsageError('--resource, --identity-policy, --permissions-boundary and --session-policy judge a call: give --action too');
    return undefined;
  }
  if (!ACTION.test(sources.action)) throw new UsageError(`--action "${sources.action.slice(0, 100)}" is not an action (service:Action, such as s3:GetObject, no wildcards)`);
  const resource = sources.resource ?? '*';
  if (resource !== '*' && (!resource.startsWith('arn:') || resource.length > MAX_RESOURCE_LENGTH || /\s/.test(resource))) {
    throw new UsageError(`--resource "${resource.slice(0, 100)}" is not a resource ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, at most ${MAX_RESOURCE_LENGTH} characters) or *`);
  }
  if (lab !== undefined && files.length > 0) throw new UsageError('--identity-policy, --permissions-boundary and --session-policy are for explaining without --lab-config: the lab config has the roles\' policies and the associations\' session policies');
  let policies: PermissionPolicies | undefined = lab?.permissions;
  if (files.length > 0) {
    const identity = [];
    for (const file of sources.identityPolicies ?? []) identity.push(await readPermissionPolicy(file, MAX_PERMISSION_POLICY_CHARS));
    policies = {
      kind: 'files',
      source: files.join(', '),
      role: {
        identityPolicies: identity.length > 0 ? identity : undefined,
        boundary: sources.permissionsBoundary === undefined ? undefined : await readPermissionPolicy(sources.permissionsBoundary, MAX_PERMISSION_POLICY_CHARS),
      },
      sessionPolicy: sources.sessionPolicy === undefined ? undefined : await readPermissionPolicy(sources.sessionPolicy, MAX_SESSION_POLICY_CHARS),
    };
  }
  return { action: sources.action, resource, policies };
}

interface LabFacts {
  readonly trust: TrustSource;
  readonly permissions: PermissionPolicies;
  readonly providers: readonly OidcProviderFacts[];
  readonly podIdentity: PodIdentityFacts;
  readonly issuer: string | undefined;
}

/** A lab role's permission policies (its `policies` and `permissionsBoundary`). */
function rolePermissions(role: LabRole): RolePermissions {
  return {
    identityPolicies: role.policies,
    boundary: role.permissionsBoundary === undefined ? undefined : { id: `${role.name} permissions boundary`, policy: role.permissionsBoundary },
  };
}

/** The lab config as explain's neutral facts: roles' trust policies, providers, the cluster and its associations. */
async function readLabFacts(path: string, clusterName: string | undefined, issuerHint: string | undefined): Promise<LabFacts> {
  const { loadLabConfig } = await import('../lab/sts/config.js');
  const config = must(await loadLabConfig(path));
  const clusters = [...config.clusters.values()];
  let cluster = clusterName === undefined ? undefined : config.clusters.get(clusterName);
  if (clusterName !== undefined && cluster === undefined) throw new UsageError(`${path}: no cluster ${clusterName} (clusters: ${[...config.clusters.keys()].join(', ') || 'none'})`);
  cluster ??= clusters.find((candidate) => issuerHint !== undefined && candidate.issuer === issuerHint) ?? (clusters.length === 1 ? clusters[0] : undefined);
  return {
    trust: { kind: 'roles', source: path, policies: new Map([...config.roles].map(([arn, role]) => [arn, role.trustPolicy])) },
    permissions: { kind: 'roles', source: path, roles: new Map([...config.roles].map(([arn, role]) => [arn, rolePermissions(role)])) },
    providers: config.providers.map((provider) => ({ issuer: provider.issuer, audiences: provider.audiences, accounts: undefined })),
    podIdentity: {
      cluster: cluster && { name: cluster.name, arn: cluster.arn, account: cluster.account },
      clusterIssuer: cluster?.issuer,
      associations: config.podIdentityAssociations
        .filter((association) => cluster === undefined || association.cluster === cluster.name)
        .map(({ cluster: name, namespace, serviceAccount, roleArn, targetRoleArn, disableSessionTags, policy, associationId }) => ({
          cluster: name,
          namespace,
          serviceAccount,
          roleArn,
          targetRoleArn,
          disableSessionTags,
          sessionPolicy: policy && { id: `association ${associationId} policy`, policy: policy.policy },
        })),
    },
    issuer: cluster?.issuer,
  };
}

/** What the pod, its ServiceAccount, namespace and webhook configuration are, wherever they come from. */
interface ObjectFacts {
  readonly pod: Readonly<Record<string, unknown>>;
  readonly namespace: string;
  readonly running: boolean;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly serviceAccount: ServiceAccountView | undefined;
  readonly serviceAccountSource: string;
  readonly webhookConfiguration: ExplainInput['webhookConfiguration'];
  readonly admissionPolicies: ExplainInput['admissionPolicies'];
  readonly podIdentityListed: boolean;
  readonly issuer: string | undefined;
}

async function readIdentitiesFile(path: string): Promise<ReadonlySet<string>> {
  const text = must(await readTextFile(path, { what: 'the container credentials config', maxBytes: 1024 * 1024 }));
  return must(parsePodIdentities(text, path));
}

async function objectsFromFiles(sources: ExplainSources): Promise<ObjectFacts> {
  const documents = must(await loadManifestFile(sources.pod));
  const selected = must(selectPod(documents, sources.pod));
  const namespace = sources.namespace ?? selected.view.namespace ?? 'default';
  if (sources.serviceAccount === undefined) throw new UsageError(`--service-account FILE is needed with --pod FILE offline (to read a cluster instead, give --kubeconfig or --context: ${sources.offlineReason ?? 'none was found'})`);
  const accounts: ServiceAccountView[] = [];
  for (const document of must(await loadManifestFile(sources.serviceAccount))) {
    if (document.kind !== 'ServiceAccount') throw new UsageError(`${sources.serviceAccount}: expected ServiceAccounts, found ${document.kind ? `kind ${document.kind}` : 'a document without kind'}`);
    const account = readServiceAccount(document.object);
    if (!account.ok) throw new UsageError(`${sources.serviceAccount}: ${account.error}`);
    accounts.push(account.value);
  }
  const serviceAccount = accounts.find((account) => account.namespace === namespace && account.name === selected.view.serviceAccountName);
  const webhookFile = sources.webhookConfigFile ?? join(packageRoot(), 'manifests', 'base', 'mutatingwebhookconfiguration.yaml');
  const webhookDocuments = must(await loadManifestFile(webhookFile));
  const webhookObject = pickWebhookConfiguration(webhookDocuments, webhookFile, sources.webhookConfiguration);
  const identities = sources.identitiesFile === undefined ? undefined : await readIdentitiesFile(sources.identitiesFile);
  const metadata = isJsonObject(selected.object.metadata) ? selected.object.metadata : {};
  return {
    pod: selected.object,
    namespace,
    running: typeof metadata.uid === 'string' || isJsonObject(selected.object.status),
    namespaceLabels: undefined,
    serviceAccount,
    serviceAccountSource: sources.serviceAccount,
    webhookConfiguration: {
      object: webhookObject,
      source: webhookObject === undefined ? `${webhookFile}, which has admission policies and no MutatingWebhookConfiguration` : (sources.webhookConfigFile ?? 'the shipped manifests/base/mutatingwebhookconfiguration.yaml'),
    },
    admissionPolicies: pickAdmissionPolicies(webhookDocuments, webhookFile),
    podIdentityListed: identities?.has(podIdentityKey(namespace, selected.view.serviceAccountName)) ?? false,
    issuer: undefined,
  };
}

async function objectsFromCluster(sources: ExplainSources, cluster: LoadedCluster): Promise<ObjectFacts> {
  const { access } = cluster;
  const api = new ApiClient(access, { maxResponseBytes: 8 * 1024 * 1024 });
  const namespace = sources.namespace ?? access.namespace ?? 'default';
  const get = async (path: string, what: string): Promise<unknown> => {
    try {
      return await api.getJson(path, AbortSignal.timeout(API_TIMEOUT_MS));
    } catch (error) {
      if (error instanceof ApiStatusError && error.code === 404) return undefined;
      throw new UsageError(`cannot read ${what} from ${access.server}: ${errorMessage(error)}`);
    }
  };
  const encode = encodeURIComponent;
  try {
    const pod = await get(`/api/v1/namespaces/${encode(namespace)}/pods/${encode(sources.pod)}`, `pod ${namespace}/${sources.pod}`);
    if (!isJsonObject(pod)) throw new UsageError(`no pod ${namespace}/${sources.pod} in the cluster (${cluster.source.description}; to explain a Pod file offline, give --service-account FILE too)`);
    const view = readPod(pod);
    if (!view.ok) throw new UsageError(`pod ${namespace}/${sources.pod}: ${view.error}`);
    const name = view.value.serviceAccountName;
    // The policy mode's objects: a 404 is an API server without the API (before 1.36); one page of at most MAX_POLICIES.
    const policyList = async (resource: string): Promise<unknown[] | undefined> => {
      const list = await get(`/apis/admissionregistration.k8s.io/v1/${resource}?limit=${MAX_POLICIES}`, `the ${resource}`).catch(() => undefined); // refused (RBAC): unknown
      return isJsonObject(list) && Array.isArray(list.items) ? list.items : undefined;
    };
    const [accountObject, namespaceObject, webhookObject, discovery, policies, bindings] = await Promise.all([
      get(`/api/v1/namespaces/${encode(namespace)}/serviceaccounts/${encode(name)}`, `ServiceAccount ${namespace}/${name}`),
      get(`/api/v1/namespaces/${encode(namespace)}`, `namespace ${namespace}`),
      get(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encode(sources.webhookConfiguration ?? DEFAULT_WEBHOOK_CONFIGURATION)}`, 'the MutatingWebhookConfiguration'),
      // Discovery is readable by ServiceAccounts and admins by default, not by every user: without it the issuer is just unknown.
      sources.issuerUrl === undefined && sources.token === undefined ? get('/.well-known/openid-configuration', "the cluster's OIDC discovery document").catch(() => undefined) : Promise.resolve(undefined),
      policyList('mutatingadmissionpolicies'),
      policyList('mutatingadmissionpolicybindings'),
    ]);
    let serviceAccount: ServiceAccountView | undefined;
    if (accountObject !== undefined) {
      const account = readServiceAccount(accountObject);
      if (!account.ok) throw new UsageError(`ServiceAccount ${namespace}/${name}: ${account.error}`);
      serviceAccount = account.value;
    }
    if (serviceAccount !== undefined && sources.roleMappingConfigMap !== undefined) {
      const { namespace: mapNamespace, name: mapName } = sources.roleMappingConfigMap;
      const configMap = await get(`/api/v1/namespaces/${encode(mapNamespace)}/configmaps/${encode(mapName)}`, `ConfigMap ${mapNamespace}/${mapName}`);
      const mapping = parseRoleMapping(isJsonObject(configMap) && isJsonObject(configMap.data) ? (configMap.data as Record<string, string>) : undefined);
      if (!mapping.ok) throw new UsageError(`ConfigMap ${mapNamespace}/${mapName}: ${mapping.error}`);
      serviceAccount = applyRoleMapping(serviceAccount, mapping.value, sources.options.annotationPrefix);
    }
    let identities = sources.identitiesFile === undefined ? undefined : await readIdentitiesFile(sources.identitiesFile);
    if (sources.identitiesConfigMap !== undefined) {
      const { namespace: mapNamespace, name: mapName } = sources.identitiesConfigMap;
      const configMap = await get(`/api/v1/namespaces/${encode(mapNamespace)}/configmaps/${encode(mapName)}`, `ConfigMap ${mapNamespace}/${mapName}`);
      const text = isJsonObject(configMap) && isJsonObject(configMap.data) && typeof configMap.data.config === 'string' ? configMap.data.config : '';
      identities = must(parsePodIdentities(text, `ConfigMap ${mapNamespace}/${mapName} data.config`));
    }
    const namespaceMetadata = isJsonObject(namespaceObject) && isJsonObject(namespaceObject.metadata) ? namespaceObject.metadata : {};
    const labels = isJsonObject(namespaceMetadata.labels) ? Object.fromEntries(Object.entries(namespaceMetadata.labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string')) : {};
    const configurationName = sources.webhookConfiguration ?? DEFAULT_WEBHOOK_CONFIGURATION;
    return {
      pod,
      namespace,
      running: true,
      namespaceLabels: labels,
      serviceAccount,
      serviceAccountSource: 'the cluster',
      webhookConfiguration: {
        object: webhookObject,
        source: webhookObject === undefined ? `the cluster, which has no MutatingWebhookConfiguration ${configurationName}` : `the cluster's MutatingWebhookConfiguration ${configurationName}`,
      },
      admissionPolicies: policies === undefined ? undefined : { policies, bindings: bindings ?? [], source: "the cluster's MutatingAdmissionPolicies" },
      podIdentityListed: identities?.has(podIdentityKey(namespace, name)) ?? false,
      issuer: isJsonObject(discovery) && typeof discovery.issuer === 'string' ? discovery.issuer : undefined,
    };
  } finally {
    api.close();
  }
}

export async function readExplainInput(sources: ExplainSources): Promise<ExplainInput> {
  if (sources.trustPolicy !== undefined && sources.labConfig !== undefined) throw new UsageError('--trust-policy and --lab-config exclude each other');
  if (sources.kubeCluster === undefined && (sources.roleMappingConfigMap !== undefined || sources.identitiesConfigMap !== undefined)) {
    throw new UsageError('--watch-config-map and --watch-container-credentials-config-map need a cluster (--kubeconfig, --context, $KUBECONFIG or ~/.kube/config), not --service-account');
  }
  const objects = sources.kubeCluster === undefined ? await objectsFromFiles(sources) : await objectsFromCluster(sources, sources.kubeCluster);
  const podView = must(readPod(objects.pod));
  if (sources.container !== undefined) {
    const names = [...podView.containers, ...(podView.initContainers ?? [])].map((container) => container.name);
    if (!names.includes(sources.container)) throw new UsageError(`the pod has no container ${sources.container} (it has ${names.join(', ')})`);
  }
  const token = sources.token === undefined ? undefined : await readToken(sources.token);
  const tokenIssuer = typeof token?.claims.iss === 'string' ? token.claims.iss : undefined;
  const lab = sources.labConfig === undefined ? undefined : await readLabFacts(sources.labConfig, sources.cluster, tokenIssuer ?? sources.issuerUrl);
  if (sources.cluster !== undefined && lab === undefined) throw new UsageError('--cluster chooses a cluster of --lab-config');
  const trust: TrustSource | undefined =
    lab?.trust ?? (sources.trustPolicy === undefined ? undefined : { kind: 'file', source: sources.trustPolicy, policy: await readTrustPolicy(sources.trustPolicy) });
  return {
    pod: objects.pod,
    podView,
    namespace: objects.namespace,
    running: objects.running,
    namespaceLabels: objects.namespaceLabels,
    serviceAccount: objects.serviceAccount,
    serviceAccountSource: objects.serviceAccountSource,
    podIdentityListed: objects.podIdentityListed,
    webhookConfiguration: objects.webhookConfiguration,
    admissionPolicies: objects.admissionPolicies,
    options: sources.options,
    container: sources.container,
    token,
    issuer: sources.issuerUrl ?? lab?.issuer ?? objects.issuer,
    providers: lab?.providers,
    trust,
    podIdentity: lab?.podIdentity,
    permission: await readPermissionQuery(sources, lab),
    now: sources.now,
  };
}
