/**
 * What an admission answer means, so that servers answering with different patches can be compared:
 * ours appends env entries, mounts and the token volume one operation at a time; the Go webhook
 * replaces each container (and inserts the volume at index 0). Two answers mean the same when the API
 * server would accept both, both allow the pod, and the patched pods carry the same env, mounts and
 * token volume.
 */
import { isDeepStrictEqual } from 'node:util';
import { applyPatch } from '../src/webhook/apply-patch.js';
import type { PatchOperation } from '../src/webhook/engine/types.js';
import { isJsonObject } from '../src/shared/json.js';

export type ReviewVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';

export const TOKEN_VOLUME = 'aws-iam-token';

type JsonObject = Record<string, unknown>;

/** What a patched pod carries that the webhook is for, per container (containers, then init containers). */
export interface PodIdentity {
  readonly containers: ReadonlyArray<{ readonly name: string; readonly env: unknown; readonly volumeMounts: unknown }>;
  readonly tokenVolume: unknown;
  /** Names of the pod's volumes, sorted (the peer inserts its volume first, ours appends it). */
  readonly volumeNames: readonly string[];
}

export type Checked =
  | { readonly ok: true; readonly pod: JsonObject; readonly identity: PodIdentity; readonly patchOperations: number; readonly patchBytes: number }
  | { readonly ok: false; readonly problem: string };

/** The API server's ServiceAccount admission names its token volume with a random suffix per pod. */
const generatedName = (name: unknown): string => String(name).replace(/^(kube-api-access-)[a-z0-9]{5}$/, '$1*');

/** The env, mounts and token volume of a pod object (as patched, or as the API server stored it). */
export function identityOf(pod: JsonObject): PodIdentity {
  const spec = isJsonObject(pod.spec) ? pod.spec : {};
  const list = (value: unknown): JsonObject[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);
  const containers = [...list(spec.containers), ...list(spec.initContainers)].map((container) => ({
    name: String(container.name),
    env: container.env ?? [],
    volumeMounts: list(container.volumeMounts).map((mount) => ({ ...mount, name: generatedName(mount.name) })),
  }));
  const volumes = list(spec.volumes);
  return {
    containers,
    tokenVolume: volumes.find((volume) => volume.name === TOKEN_VOLUME),
    volumeNames: volumes.map((volume) => generatedName(volume.name)).sort(),
  };
}

/** The first difference between two identities, or undefined when they are the same. */
export function identityDifference(a: PodIdentity, b: PodIdentity): string | undefined {
  if (a.containers.length !== b.containers.length) return `${a.containers.length} containers against ${b.containers.length}`;
  for (let index = 0; index < a.containers.length; index += 1) {
    const [left, right] = [a.containers[index]!, b.containers[index]!];
    if (left.name !== right.name) return `container ${index} is ${left.name} against ${right.name}`;
    if (!isDeepStrictEqual(left.env, right.env)) return `container ${left.name}: env ${JSON.stringify(left.env)} against ${JSON.stringify(right.env)}`;
    if (!isDeepStrictEqual(left.volumeMounts, right.volumeMounts)) {
      return `container ${left.name}: volumeMounts ${JSON.stringify(left.volumeMounts)} against ${JSON.stringify(right.volumeMounts)}`;
    }
  }
  if (a.tokenVolume === undefined) return `no ${TOKEN_VOLUME} volume`;
  if (!isDeepStrictEqual(a.tokenVolume, b.tokenVolume)) return `${TOKEN_VOLUME} volume ${JSON.stringify(a.tokenVolume)} against ${JSON.stringify(b.tokenVolume)}`;
  if (!isDeepStrictEqual(a.volumeNames, b.volumeNames)) return `volumes ${a.volumeNames.join(',')} against ${b.volumeNames.join(',')}`;
  return undefined;
}

/**
 * Reads one answer to a review of `pod` sent as `version` with `uid` the way kube-apiserver does
 * (k8s.io/apiserver's VerifyAdmissionResponse: a v1 answer must say apiVersion admission.k8s.io/v1
 * and kind AdmissionReview and echo the uid; a v1beta1 answer may leave them out), then applies its
 * patch to a copy of the pod.
 */
export function checkAnswer(version: ReviewVersion, uid: string, pod: JsonObject, text: string): Checked {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return { ok: false, problem: `the answer is not JSON: ${text.slice(0, 200)}` };
  }
  if (!isJsonObject(answer)) return { ok: false, problem: 'the answer is not a JSON object' };
  const typeMeta = `apiVersion ${JSON.stringify(answer.apiVersion ?? '')}, kind ${JSON.stringify(answer.kind ?? '')}`;
  if (version === 'admission.k8s.io/v1' && (answer.apiVersion !== version || answer.kind !== 'AdmissionReview')) {
    return { ok: false, problem: `a v1 review answered with ${typeMeta}, which kube-apiserver refuses ("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview")` };
  }
  if (version === 'admission.k8s.io/v1beta1' && ((answer.apiVersion !== undefined && answer.apiVersion !== version) || (answer.kind !== undefined && answer.kind !== 'AdmissionReview'))) {
    return { ok: false, problem: `a v1beta1 review answered with ${typeMeta}` };
  }
  const response = answer.response;
  if (!isJsonObject(response)) return { ok: false, problem: 'the answer has no response object' };
  if (version === 'admission.k8s.io/v1' ? response.uid !== uid : response.uid !== undefined && response.uid !== '' && response.uid !== uid) {
    return { ok: false, problem: `response.uid ${JSON.stringify(response.uid)} is not the request's ${uid}` };
  }
  if (response.allowed !== true) return { ok: false, problem: `the pod is not allowed: ${JSON.stringify(response.status ?? response.result ?? {})}` };
  if (response.patchType !== 'JSONPatch' || typeof response.patch !== 'string') return { ok: false, problem: 'the answer carries no JSONPatch' };
  const patchText = Buffer.from(response.patch, 'base64').toString('utf8');
  let patch: unknown;
  try {
    patch = JSON.parse(patchText);
  } catch {
    return { ok: false, problem: 'the patch is not base64 JSON' };
  }
  if (!Array.isArray(patch)) return { ok: false, problem: 'the patch is not a JSON array' };
  let patched: JsonObject;
  try {
    patched = applyPatch(structuredClone(pod), patch as PatchOperation[]);
  } catch (error) {
    return { ok: false, problem: `the patch does not apply: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true, pod: patched, identity: identityOf(patched), patchOperations: patch.length, patchBytes: patchText.length };
}

/**
 * Fields of the patched containers other than env and volumeMounts that differ between two patched
 * pods (a patch replacing whole containers re-serialises each one): reported, not a failure.
 */
export function otherContainerDifferences(a: JsonObject, b: JsonObject): string[] {
  const containers = (pod: JsonObject): JsonObject[] => {
    const spec = isJsonObject(pod.spec) ? pod.spec : {};
    return [spec.containers, spec.initContainers].flatMap((list) => (Array.isArray(list) ? list.filter(isJsonObject) : []));
  };
  const [left, right] = [containers(a), containers(b)];
  const differences: string[] = [];
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const keys = new Set([...Object.keys(left[index]!), ...Object.keys(right[index]!)]);
    for (const key of keys) {
      if (key === 'env' || key === 'volumeMounts') continue;
      if (!isDeepStrictEqual(left[index]![key], right[index]![key])) differences.push(`${String(left[index]!.name)}.${key}`);
    }
  }
  return differences;
}
