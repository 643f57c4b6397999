import { posix } from 'node:path';
import { ANNOTATION, POD_IDENTITY_LABEL, POD_IDENTITY_LABEL_VALUE, TOKEN_FILE_NAME, TOKEN_VOLUME_NAME } from './defaults.js';
import { annotationKeys, quoteValue, resolveIdentity, resolvePodIdentity, skippedContainers } from './identity.js';
import { trimTrailing } from '../../shared/text.js';
import { jsonPointer } from './pointer.js';
import { boundWarnings } from './warnings.js';
import type {
  ContainerView,
  EnvVarView,
  MutationOptions,
  MutationResult,
  PatchOperation,
  PodView,
  ServiceAccountView,
  VolumeMountView,
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

/** A mount path as the container sees it: `//` and `/./` collapsed, no trailing slash. */
function cleanMountPath(path: string): string {
  return trimTrailingSlashes(posix.normalize(path)) || '/';
}

/**
 * What one mode injects: IRSA (a web identity token and the role) or EKS Pod Identity (a token for
 * the agent and its URI). The container and volume rules are the same for both.
 */
interface Injection {
  readonly volumeName: string;
  readonly audience: string;
  readonly expirationSeconds: number;
  /** Directory the token volume is mounted at. */
  readonly mountPath: string;
  /** File name of the token inside the volume. */
  readonly tokenFileName: string;
  readonly stsRegionalEndpoints: boolean;
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
function occupiedTokenPath(container: ContainerView, injection: Injection): VolumeMountView | undefined {
  if (container.volumeMounts === undefined) return undefined;
  const wanted = cleanMountPath(injection.mountPath);
  return container.volumeMounts.find(
    (mount) => mount.name !== injection.volumeName && mount.mountPath !== undefined && cleanMountPath(mount.mountPath) === wanted,
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

function warnIfSetOtherwise(container: ContainerView, name: string, value: string, warnings: string[]): void {
  const theirs = container.env === undefined ? undefined : firstEnv(container.env, name);
  if (theirs === undefined || theirs.value === value) return;
  warnings.push(
    `container ${quoteValue(container.name)} already sets ${name}` +
      (theirs.value === undefined ? ' (from valueFrom)' : ` to ${quoteValue(theirs.value)}`) +
      `; kept it instead of injecting ${quoteValue(value)}`,
  );
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

function addContainerOps(
  patch: PatchOperation[],
  container: ContainerView,
  path: string,
  injection: Injection,
  options: MutationOptions,
  windows: boolean,
  defaultTokenFile: string,
  warnings: string[],
): void {
  // A container that already mounts the token volume (say at another path) keeps its mount, and
  // the token file variable points into it: at <mount>/<file>, or at the mount itself when it mounts
  // just the token file (subPath: <file>).
  const { volumeName, tokenFileName } = injection;
  const tokenMount = container.volumeMounts?.find((mount) => mount.name === volumeName);
  let tokenFile = defaultTokenFile;
  if (tokenMount?.mountPath && !tokenMount.subPath) tokenFile = tokenFilePath(tokenMount.mountPath, windows, tokenFileName);
  else if (tokenMount?.mountPath && tokenMount.subPath === tokenFileName) tokenFile = windows ? windowsPath(tokenMount.mountPath) : tokenMount.mountPath;
  else if (tokenMount) {
    warnings.push(
      `container ${quoteValue(container.name)} mounts ${volumeName} with subPath ${quoteValue(tokenMount.subPath ?? '')}, ` +
        `which does not hold the token; ${quoteValue(tokenFile)} will not exist in it`,
    );
  }
  // A container's own setting always stays; say so when it points somewhere other than our identity.
  for (const variable of injection.identityEnv(tokenFile)) warnIfSetOtherwise(container, variable.name, variable.value, warnings);

  appendOps(patch, `${path}/env`, container.env !== undefined, desiredEnv(injection, options, tokenFile, container.env));
  if (tokenMount === undefined) {
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
function irsaInjection(serviceAccount: ServiceAccountView, podAnnotations: Readonly<Record<string, string>>, options: MutationOptions, warnings: string[]): Injection | undefined {
  const resolved = resolveIdentity(serviceAccount, podAnnotations, options);
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

function mutate(pod: PodView, serviceAccount: ServiceAccountView | undefined, options: MutationOptions, jitter: number): MutationResult {
  if (serviceAccount === undefined) return { patch: [], warnings: [] };
  const podAnnotations = pod.annotations ?? {};
  const warnings: string[] = [];
  // A ServiceAccount listed for Pod Identity gets it even when it also names a role (as the Go webhook).
  const injection = serviceAccount.podIdentity
    ? podIdentityInjection(serviceAccount, podAnnotations, options, jitter, warnings)
    : irsaInjection(serviceAccount, podAnnotations, options, warnings);
  if (injection === undefined) return { patch: [], warnings };

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
  const conflicts = new Set<ContainerView>();
  for (const container of [...pod.containers, ...initContainers]) {
    if (skipped.has(container.name)) continue;
    const occupant = occupiedTokenPath(container, injection);
    if (occupant === undefined) continue;
    conflicts.add(container);
    warnings.push(
      `container ${quoteValue(container.name)} mounts volume ${quoteValue(occupant.name ?? '')} at ${quoteValue(occupant.mountPath ?? '')}, ` +
        `the token mount path: it gets no AWS identity (move that mount or change ${injection.mountPathFlag})`,
    );
  }
  const mutates = (container: ContainerView): boolean => !skipped.has(container.name) && !conflicts.has(container);
  if (!pod.containers.some(mutates) && !initContainers.some(mutates)) return { patch: [], warnings };

  const patch: PatchOperation[] = [];
  if (!pod.volumeNames?.includes(injection.volumeName)) {
    const volume = {
      name: injection.volumeName,
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
    appendOps(patch, '/spec/volumes', pod.volumeNames !== undefined, [volume]);
  }
  const defaultTokenFile = tokenFilePath(injection.mountPath, windows, injection.tokenFileName);
  const addGroup = (field: string, containers: readonly ContainerView[]): void => {
    for (let index = 0; index < containers.length; index += 1) {
      const container = containers[index]!;
      if (!mutates(container)) continue;
      if (serviceAccount.podIdentity) warnIfWebIdentityWins(container, warnings);
      addContainerOps(patch, container, `/spec/${field}/${index}`, injection, options, windows, defaultTokenFile, warnings);
    }
  };
  addGroup('containers', pod.containers);
  addGroup('initContainers', initContainers);
  injection.addMetadataOps(pod, patch);
  return { patch, warnings };
}
