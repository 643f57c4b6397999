import { posix } from 'node:path';
import { quoteValue } from './identity.js';
import type { PodView, VolumeView } from './types.js';

/** Volume names are DNS labels: at most 63 characters. */
const MAX_VOLUME_NAME_LENGTH = 63;

/** The same file in a volume: `token`, `./token` and `token/` name one file (the kubelet cleans paths). */
function sameFile(a: string, b: string): boolean {
  const clean = (path: string): string => posix.normalize(path).replace(/\/+$/, '');
  return clean(a) === clean(b);
}

/**
 * True when the volume is a projected `serviceAccountToken` for `audience` written at `fileName`:
 * the token the webhook injects, whatever the volume is called. Its lifetime, other sources and
 * `defaultMode` do not matter (another webhook may have added them); a name alone never makes one.
 */
export function holdsToken(volume: VolumeView, audience: string, fileName: string): boolean {
  return volume.serviceAccountTokens.some((token) => token.audience === audience && token.path !== undefined && sameFile(token.path, fileName));
}

/** What a volume is, in a warning or a report: `emptyDir`, or the tokens a projected one holds. Values are quoted. */
export function describeVolume(volume: VolumeView): string {
  if (volume.source !== 'projected') return volume.source === undefined ? 'no volume source' : quoteValue(volume.source).slice(1, -1);
  if (volume.serviceAccountTokens.length === 0) return 'projected, without a serviceAccountToken';
  const first = volume.serviceAccountTokens[0]!;
  const more = volume.serviceAccountTokens.length - 1;
  return (
    `projected token for audience ${first.audience === undefined ? "(the API server's)" : quoteValue(first.audience)} at ${quoteValue(first.path ?? '')}` +
    (more > 0 ? ` and ${more} more` : '')
  );
}

/** Where the pod's token is, or will be once the patch adds it. */
export interface TokenVolume {
  /** The volume the containers mount: an existing token volume, or the one the patch adds. */
  readonly name: string;
  readonly exists: boolean;
  /** Every volume of the pod holding the token (`name` among them): a container mounting any of them has it. */
  readonly names: ReadonlySet<string>;
  /** A volume under the configured name that is not the token: left alone, the token goes under `name`. */
  readonly displaced: VolumeView | undefined;
}

/** The configured name with `-N` appended, cut so that the whole stays a DNS label. */
function suffixed(base: string, index: number): string {
  const suffix = `-${index}`;
  return `${base.slice(0, MAX_VOLUME_NAME_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/**
 * The first of `<name>-1`, `<name>-2`, ... that no volume or volume mount of the pod uses (a mount
 * naming a missing volume is the pod's own, not ours). Ends within as many steps as there are names.
 */
function freeName(pod: PodView, base: string): string {
  const taken = new Set<string>();
  for (const volume of pod.volumes ?? []) taken.add(volume.name);
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    for (const mount of container.volumeMounts ?? []) if (mount.name !== undefined) taken.add(mount.name);
  }
  for (let index = 1; ; index += 1) {
    const candidate = suffixed(base, index);
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Finds the pod's token volume by what it is: the configured name when that volume holds the
 * token, else the first volume that does (another webhook may have renamed ours: reinvocation
 * never adds a second). Without one the patch adds it under the configured name, or, when a volume
 * that is not the token has that name, under the first free `<name>-N`.
 */
export function chooseTokenVolume(pod: PodView, configuredName: string, audience: string, fileName: string): TokenVolume {
  const volumes = pod.volumes ?? [];
  const names = new Set<string>();
  for (const volume of volumes) if (holdsToken(volume, audience, fileName)) names.add(volume.name);
  if (names.size > 0) {
    const name = names.has(configuredName) ? configuredName : names.values().next().value!;
    return { name, exists: true, names, displaced: undefined };
  }
  const displaced = volumes.find((volume) => volume.name === configuredName);
  const name = displaced === undefined ? configuredName : freeName(pod, configuredName);
  return { name, exists: false, names: new Set([name]), displaced };
}
