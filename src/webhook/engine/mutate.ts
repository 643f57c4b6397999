import { posix } from 'node:path';
import { ANNOTATION, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, TOKEN_FILE_NAME, TOKEN_VOLUME_NAME } from './defaults.js';
import { annotationKeys, type IdentityResolution, quoteValue, resolveIdentity, resolvePodIdentity, skippedContainers } from './identity.js';
import { trimTrailing } from '../../shared/text.js';
import { jsonPointer } from './pointer.js';
import { boundWarnings } from './warnings.js';
import { chooseTokenVolume, describeVolume, type TokenVolume } from './token-volume.js';
import type {
  ContainerView,
  EnvVarView,
  MutationOptions,
  MutationResult,
  PatchOperation,
  PodView,
  ServiceAccountView,
  VolumeMountView,
  VolumeView,
} from './types.js';

interface EnvVar {
  readonly name: string;
  readonly value: string;
}

const WINDOWS_SELECTOR_KEYS = ['kubernetes.io/os', 'beta.kubernetes.io/os'];

export function isWindowsPod(pod: PodView): boolean {
  return WINDOWS_SELECTOR_KEYS.some((key) => pod.nodeSelector[key]?.toLowerCase() === 'windows');
}

/** A container path as Windows containers see it: backslashes, on drive C: unless one is given. */
function windowsPath(path: string): string {
  const converted = trimTrailing(path.replaceAll('/', '\\'), '\\');
  return /^[A-Za-z]:/.test(converted) ? converted : `C:${converted}`;
}

/** Where the token file is, given the directory the token volume is mounted at. */
export function tokenFilePath(mountPath: string, windows: boolean, fileName: string = TOKEN_FILE_NAME): string {
  if (!windows) return `${trimTrailingSlashes(mountPath)}/${fileName}`;
  return `${windowsPath(mountPath)}\\${fileName.replaceAll('/', '\\')}`;
}

const trimTrailingSlashes = (path: string): string => trimTrailing(path, '/');

/**
 * True when cleaning cannot change `path`: absolute, no trailing slash, and no `//` or `/.` (so no
 * empty, `.` or `..` segment). Most mount paths are; they skip `posix.normalize`, which was a fifth
 * of the engine's time on a realistic pod (bench/README.md, seventh round).
 */
function isCleanPath(path: string): boolean {
  return path.length > 1 && path.charCodeAt(0) === 0x2f && path.charCodeAt(path.length - 1) !== 0x2f && !path.includes('//') && !path.includes('/.');
}

/** A mount path as the container sees it: `//` and `/./` collapsed, no trailing slash. */
export function cleanMountPath(path: string): string {
  if (isCleanPath(path)) return path;
  return trimTrailingSlashes(posix.normalize(path)) || '/';
}

/**
 * What one mode injects: IRSA (a web identity token and the role) or EKS Pod Identity (a token for
 * the agent and its URI). The container and volume rules are the same for both.
 */
interface Injection {
  /** The volume name configured (the token may go under another: see token-volume.ts). */
  readonly volumeName: string;
  readonly audience: string;
  readonly expirationSeconds: number;
  /** Directory the token volume is mounted at. */
  readonly mountPath: string;
  /** File name of the token inside the volume. */
  readonly tokenFileName: string;
  readonly stsRegionalEndpoints: boolean;
  /** The variable naming the token file (the last of `identityEnv`). */
  readonly tokenFileVariable: string;
  /** The variables that name the identity, last in the injection order, given the token file the container sees. */
  identityEnv(tokenFile: string): EnvVar[];
  /** The flag that moves the mount, for the warning about an occupied mount path. */
  readonly mountPathFlag: string;
  /** Adds the pod-level metadata ops (the marker annotation, or the Pod Identity label). */
  addMetadataOps(pod: PodView, patch: PatchOperation[]): void;
}

/**
 * A mount of another volume at the directory the token volume would be mounted at. The API server
 * refuses a container with two mounts at one path (`mountPath: must be unique`), so such a container
 * cannot be given the token mount; it is left alone, with a warning.
 */
function occupiedTokenPath(container: ContainerView, wanted: string, volume: TokenVolume): VolumeMountView | undefined {
  if (container.volumeMounts === undefined) return undefined;
  return container.volumeMounts.find(
    (mount) => !(mount.name !== undefined && volume.names.has(mount.name)) && mount.mountPath !== undefined && cleanMountPath(mount.mountPath) === wanted,
  );
}

/** JSON Pointers of metadata map keys, escaped once per key (the marker's is needed on every pod). */
const metadataPointers = new Map<string, string>();
function metadataPointer(map: 'annotations' | 'labels', key: string): string {
  const cacheKey = `${map}\n${key}`;
  let pointer = metadataPointers.get(cacheKey);
  if (pointer === undefined) metadataPointers.set(cacheKey, (pointer = jsonPointer('metadata', map, key)));
  return pointer;
}

/** Sets `key` to `value` in the pod's annotations or labels, creating the map (and metadata) when absent. */
function setMetadataOps(pod: PodView, patch: PatchOperation[], map: 'annotations' | 'labels', key: string, value: string): void {
  const current = map === 'annotations' ? pod.annotations : pod.labels;
  if (!pod.hasMetadata) patch.push({ op: 'add', path: '/metadata', value: { [map]: { [key]: value } } });
  else if (current === undefined) patch.push({ op: 'add', path: `/metadata/${map}`, value: { [key]: value } });
  else if (!(key in current)) patch.push({ op: 'add', path: metadataPointer(map, key), value });
  else if (current[key] !== value) patch.push({ op: 'replace', path: metadataPointer(map, key), value });
}

/** True when the container declares `name` (any entry, with a value or valueFrom). */
function declares(env: readonly EnvVarView[] | undefined, name: string): boolean {
  return env !== undefined && firstEnv(env, name) !== undefined;
}

/** The variables to inject that the container does not declare itself, in injection order. */
function desiredEnv(injection: Injection, options: MutationOptions, tokenFile: string, env: readonly EnvVarView[] | undefined): EnvVar[] {
  const wanted: EnvVar[] = [];
  const want = (name: string, value: string): void => {
    if (!declares(env, name)) wanted.push({ name, value });
  };
  if (injection.stsRegionalEndpoints) want('AWS_STS_REGIONAL_ENDPOINTS', 'regional');
  if (options.awsDefaultRegion && !declares(env, 'AWS_DEFAULT_REGION') && !declares(env, 'AWS_REGION')) {
    want('AWS_DEFAULT_REGION', options.awsDefaultRegion);
    want('AWS_REGION', options.awsDefaultRegion);
  }
  if (options.stsEndpointUrl) want('AWS_ENDPOINT_URL_STS', options.stsEndpointUrl);
  for (const variable of injection.identityEnv(tokenFile)) want(variable.name, variable.value);
  return wanted;
}

/** The first variable named `name` (later duplicates do not count, as in the kubelet). */
function firstEnv(env: readonly EnvVarView[], name: string): EnvVarView | undefined {
  for (const variable of env) if (variable.name === name) return variable;
  return undefined;
}

/** Adds ops appending `items` to the array at `path`, creating the array when the object has none. */
function appendOps(patch: PatchOperation[], path: string, exists: boolean, items: readonly unknown[]): void {
  if (items.length === 0) return;
  if (!exists) {
    patch.push({ op: 'add', path, value: [...items] });
    return;
  }
  for (const value of items) patch.push({ op: 'add', path: `${path}/-`, value });
}

/** The token file a container's variable names: in its own mount of a token volume when it has one. */
function containerTokenFile(container: ContainerView, injection: Injection, volume: TokenVolume, windows: boolean, defaultTokenFile: string, warnings: string[]): { readonly tokenFile: string; readonly mounted: boolean } {
  // A container that already mounts a token volume (say at another path) keeps its mount, and
  // the token file variable points into it: at <mount>/<file>, or at the mount itself when it mounts
  // just the token file (subPath: <file>).
  const { tokenFileName } = injection;
  const tokenMount = container.volumeMounts?.find((mount) => mount.name !== undefined && volume.names.has(mount.name));
  if (tokenMount?.mountPath && !tokenMount.subPath) return { tokenFile: tokenFilePath(tokenMount.mountPath, windows, tokenFileName), mounted: true };
  if (tokenMount?.mountPath && tokenMount.subPath === tokenFileName) return { tokenFile: windows ? windowsPath(tokenMount.mountPath) : tokenMount.mountPath, mounted: true };
  if (tokenMount) {
    warnings.push(
      `container ${quoteValue(container.name)} mounts ${quoteValue(tokenMount.name ?? '')} with subPath ${quoteValue(tokenMount.subPath ?? '')}, ` +
        `which does not hold the token; ${quoteValue(defaultTokenFile)} will not exist in it`,
    );
  }
  return { tokenFile: defaultTokenFile, mounted: tokenMount !== undefined };
}

/** The identity variables the container sets itself to other values than the injection's: its own stay. */
function overriddenVariables(container: ContainerView, identityEnv: readonly EnvVar[]): OverriddenVariable[] {
  if (container.env === undefined) return [];
  const overridden: OverriddenVariable[] = [];
  for (const variable of identityEnv) {
    const theirs = firstEnv(container.env, variable.name);
    if (theirs !== undefined && theirs.value !== variable.value) overridden.push({ name: variable.name, theirs: theirs.value, ours: variable.value });
  }
  return overridden;
}

function addContainerOps(patch: PatchOperation[], container: ContainerView, plan: ContainerPlan, path: string, injection: Injection, volumeName: string, options: MutationOptions, warnings: string[]): void {
  // A container's own setting always stays; say so when it points somewhere other than our identity.
  for (const variable of plan.overridden) {
    warnings.push(
      `container ${quoteValue(container.name)} already sets ${variable.name}` +
        (variable.theirs === undefined ? ' (from valueFrom)' : ` to ${quoteValue(variable.theirs)}`) +
        `; kept it instead of injecting ${quoteValue(variable.ours)}`,
    );
  }
  appendOps(patch, `${path}/env`, container.env !== undefined, desiredEnv(injection, options, plan.tokenFile, container.env));
  if (!plan.tokenVolumeMounted) {
    appendOps(patch, `${path}/volumeMounts`, container.volumeMounts !== undefined, [
      { name: volumeName, mountPath: injection.mountPath, readOnly: true },
    ]);
  }
}

/**
 * Computes the JSON patch that gives a pod the AWS identity of its ServiceAccount: IRSA, or EKS Pod
 * Identity when the ServiceAccount is marked `podIdentity`. Pure: the same inputs always give the
 * same patch, and running it on its own output gives an empty patch. `expirationJitter` in [0, 1)
 * chooses the lifetime of a Pod Identity token that would last the default 86400 seconds.
 */
export function mutatePod(
  pod: PodView,
  serviceAccount: ServiceAccountView | undefined,
  options: MutationOptions,
  expirationJitter = 0,
): MutationResult {
  const result = mutate(pod, serviceAccount, options, expirationJitter);
  return { patch: result.patch, warnings: boundWarnings(result.warnings) };
}

/** The IRSA injection for the ServiceAccount's role, or undefined when it has no (valid) role. */
function irsaInjection(resolved: IdentityResolution, options: MutationOptions, warnings: string[]): Injection | undefined {
  warnings.push(...resolved.warnings);
  const identity = resolved.identity;
  if (identity === undefined) return undefined;
  const markerKey = annotationKeys(options.annotationPrefix)(ANNOTATION.injectedRoleArn);
  return {
    volumeName: TOKEN_VOLUME_NAME,
    audience: identity.audience,
    expirationSeconds: identity.expirationSeconds,
    mountPath: options.tokenMountPath,
    tokenFileName: TOKEN_FILE_NAME,
    stsRegionalEndpoints: identity.stsRegionalEndpoints,
    tokenFileVariable: 'AWS_WEB_IDENTITY_TOKEN_FILE',
    identityEnv: (tokenFile) => [
      { name: 'AWS_ROLE_ARN', value: identity.roleArn },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: tokenFile },
    ],
    mountPathFlag: '--token-mount-path',
    addMetadataOps: (view, patch) => setMetadataOps(view, patch, 'annotations', markerKey, identity.roleArn),
  };
}

/** The EKS Pod Identity injection: the agent's URI and a token for it (the role is the agent's business). */
function podIdentityInjection(serviceAccount: ServiceAccountView, podAnnotations: Readonly<Record<string, string>>, options: MutationOptions, jitter: number, warnings: string[]): Injection {
  const resolved = resolvePodIdentity(serviceAccount, podAnnotations, options, jitter);
  warnings.push(...resolved.warnings);
  const { settings } = resolved;
  const credentials = options.containerCredentials;
  return {
    volumeName: credentials.tokenVolumeName,
    audience: settings.audience,
    expirationSeconds: settings.expirationSeconds,
    mountPath: credentials.tokenMountPath,
    tokenFileName: credentials.tokenPath,
    stsRegionalEndpoints: settings.stsRegionalEndpoints,
    tokenFileVariable: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
    identityEnv: (tokenFile) => [
      { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: credentials.fullUri },
      { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: tokenFile },
    ],
    mountPathFlag: '--container-credentials-token-mount-path',
    addMetadataOps: (view, patch) => setMetadataOps(view, patch, 'labels', POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE),
  };
}

/** The AWS SDKs try web identity before container credentials: a container that sets both IRSA variables never uses Pod Identity. */
function warnIfWebIdentityWins(container: ContainerView, warnings: string[]): void {
  if (container.env === undefined || !declares(container.env, 'AWS_ROLE_ARN') || !declares(container.env, 'AWS_WEB_IDENTITY_TOKEN_FILE')) return;
  warnings.push(
    `container ${quoteValue(container.name)} sets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE: the AWS SDKs use web identity ` +
      'before container credentials, so it will not use EKS Pod Identity',
  );
}

/** What the engine decided for one container. */
export interface ContainerPlan {
  readonly group: 'containers' | 'initContainers';
  readonly index: number;
  readonly name: string;
  /** `inject`, or why the container is left alone. */
  readonly outcome: 'inject' | 'skipped' | 'mount-path-occupied';
  /** The other volume mounted at the token mount path (outcome `mount-path-occupied`). */
  readonly occupant: VolumeMountView | undefined;
  /** The token file the container's variable names (in its own mount of the token volume when it has one). */
  readonly tokenFile: string;
  readonly tokenVolumeMounted: boolean;
  /** Identity variables the container sets itself to other values: its own stay. */
  readonly overridden: readonly OverriddenVariable[];
  /** The variables that name the identity, as injected for this container. */
  readonly identityEnv: readonly EnvVar[];
}

export interface OverriddenVariable {
  readonly name: string;
  /** Undefined when the container's value comes from valueFrom. */
  readonly theirs: string | undefined;
  readonly ours: string;
}

/** What the engine would give the pod: the mode, the token volume and each container's outcome. */
export interface InjectionPlan {
  readonly mode: 'irsa' | 'pod-identity';
  /** The role (IRSA); Pod Identity names it in the association, not on the pod. */
  readonly roleArn: string | undefined;
  readonly audience: string;
  readonly expirationSeconds: number;
  /** The token volume: an existing one holding the token (whatever its name), or the one the patch adds. */
  readonly volumeName: string;
  readonly volumeExists: boolean;
  /** A volume under the configured name that is not the token (the token then goes under another name). */
  readonly displacedVolume: VolumeView | undefined;
  readonly mountPath: string;
  readonly tokenFileName: string;
  /** The variable naming the token file: AWS_WEB_IDENTITY_TOKEN_FILE, or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. */
  readonly tokenFileVariable: string;
  readonly containers: readonly ContainerPlan[];
}

interface PlannedInjection {
  readonly injection: Injection;
  readonly plan: InjectionPlan;
}

function plan(pod: PodView, serviceAccount: ServiceAccountView | undefined, options: MutationOptions, jitter: number, warnings: string[]): PlannedInjection | undefined {
  if (serviceAccount === undefined) return undefined;
  const podAnnotations = pod.annotations ?? {};
  // A ServiceAccount listed for Pod Identity gets it even when it also names a role (as the Go webhook).
  const identity = serviceAccount.podIdentity ? undefined : resolveIdentity(serviceAccount, podAnnotations, options);
  const injection = serviceAccount.podIdentity
    ? podIdentityInjection(serviceAccount, podAnnotations, options, jitter, warnings)
    : irsaInjection(identity!, options, warnings);
  if (injection === undefined) return undefined;

  const windows = isWindowsPod(pod);
  const skipped = skippedContainers(podAnnotations, options);
  const initContainers = pod.initContainers ?? [];
  if (skipped.size > 0) {
    const known = new Set([...pod.containers, ...initContainers].map((container) => container.name));
    const unknown = [...skipped].filter((name) => !known.has(name));
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 5).map(quoteValue).join(', ');
      warnings.push(
        `pod annotation ${options.annotationPrefix}/${ANNOTATION.skipContainers} names ${unknown.length === 1 ? 'a container' : `${unknown.length} containers`} ` +
          `not in this pod: ${shown}${unknown.length > 5 ? `, and ${unknown.length - 5} more` : ''}`,
      );
    }
  }
  const volume = chooseTokenVolume(pod, injection.volumeName, injection.audience, injection.tokenFileName);
  const occupants = new Map<ContainerView, VolumeMountView>();
  const tokenMountPath = cleanMountPath(injection.mountPath);
  for (const container of [...pod.containers, ...initContainers]) {
    if (skipped.has(container.name)) continue;
    const occupant = occupiedTokenPath(container, tokenMountPath, volume);
    if (occupant === undefined) continue;
    occupants.set(container, occupant);
    warnings.push(
      `container ${quoteValue(container.name)} mounts volume ${quoteValue(occupant.name ?? '')} at ${quoteValue(occupant.mountPath ?? '')}, ` +
        `the token mount path: it gets no AWS identity (move that mount or change ${injection.mountPathFlag})`,
    );
  }
  const defaultTokenFile = tokenFilePath(injection.mountPath, windows, injection.tokenFileName);
  const containers: ContainerPlan[] = [];
  const planGroup = (group: ContainerPlan['group'], list: readonly ContainerView[]): void => {
    for (let index = 0; index < list.length; index += 1) {
      const container = list[index]!;
      const occupant = occupants.get(container);
      const outcome = skipped.has(container.name) ? 'skipped' : occupant !== undefined ? 'mount-path-occupied' : 'inject';
      if (outcome !== 'inject') {
        const identityEnv = injection.identityEnv(defaultTokenFile);
        containers.push({ group, index, name: container.name, outcome, occupant, tokenFile: defaultTokenFile, tokenVolumeMounted: false, overridden: [], identityEnv });
        continue;
      }
      if (serviceAccount.podIdentity) warnIfWebIdentityWins(container, warnings);
      const { tokenFile, mounted } = containerTokenFile(container, injection, volume, windows, defaultTokenFile, warnings);
      const identityEnv = injection.identityEnv(tokenFile);
      containers.push({ group, index, name: container.name, outcome, occupant, tokenFile, tokenVolumeMounted: mounted, overridden: overriddenVariables(container, identityEnv), identityEnv });
    }
  };
  planGroup('containers', pod.containers);
  planGroup('initContainers', initContainers);
  const { displaced } = volume;
  if (displaced !== undefined && containers.some((container) => container.outcome === 'inject')) {
    // A user's volume that merely has the name is never used: the token goes in a volume of its own.
    warnings.push(
      `volume ${quoteValue(displaced.name)} (${describeVolume(displaced)}) is not a projected serviceAccountToken for ${quoteValue(injection.audience)} ` +
        `at ${quoteValue(injection.tokenFileName)}: the token is added as volume ${quoteValue(volume.name)}`,
    );
  }
  return {
    injection,
    plan: {
      mode: serviceAccount.podIdentity ? 'pod-identity' : 'irsa',
      roleArn: identity?.identity?.roleArn,
      audience: injection.audience,
      expirationSeconds: injection.expirationSeconds,
      volumeName: volume.name,
      volumeExists: volume.exists,
      displacedVolume: displaced,
      mountPath: injection.mountPath,
      tokenFileName: injection.tokenFileName,
      tokenFileVariable: injection.tokenFileVariable,
      containers,
    },
  };
}

/**
 * The engine's decisions without the patch, for `explain`: the same code path as `mutatePod`, so
 * what it reports is what the webhook does. Undefined when the pod gets no identity at all.
 */
export function planInjection(pod: PodView, serviceAccount: ServiceAccountView | undefined, options: MutationOptions, expirationJitter = 0): { readonly plan: InjectionPlan | undefined; readonly warnings: string[] } {
  const warnings: string[] = [];
  const planned = plan(pod, serviceAccount, options, expirationJitter, warnings);
  return { plan: planned?.plan, warnings: boundWarnings(warnings) };
}

function mutate(pod: PodView, serviceAccount: ServiceAccountView | undefined, options: MutationOptions, jitter: number): MutationResult {
  const warnings: string[] = [];
  const planned = plan(pod, serviceAccount, options, jitter, warnings);
  if (planned === undefined) return { patch: [], warnings };
  const { injection, plan: decided } = planned;
  const containers = decided.containers.filter((container) => container.outcome === 'inject');
  if (containers.length === 0) return { patch: [], warnings };

  const patch: PatchOperation[] = [];
  if (!decided.volumeExists) {
    const volume = {
      name: decided.volumeName,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: injection.audience,
              expirationSeconds: injection.expirationSeconds,
              path: injection.tokenFileName,
            },
          },
        ],
      },
    };
    appendOps(patch, '/spec/volumes', pod.volumes !== undefined, [volume]);
  }
  for (const container of containers) {
    const view = container.group === 'containers' ? pod.containers[container.index]! : pod.initContainers![container.index]!;
    addContainerOps(patch, view, container, `/spec/${container.group}/${container.index}`, injection, decided.volumeName, options, warnings);
  }
  injection.addMetadataOps(pod, patch);
  return { patch, warnings };
}
