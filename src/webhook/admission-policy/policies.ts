import { ANNOTATION, MAX_TOKEN_EXPIRATION_SECONDS, MIN_TOKEN_EXPIRATION_SECONDS, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, TOKEN_FILE_NAME, TOKEN_VOLUME_NAME } from '../engine/defaults.js';
import { tokenFilePath } from '../engine/mutate.js';
import { jsonPointer } from '../engine/pointer.js';
import type { MutationOptions } from '../engine/types.js';
import type { PodIdentities } from '../pod-identity/identities.js';
import { celString, cleanPathPattern, cleanRelativePathPattern } from './cel.js';

/**
 * The webhook's injection as MutatingAdmissionPolicies (admissionregistration.k8s.io/v1, GA in
 * Kubernetes 1.36): the CEL runs inside kube-apiserver, no webhook to reach. Each policy takes the
 * pod's ServiceAccount as its parameter (`paramKind` ServiceAccount, the binding's `paramRef`
 * selects every ServiceAccount of the pod's namespace, a match condition keeps the one the pod runs
 * as), reads its annotations, and returns per-element JSON patch operations that mean what the
 * engine's patch means (test/e2e/admission-policy.e2e.ts compares the stored pods). The design
 * and what differs from the webhook: docs/admission-policy.md.
 */

export const ADMISSION_POLICY_API_VERSION = 'admissionregistration.k8s.io/v1';
/** The label that opts a pod out of the webhook; the policies honour it too. */
export const SKIP_LABEL = 'pod-identity-webhook.io/skip';
export const DEFAULT_POLICY_NAME = 'pod-identity-webhook';

export interface AdmissionPolicyOptions {
  readonly mutation: MutationOptions;
  /** ServiceAccounts given EKS Pod Identity (`namespace/name`); empty: no Pod Identity policy. */
  readonly podIdentities: PodIdentities;
  /** Prefix of the objects' names; default `pod-identity-webhook`. */
  readonly name?: string;
  /** What the API server does when a policy's CEL fails at run time; default Ignore, as the webhook. */
  readonly failurePolicy?: 'Ignore' | 'Fail';
}

/** A Kubernetes object as the renderer builds it (plain JSON). */
export type PolicyObject = Record<string, unknown>;

/** The four objects a mode needs at most: per injection a policy and its binding. */
export function renderAdmissionPolicies(options: AdmissionPolicyOptions): PolicyObject[] {
  const name = options.name ?? DEFAULT_POLICY_NAME;
  const failurePolicy = options.failurePolicy ?? 'Ignore';
  const objects: PolicyObject[] = [];
  const identities = [...options.podIdentities].sort();
  const irsa = `${name}-irsa`;
  objects.push(policy(irsa, failurePolicy, irsaSpec(options.mutation, identities)), binding(irsa));
  if (identities.length > 0) {
    const podIdentity = `${name}-pod-identity`;
    objects.push(policy(podIdentity, failurePolicy, podIdentitySpec(options.mutation, identities)), binding(podIdentity));
  }
  return objects;
}

const LABELS = { 'app.kubernetes.io/name': 'pod-identity-webhook', 'app.kubernetes.io/component': 'admission-policy' };

function policy(name: string, failurePolicy: string, spec: PolicySpec): PolicyObject {
  return {
    apiVersion: ADMISSION_POLICY_API_VERSION,
    kind: 'MutatingAdmissionPolicy',
    metadata: { name, labels: LABELS },
    spec: {
      paramKind: { apiVersion: 'v1', kind: 'ServiceAccount' },
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        matchPolicy: 'Equivalent',
        // As the webhook's objectSelector: a pod labelled pod-identity-webhook.io/skip=true is left alone.
        objectSelector: { matchExpressions: [{ key: SKIP_LABEL, operator: 'NotIn', values: ['true'] }] },
      },
      failurePolicy,
      // The patch is idempotent: re-run after a later webhook or policy adds a container, it completes it.
      reinvocationPolicy: 'IfNeeded',
      matchConditions: spec.matchConditions,
      variables: spec.variables,
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: spec.patch } }],
    },
  };
}

function binding(name: string): PolicyObject {
  return {
    apiVersion: ADMISSION_POLICY_API_VERSION,
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name, labels: LABELS },
    spec: {
      policyName: name,
      // Every ServiceAccount of the pod's namespace is a candidate parameter; the policy's first
      // match condition keeps the pod's own. None there (or not the pod's): the pod is admitted as it is.
      paramRef: { selector: {}, parameterNotFoundAction: 'Allow' },
    },
  };
}

interface NamedExpression {
  readonly name: string;
  readonly expression: string;
}

interface PolicySpec {
  readonly matchConditions: NamedExpression[];
  readonly variables: NamedExpression[];
  readonly patch: string;
}

/** What differs between the two injections; the container and volume rules are shared (as in the engine). */
interface Injection {
  readonly volumeName: string;
  readonly mountPath: string;
  readonly tokenFileName: string;
  /** CEL: the audience and the lifetime of the projected token, and whether to inject regional STS. */
  readonly audience: string;
  readonly expiration: string;
  /** The identity variables, given the CEL of the container's token file. */
  identityEnv(tokenFile: string): Array<readonly [string, string]>;
  /** CEL: the list of metadata operations (the marker annotation, or the Pod Identity label). */
  readonly metadataOps: string;
}

const v = (name: string): string => `variables.${name}`;
const ROLE_ARN_PATTERN = '^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$';
const MAX_ARN_LENGTH = 2048;

/** The ServiceAccount the pod runs as is the parameter (the ServiceAccount admission plugin sets `default` first). */
const SERVICE_ACCOUNT_CONDITION: NamedExpression = {
  name: 'service-account',
  expression: 'params.metadata.name == (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : "default")',
};

function identitiesMap(identities: readonly string[]): string {
  return `{${identities.map((key) => `${celString(key)}: true`).join(', ')}}`;
}

const PARAM_KEY = 'params.metadata.namespace + "/" + params.metadata.name';

function irsaSpec(options: MutationOptions, identities: readonly string[]): PolicySpec {
  const key = (name: string): string => celString(`${options.annotationPrefix}/${name}`);
  const matchConditions: NamedExpression[] = [
    SERVICE_ACCOUNT_CONDITION,
    {
      name: 'role-arn',
      expression:
        `has(params.metadata.annotations) && ${key(ANNOTATION.roleArn)} in params.metadata.annotations && ` +
        `size(params.metadata.annotations[${key(ANNOTATION.roleArn)}].trim()) <= ${MAX_ARN_LENGTH} && ` +
        `params.metadata.annotations[${key(ANNOTATION.roleArn)}].trim().matches(${celString(ROLE_ARN_PATTERN)})`,
    },
  ];
  // A ServiceAccount listed for Pod Identity gets it even when it names a role (as the engine).
  if (identities.length > 0) matchConditions.push({ name: 'not-pod-identity', expression: `!((${PARAM_KEY}) in ${identitiesMap(identities)})` });
  const markerKey = `${options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
  const injection: Injection = {
    volumeName: TOKEN_VOLUME_NAME,
    mountPath: options.tokenMountPath,
    tokenFileName: TOKEN_FILE_NAME,
    audience: v('audience'),
    expiration: v('expiration'),
    identityEnv: (tokenFile) => [
      ['AWS_ROLE_ARN', v('roleArn')],
      ['AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile],
    ],
    metadataOps: setMetadataOps('annotations', markerKey, v('roleArn')),
  };
  const variables: NamedExpression[] = [
    ...annotationVariables(),
    { name: 'roleArn', expression: `${v('saAnnotations')}[${key(ANNOTATION.roleArn)}].trim()` },
    {
      name: 'audience',
      expression: `${v('saAnnotations')}[?${key(ANNOTATION.audience)}].orValue("").trim() == "" ? ${celString(options.tokenAudience)} : ${v('saAnnotations')}[${key(ANNOTATION.audience)}].trim()`,
    },
    ...settingVariables(options),
    { name: 'expiration', expression: v('requestedExpiration') },
    ...tokenVolumeVariables(injection),
    ...containerVariables(options, injection),
  ];
  return { matchConditions, variables, patch: patchExpression(injection) };
}

function podIdentitySpec(options: MutationOptions, identities: readonly string[]): PolicySpec {
  const credentials = options.containerCredentials;
  const injection: Injection = {
    volumeName: credentials.tokenVolumeName,
    mountPath: credentials.tokenMountPath,
    tokenFileName: credentials.tokenPath,
    audience: celString(credentials.audience),
    expiration: v('expiration'),
    identityEnv: (tokenFile) => [
      ['AWS_CONTAINER_CREDENTIALS_FULL_URI', celString(credentials.fullUri)],
      ['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', tokenFile],
    ],
    metadataOps: setMetadataOps('labels', POD_IDENTITY_LABEL, celString(POD_IDENTITY_LABEL_VALUE)),
  };
  const variables: NamedExpression[] = [
    ...annotationVariables(),
    ...settingVariables(options),
    // The engine draws the default lifetime at random in [79200, 86400]; CEL has no random source
    // (the admission request's uid is not among a policy's variables): the lifetime is kept as asked.
    { name: 'expiration', expression: v('requestedExpiration') },
    ...tokenVolumeVariables(injection),
    ...containerVariables(options, injection),
  ];
  return {
    matchConditions: [SERVICE_ACCOUNT_CONDITION, { name: 'pod-identity', expression: `(${PARAM_KEY}) in ${identitiesMap(identities)}` }],
    variables,
    patch: patchExpression(injection),
  };
}

function annotationVariables(): NamedExpression[] {
  return [
    { name: 'saAnnotations', expression: 'has(params.metadata.annotations) ? params.metadata.annotations : {}' },
    { name: 'podAnnotations', expression: 'has(object.metadata.annotations) ? object.metadata.annotations : {}' },
  ];
}

/** Regional STS and the requested token lifetime: the engine's precedence, bad values skipped. */
function settingVariables(options: MutationOptions): NamedExpression[] {
  const key = (name: string): string => celString(`${options.annotationPrefix}/${name}`);
  // Whole seconds, at most 2^32 (ten digits after any leading zeros keep int() from overflowing).
  const valid = (raw: string): string => `${raw}.matches("^0*[0-9]{1,10}$") && int(${raw}) <= ${MAX_TOKEN_EXPIRATION_SECONDS}`;
  const raised = (raw: string): string => `(int(${raw}) < ${MIN_TOKEN_EXPIRATION_SECONDS} ? ${MIN_TOKEN_EXPIRATION_SECONDS} : int(${raw}))`;
  const regional = options.stsRegionalEndpoints ? 'true' : 'false';
  return [
    { name: 'regionalRaw', expression: `${v('saAnnotations')}[?${key(ANNOTATION.stsRegionalEndpoints)}].orValue("").trim().lowerAscii()` },
    { name: 'regional', expression: `${v('regionalRaw')} == "true" ? true : (${v('regionalRaw')} == "false" ? false : ${regional})` },
    { name: 'podExpiration', expression: `${v('podAnnotations')}[?${key(ANNOTATION.tokenExpiration)}].orValue("").trim()` },
    { name: 'saExpiration', expression: `${v('saAnnotations')}[?${key(ANNOTATION.tokenExpiration)}].orValue("").trim()` },
    {
      name: 'requestedExpiration',
      expression:
        `${valid(v('podExpiration'))} ? ${raised(v('podExpiration'))} : ` +
        `(${valid(v('saExpiration'))} ? ${raised(v('saExpiration'))} : ${options.tokenExpirationSeconds})`,
    },
  ];
}

const GROUPS = [
  { group: 'containers', list: 'object.spec.containers' },
  { group: 'initContainers', list: '(has(object.spec.initContainers) ? object.spec.initContainers : [])' },
] as const;

/** A Windows container's view of a path (CEL of a string): backslashes, no trailing one, on C: unless a drive is given. */
function windowsPath(path: string): string {
  const converted = `${path}.replace("/", "\\\\").find("(?s)^.*[^\\\\\\\\]")`;
  return `(${converted}.matches("^[A-Za-z]:") ? ${converted} : "C:" + ${converted})`;
}

/** The token file inside a mount of the token volume at `mountPath` (CEL of a string). */
function tokenFileIn(mountPath: string, fileName: string): string {
  const windowsFile = fileName.replaceAll('/', '\\');
  return `(${v('windows')} ? ${windowsPath(mountPath)} + ${celString(`\\${windowsFile}`)} : ${mountPath}.find("(?s)^.*[^/]") + ${celString(`/${fileName}`)})`;
}

/** Volume names are DNS labels: at most 63 characters (as the engine's token-volume.ts). */
const MAX_VOLUME_NAME_LENGTH = 63;

/**
 * CEL of `<base>-<n>` (n a CEL int), cut as the engine cuts it so that the whole stays a DNS label:
 * the base is known when the policy is rendered, so each suffix length gets its own cut base.
 */
function suffixedName(base: string, n: string): string {
  const cut = (digits: number): string => celString(base.slice(0, MAX_VOLUME_NAME_LENGTH - 1 - digits).replace(/-+$/, ''));
  if (base.length + 1 + 7 <= MAX_VOLUME_NAME_LENGTH) return `${celString(base)} + "-" + string(${n})`;
  let expression = cut(7);
  for (let digits = 6; digits >= 1; digits -= 1) expression = `(${n} < ${10 ** digits} ? ${cut(digits)} : ${expression})`;
  return `${expression} + "-" + string(${n})`;
}

/**
 * The engine's choice of token volume (engine/token-volume.ts), by what a volume is, not its name:
 * the volumes that are projected serviceAccountTokens of the audience at the token file; the one
 * the containers mount (the configured name when it is one of them, else the first); without one,
 * the configured name, or the first free `<name>-N` when a volume that is not the token has it.
 */
function tokenVolumeVariables(injection: Injection): NamedExpression[] {
  const configured = celString(injection.volumeName);
  const token = 's.serviceAccountToken';
  const holdsToken =
    `has(x.projected) && has(x.projected.sources) && x.projected.sources.exists(s, has(${token}) && has(${token}.audience) && ` +
    `${token}.audience == ${injection.audience} && has(${token}.path) && ${token}.path.matches(${celString(cleanRelativePathPattern(injection.tokenFileName))}))`;
  const mountNames = (list: string): string => `${list}.map(c, has(c.volumeMounts) ? c.volumeMounts.filter(m, has(m.name)).map(m, m.name) : []).flatten()`;
  return [
    { name: 'volumes', expression: 'has(object.spec.volumes) ? object.spec.volumes : []' },
    { name: 'tokenVolumes', expression: `${v('volumes')}.filter(x, ${holdsToken}).map(x, x.name)` },
    {
      name: 'takenNames',
      expression: `${v('volumes')}.map(x, x.name) + ${GROUPS.map(({ list }) => mountNames(list)).join(' + ')}`,
    },
    {
      name: 'volumeName',
      expression:
        `size(${v('tokenVolumes')}) > 0 ? (${configured} in ${v('tokenVolumes')} ? ${configured} : ${v('tokenVolumes')}[0]) : ` +
        `(${v('volumes')}.exists(x, x.name == ${configured}) ? ` +
        `lists.range(size(${v('takenNames')}) + 1).map(i, ${suffixedName(injection.volumeName, 'i + 1')}).filter(n, !(n in ${v('takenNames')}))[0] : ${configured})`,
    },
    { name: 'tokenVolumeNames', expression: `size(${v('tokenVolumes')}) > 0 ? ${v('tokenVolumes')} : [${v('volumeName')}]` },
  ];
}

/** Per container: its mounts of the token volume, its token file, whether it is injected, the variables it lacks. */
function containerVariables(options: MutationOptions, injection: Injection): NamedExpression[] {
  const occupied = `has(c.volumeMounts) && c.volumeMounts.exists(m, (!has(m.name) || !(m.name in ${v('tokenVolumeNames')})) && has(m.mountPath) && m.mountPath.matches(${celString(cleanPathPattern(injection.mountPath))}))`;
  const variables: NamedExpression[] = [
    {
      name: 'windows',
      expression:
        'has(object.spec.nodeSelector) && (object.spec.nodeSelector[?"kubernetes.io/os"].orValue("").lowerAscii() == "windows" || ' +
        'object.spec.nodeSelector[?"beta.kubernetes.io/os"].orValue("").lowerAscii() == "windows")',
    },
    {
      name: 'tokenFile',
      expression: `${v('windows')} ? ${celString(tokenFilePath(injection.mountPath, true, injection.tokenFileName))} : ${celString(tokenFilePath(injection.mountPath, false, injection.tokenFileName))}`,
    },
    {
      name: 'skipped',
      expression: `${v('podAnnotations')}[?${celString(`${options.annotationPrefix}/${ANNOTATION.skipContainers}`)}].orValue("").split(",").map(n, n.trim()).filter(n, n != "")`,
    },
  ];
  for (const { group, list } of GROUPS) {
    const mounts = v(`${group}TokenMounts`);
    const first = 't[0]';
    const hasPath = `size(t) > 0 && has(${first}.mountPath) && ${first}.mountPath != ""`;
    variables.push(
      { name: `${group}TokenMounts`, expression: `${list}.map(c, has(c.volumeMounts) ? c.volumeMounts.filter(m, has(m.name) && m.name in ${v('tokenVolumeNames')}) : [])` },
      {
        name: `${group}TokenFiles`,
        expression:
          `${mounts}.map(t, ${hasPath} && (!has(${first}.subPath) || ${first}.subPath == "") ? ${tokenFileIn(`${first}.mountPath`, injection.tokenFileName)} : ` +
          `(${hasPath} && has(${first}.subPath) && ${first}.subPath == ${celString(injection.tokenFileName)} ? (${v('windows')} ? ${windowsPath(`${first}.mountPath`)} : ${first}.mountPath) : ${v('tokenFile')}))`,
      },
      { name: `${group}Injected`, expression: `${list}.map(c, !(c.name in ${v('skipped')}) && !(${occupied}))` },
      { name: `${group}Env`, expression: `${list}.transformList(i, c, ${desiredEnv(options, injection, `string(${v(`${group}TokenFiles`)}[i])`)})` },
    );
  }
  variables.push({ name: 'anyInjected', expression: GROUPS.map(({ group }) => `${v(`${group}Injected`)}.exists(x, x)`).join(' || ') });
  return variables;
}

/** CEL: the variables a container `c` does not declare, in the engine's order, as EnvVar maps. */
function desiredEnv(options: MutationOptions, injection: Injection, tokenFile: string): string {
  const declared = (name: string): string => `(has(c.env) && c.env.exists(e, has(e.name) && e.name == ${celString(name)}))`;
  const variable = (name: string, value: string): string => `{"name": ${celString(name)}, "value": ${value}}`;
  const parts: string[] = [`(${v('regional')} && !${declared('AWS_STS_REGIONAL_ENDPOINTS')} ? [${variable('AWS_STS_REGIONAL_ENDPOINTS', '"regional"')}] : [])`];
  if (options.awsDefaultRegion) {
    const region = celString(options.awsDefaultRegion);
    parts.push(`(!${declared('AWS_DEFAULT_REGION')} && !${declared('AWS_REGION')} ? [${variable('AWS_DEFAULT_REGION', region)}, ${variable('AWS_REGION', region)}] : [])`);
  }
  if (options.stsEndpointUrl) parts.push(`(!${declared('AWS_ENDPOINT_URL_STS')} ? [${variable('AWS_ENDPOINT_URL_STS', celString(options.stsEndpointUrl))}] : [])`);
  for (const [name, value] of injection.identityEnv(tokenFile)) parts.push(`(!${declared(name)} ? [${variable(name, value)}] : [])`);
  return parts.join(' + ');
}

/** CEL: the operations appending `item` to the array at `path` (a CEL string), creating it when `exists` is false. */
function appendOps(path: string, exists: string, item: string): string {
  return `(${exists} ? [JSONPatch{op: "add", path: ${path} + "/-", value: ${item}}] : [JSONPatch{op: "add", path: ${path}, value: [${item}]}])`;
}

/** CEL: set `key` in the pod's annotations or labels, creating the map when absent; nothing when it already holds `value`. */
function setMetadataOps(map: 'annotations' | 'labels', key: string, value: string): string {
  const field = `object.metadata.${map}`;
  const pointer = celString(jsonPointer('metadata', map, key));
  return (
    `(!has(${field}) ? [JSONPatch{op: "add", path: ${celString(`/metadata/${map}`)}, value: {${celString(key)}: ${value}}}] : ` +
    `(!(${celString(key)} in ${field}) ? [JSONPatch{op: "add", path: ${pointer}, value: ${value}}] : ` +
    `(${field}[${celString(key)}] != ${value} ? [JSONPatch{op: "replace", path: ${pointer}, value: ${value}}] : [])))`
  );
}

/** CEL: the whole patch, in the engine's order: the volume, each injected container, the metadata. */
function patchExpression(injection: Injection): string {
  const volume = v('volumeName');
  // Typed objects (Object.<field path>{…}): CEL map literals must have values of one type.
  const source = 'Object.spec.volumes.projected.sources';
  const tokenVolume =
    `Object.spec.volumes{name: ${volume}, projected: Object.spec.volumes.projected{sources: [${source}{serviceAccountToken: ` +
    `${source}.serviceAccountToken{audience: ${injection.audience}, expirationSeconds: ${injection.expiration}, path: ${celString(injection.tokenFileName)}}}]}}`;
  const volumeOps = `(size(${v('tokenVolumes')}) > 0 ? [] : ${appendOps('"/spec/volumes"', 'has(object.spec.volumes)', tokenVolume)})`;
  const containerOps = GROUPS.map(({ group, list }) => {
    const mount = `Object.spec.${group}.volumeMounts{name: ${volume}, mountPath: ${celString(injection.mountPath)}, readOnly: true}`;
    const path = `"/spec/${group}/" + string(i)`;
    const env = `${v(`${group}Env`)}[i]`;
    const envOps = `(size(${env}) == 0 ? [] : (has(c.env) ? ${env}.map(x, JSONPatch{op: "add", path: ${path} + "/env/-", value: x}) : [JSONPatch{op: "add", path: ${path} + "/env", value: ${env}}]))`;
    const mountOps = `(size(${v(`${group}TokenMounts`)}[i]) > 0 ? [] : ${appendOps(`${path} + "/volumeMounts"`, 'has(c.volumeMounts)', mount)})`;
    return `${list}.transformList(i, c, ${v(`${group}Injected`)}[i], ${envOps} + ${mountOps}).flatten()`;
  });
  return `!${v('anyInjected')} ? [] : ${volumeOps} + ${containerOps.join(' + ')} + ${injection.metadataOps}`;
}
