import { posix } from 'node:path';
import { quoteValue } from '../webhook/engine/identity.js';
import type { ContainerPlan, InjectionPlan } from '../webhook/engine/mutate.js';
import { describeVolume, holdsToken } from '../webhook/engine/token-volume.js';
import type { ContainerView, PodView, VolumeMountView } from '../webhook/engine/types.js';

/** A container of a pod that exists whose token variable names a file that is not the token. */
export interface MisplacedTokenFile {
  readonly container: ContainerPlan;
  /** `container "app": AWS_WEB_IDENTITY_TOKEN_FILE=/path: why that is not the token`. */
  readonly detail: string;
}

/** A Windows path (`C:\var\run\...`) as the mount paths spell it; others as they are. */
function unixPath(file: string): string {
  return /^[A-Za-z]:[\\/]/.test(file) ? file.slice(2).replaceAll('\\', '/') : file;
}

const clean = (path: string): string => posix.normalize(path).replace(/(.)\/+$/, '$1');

/** The mount the file is in: the deepest whose path is the file or one of its directories. */
function mountHolding(container: ContainerView, file: string): { readonly mount: VolumeMountView; readonly inMount: string } | undefined {
  let found: { mount: VolumeMountView; inMount: string; depth: number } | undefined;
  for (const mount of container.volumeMounts ?? []) {
    if (mount.mountPath === undefined) continue;
    const at = clean(mount.mountPath);
    const inMount = file === at ? '' : file.startsWith(at === '/' ? '/' : `${at}/`) ? file.slice(at === '/' ? 1 : at.length + 1) : undefined;
    if (inMount !== undefined && (found === undefined || at.length > found.depth)) found = { mount, inMount, depth: at.length };
  }
  return found;
}

/** Why the file is not the plan's token, or undefined when it is. */
function problem(pod: PodView, container: ContainerView, plan: InjectionPlan, file: string): string | undefined {
  const held = mountHolding(container, file);
  if (held === undefined) return 'no volume is mounted there';
  const { mount, inMount } = held;
  const volume = pod.volumes?.find((candidate) => candidate.name === mount.name);
  const name = quoteValue(mount.name ?? '');
  if (volume === undefined) return `it is in a mount of ${name}, which is not a volume of the pod`;
  const inVolume = mount.subPath ? posix.join(mount.subPath, inMount) : inMount;
  if (inVolume === '') return `it names the mount of ${name} itself, a directory, not the token file in it`;
  if (holdsToken(volume, plan.audience, inVolume)) return undefined;
  if (holdsToken(volume, plan.audience, plan.tokenFileName)) return `volume ${name} holds the token at ${quoteValue(plan.tokenFileName)}, not at ${quoteValue(inVolume)}`;
  return `volume ${name} (${describeVolume(volume)}) is not a projected serviceAccountToken for ${quoteValue(plan.audience)} at ${quoteValue(plan.tokenFileName)}`;
}

/**
 * For a pod that exists: the containers (not skipped) whose token variable names a file outside a
 * projected token of the plan's audience and path: in a volume of another kind (an emptyDir or
 * hostPath that had the token volume's name when the webhook matched volumes by name), a token for
 * another audience, or where nothing is mounted. Their SDKs read no token, or the wrong one.
 */
export function misplacedTokenFiles(pod: PodView, plan: InjectionPlan, containers: readonly ContainerPlan[] = plan.containers): MisplacedTokenFile[] {
  const misplaced: MisplacedTokenFile[] = [];
  for (const planned of containers) {
    if (planned.outcome === 'skipped') continue;
    const view = planned.group === 'containers' ? pod.containers[planned.index] : pod.initContainers?.[planned.index];
    const value = view?.env?.find((variable) => variable.name === plan.tokenFileVariable)?.value;
    if (view === undefined || value === undefined) continue;
    const file = unixPath(value);
    if (!file.startsWith('/')) continue;
    const why = problem(pod, view, plan, clean(file));
    if (why !== undefined) misplaced.push({ container: planned, detail: `container ${quoteValue(planned.name)}: ${plan.tokenFileVariable}=${quoteValue(value)}: ${why}` });
  }
  return misplaced;
}
