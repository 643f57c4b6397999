import { posix } from 'node:path';
import { ANNOTATION, TOKEN_FILE_NAME, TOKEN_VOLUME_NAME } from './defaults.js';
import { annotationKeys, type InjectedIdentity, quoteValue, resolveIdentity, skippedContainers } from './identity.js';
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
export function tokenFilePath(mountPath: string, windows: boolean): string {
  if (!windows) return `${trimTrailingSlashes(mountPath)}/${TOKEN_FILE_NAME}`;
  return `${windowsPath(mountPath)}\\${TOKEN_FILE_NAME}`;
}

const trimTrailingSlashes = (path: string): string => trimTrailing(path, '/');

/** A mount path as the container sees it: `//` and `/./` collapsed, no trailing slash. */
function cleanMountPath(path: string): string {
  return trimTrailingSlashes(posix.normalize(path)) || '/';
}

/**
 * A mount of another volume at the directory the token volume would be mounted at. The API server
 * refuses a container with two mounts at one path (`mountPath: must be unique`), so such a container
 * cannot be given the token mount; it is left alone, with a warning.
 */
function occupiedTokenPath(container: ContainerView, options: MutationOptions): VolumeMountView | undefined {
  if (container.volumeMounts === undefined) return undefined;
  const wanted = cleanMountPath(options.tokenMountPath);
  return container.volumeMounts.find(
    (mount) => mount.name !== TOKEN_VOLUME_NAME && mount.mountPath !== undefined && cleanMountPath(mount.mountPath) === wanted,
  );
}

/** JSON Pointers of annotation keys, escaped once per key (the marker's is needed on every pod). */
const annotationPointers = new Map<string, string>();
function annotationPointer(key: string): string {
  let pointer = annotationPointers.get(key);
  if (pointer === undefined) annotationPointers.set(key, (pointer = jsonPointer('metadata', 'annotations', key)));
  return pointer;
}

/** True when the container declares `name` (any entry, with a value or valueFrom). */
function declares(env: readonly EnvVarView[] | undefined, name: string): boolean {
  return env !== undefined && firstEnv(env, name) !== undefined;
}

/** The variables to inject that the container does not declare itself, in injection order. */
function desiredEnv(identity: InjectedIdentity, options: MutationOptions, tokenFile: string, env: readonly EnvVarView[] | undefined): EnvVar[] {
  const wanted: EnvVar[] = [];
  const want = (name: string, value: string): void => {
    if (!declares(env, name)) wanted.push({ name, value });
  };
  if (identity.stsRegionalEndpoints) want('AWS_STS_REGIONAL_ENDPOINTS', 'regional');
  if (options.awsDefaultRegion && !declares(env, 'AWS_DEFAULT_REGION') && !declares(env, 'AWS_REGION')) {
    want('AWS_DEFAULT_REGION', options.awsDefaultRegion);
    want('AWS_REGION', options.awsDefaultRegion);
  }
  if (options.stsEndpointUrl) want('AWS_ENDPOINT_URL_STS', options.stsEndpointUrl);
  want('AWS_ROLE_ARN', identity.roleArn);
  want('AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile);
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
  identity: InjectedIdentity,
  options: MutationOptions,
  windows: boolean,
  defaultTokenFile: string,
  warnings: string[],
): void {
  // A container that already mounts the token volume (say at another path) keeps its mount, and
  // the token file variable points into it: at <mount>/token, or at the mount itself when it mounts
  // just the token file (subPath: token).
  const tokenMount = container.volumeMounts?.find((mount) => mount.name === TOKEN_VOLUME_NAME);
  let tokenFile = defaultTokenFile;
  if (tokenMount?.mountPath && !tokenMount.subPath) tokenFile = tokenFilePath(tokenMount.mountPath, windows);
  else if (tokenMount?.mountPath && tokenMount.subPath === TOKEN_FILE_NAME) tokenFile = windows ? windowsPath(tokenMount.mountPath) : tokenMount.mountPath;
  else if (tokenMount) {
    warnings.push(
      `container ${quoteValue(container.name)} mounts ${TOKEN_VOLUME_NAME} with subPath ${quoteValue(tokenMount.subPath ?? '')}, ` +
        `which does not hold the token; ${quoteValue(tokenFile)} will not exist in it`,
    );
  }
  // A container's own setting always stays; say so when it points somewhere other than our identity.
  warnIfSetOtherwise(container, 'AWS_ROLE_ARN', identity.roleArn, warnings);
  warnIfSetOtherwise(container, 'AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile, warnings);

  appendOps(patch, `${path}/env`, container.env !== undefined, desiredEnv(identity, options, tokenFile, container.env));
  if (tokenMount === undefined) {
    appendOps(patch, `${path}/volumeMounts`, container.volumeMounts !== undefined, [
      { name: TOKEN_VOLUME_NAME, mountPath: options.tokenMountPath, readOnly: true },
    ]);
  }
}

/**
 * Computes the JSON patch that gives a pod the AWS identity of its ServiceAccount. Pure: the same
 * inputs always give the same patch, and running it on its own output gives an empty patch.
 */
export function mutatePod(
  pod: PodView,
  serviceAccount: ServiceAccountView | undefined,
  options: MutationOptions,
): MutationResult {
  const result = mutate(pod, serviceAccount, options);
  return { patch: result.patch, warnings: boundWarnings(result.warnings) };
}

function mutate(pod: PodView, serviceAccount: ServiceAccountView | undefined, options: MutationOptions): MutationResult {
  if (serviceAccount === undefined) return { patch: [], warnings: [] };
  const podAnnotations = pod.annotations ?? {};
  const { identity, warnings } = resolveIdentity(serviceAccount, podAnnotations, options);
  if (identity === undefined) return { patch: [], warnings };

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
    const occupant = occupiedTokenPath(container, options);
    if (occupant === undefined) continue;
    conflicts.add(container);
    warnings.push(
      `container ${quoteValue(container.name)} mounts volume ${quoteValue(occupant.name ?? '')} at ${quoteValue(occupant.mountPath ?? '')}, ` +
        'the token mount path: it gets no AWS identity (move that mount or change --token-mount-path)',
    );
  }
  const mutates = (container: ContainerView): boolean => !skipped.has(container.name) && !conflicts.has(container);
  if (!pod.containers.some(mutates) && !initContainers.some(mutates)) return { patch: [], warnings };

  const patch: PatchOperation[] = [];
  if (!pod.volumeNames?.includes(TOKEN_VOLUME_NAME)) {
    const volume = {
      name: TOKEN_VOLUME_NAME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: identity.audience,
              expirationSeconds: identity.expirationSeconds,
              path: TOKEN_FILE_NAME,
            },
          },
        ],
      },
    };
    appendOps(patch, '/spec/volumes', pod.volumeNames !== undefined, [volume]);
  }
  const defaultTokenFile = tokenFilePath(options.tokenMountPath, windows);
  const addGroup = (field: string, containers: readonly ContainerView[]): void => {
    for (let index = 0; index < containers.length; index += 1) {
      const container = containers[index]!;
      if (mutates(container)) addContainerOps(patch, container, `/spec/${field}/${index}`, identity, options, windows, defaultTokenFile, warnings);
    }
  };
  addGroup('containers', pod.containers);
  addGroup('initContainers', initContainers);

  const markerKey = annotationKeys(options.annotationPrefix)(ANNOTATION.injectedRoleArn);
  const markerPath = annotationPointer(markerKey);
  if (!pod.hasMetadata) {
    patch.push({ op: 'add', path: '/metadata', value: { annotations: { [markerKey]: identity.roleArn } } });
  } else if (pod.annotations === undefined) {
    patch.push({ op: 'add', path: '/metadata/annotations', value: { [markerKey]: identity.roleArn } });
  } else if (!(markerKey in pod.annotations)) {
    patch.push({ op: 'add', path: markerPath, value: identity.roleArn });
  } else if (pod.annotations[markerKey] !== identity.roleArn) {
    patch.push({ op: 'replace', path: markerPath, value: identity.roleArn });
  }
  return { patch, warnings };
}
