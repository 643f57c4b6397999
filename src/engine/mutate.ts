import { ANNOTATION, TOKEN_FILE_NAME, TOKEN_VOLUME_NAME } from './defaults.js';
import { type InjectedIdentity, quoteValue, resolveIdentity, skippedContainers } from './identity.js';
import { jsonPointer } from './pointer.js';
import type {
  ContainerView,
  EnvVarView,
  MutationOptions,
  MutationResult,
  PatchOperation,
  PodView,
  ServiceAccountView,
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
  const converted = path.replaceAll('/', '\\').replace(/\\+$/, '');
  return /^[A-Za-z]:/.test(converted) ? converted : `C:${converted}`;
}

/** Where the token file is, given the directory the token volume is mounted at. */
export function tokenFilePath(mountPath: string, windows: boolean): string {
  if (!windows) return `${mountPath.replace(/\/+$/, '')}/${TOKEN_FILE_NAME}`;
  return `${windowsPath(mountPath)}\\${TOKEN_FILE_NAME}`;
}

function desiredEnv(identity: InjectedIdentity, options: MutationOptions, tokenFile: string, has: (name: string) => boolean): EnvVar[] {
  const env: EnvVar[] = [];
  if (identity.stsRegionalEndpoints) env.push({ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' });
  if (options.awsDefaultRegion && !has('AWS_DEFAULT_REGION') && !has('AWS_REGION')) {
    env.push({ name: 'AWS_DEFAULT_REGION', value: options.awsDefaultRegion });
    env.push({ name: 'AWS_REGION', value: options.awsDefaultRegion });
  }
  if (options.stsEndpointUrl) env.push({ name: 'AWS_ENDPOINT_URL_STS', value: options.stsEndpointUrl });
  env.push({ name: 'AWS_ROLE_ARN', value: identity.roleArn });
  env.push({ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: tokenFile });
  return env.filter((variable) => !has(variable.name));
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

/** Appends items to an array at `path`, creating the array when the container has none. */
function appendOps(path: string, exists: boolean, items: readonly unknown[]): PatchOperation[] {
  if (items.length === 0) return [];
  if (!exists) return [{ op: 'add', path, value: [...items] }];
  return items.map((value) => ({ op: 'add', path: `${path}/-`, value }));
}

function containerOps(
  container: ContainerView,
  path: string,
  identity: InjectedIdentity,
  options: MutationOptions,
  windows: boolean,
  defaultTokenFile: string,
  warnings: string[],
): PatchOperation[] {
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
  const env = container.env;
  const has = (name: string): boolean => env !== undefined && firstEnv(env, name) !== undefined;

  // A container's own setting always stays; say so when it points somewhere other than our identity.
  warnIfSetOtherwise(container, 'AWS_ROLE_ARN', identity.roleArn, warnings);
  warnIfSetOtherwise(container, 'AWS_WEB_IDENTITY_TOKEN_FILE', tokenFile, warnings);

  const ops = appendOps(
    `${path}/env`,
    container.env !== undefined,
    desiredEnv(identity, options, tokenFile, has),
  );
  if (tokenMount === undefined) {
    ops.push(
      ...appendOps(`${path}/volumeMounts`, container.volumeMounts !== undefined, [
        { name: TOKEN_VOLUME_NAME, mountPath: options.tokenMountPath, readOnly: true },
      ]),
    );
  }
  return ops;
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
  if (serviceAccount === undefined) return { patch: [], warnings: [] };
  const podAnnotations = pod.annotations ?? {};
  const { identity, warnings } = resolveIdentity(serviceAccount, podAnnotations, options);
  if (identity === undefined) return { patch: [], warnings };

  const windows = isWindowsPod(pod);
  const skipped = skippedContainers(podAnnotations, options);
  const groups = [
    { field: 'containers', containers: pod.containers },
    { field: 'initContainers', containers: pod.initContainers ?? [] },
  ] as const;

  const known = skipped.size === 0 ? undefined : new Set(groups.flatMap((group) => group.containers.map((container) => container.name)));
  for (const name of skipped) {
    if (!known?.has(name)) {
      warnings.push(
        `pod annotation ${options.annotationPrefix}/${ANNOTATION.skipContainers} names ${quoteValue(name)}, ` +
          'which is not a container of this pod',
      );
    }
  }

  const mutated: Array<{ container: ContainerView; path: string }> = [];
  for (const group of groups) {
    const prefix = `/spec/${group.field}`;
    group.containers.forEach((container, index) => {
      if (!skipped.has(container.name)) mutated.push({ container, path: `${prefix}/${index}` });
    });
  }
  if (mutated.length === 0) return { patch: [], warnings };

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
    patch.push(...appendOps('/spec/volumes', pod.volumeNames !== undefined, [volume]));
  }
  const defaultTokenFile = tokenFilePath(options.tokenMountPath, windows);
  for (const { container, path } of mutated) {
    patch.push(...containerOps(container, path, identity, options, windows, defaultTokenFile, warnings));
  }

  const markerKey = `${options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
  if (!pod.hasMetadata) {
    patch.push({ op: 'add', path: '/metadata', value: { annotations: { [markerKey]: identity.roleArn } } });
  } else if (pod.annotations === undefined) {
    patch.push({ op: 'add', path: '/metadata/annotations', value: { [markerKey]: identity.roleArn } });
  } else if (!(markerKey in pod.annotations)) {
    patch.push({ op: 'add', path: jsonPointer('metadata', 'annotations', markerKey), value: identity.roleArn });
  } else if (pod.annotations[markerKey] !== identity.roleArn) {
    patch.push({ op: 'replace', path: jsonPointer('metadata', 'annotations', markerKey), value: identity.roleArn });
  }
  return { patch, warnings };
}
