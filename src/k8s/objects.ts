import type {
  ContainerView,
  EnvVarView,
  PodView,
  ServiceAccountView,
  VolumeMountView,
} from '../engine/types.js';

/** A parse outcome: the typed view, or one message saying which field is wrong. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class ShapeError extends Error {}

function optionalObject(parent: JsonObject, key: string, where: string): JsonObject | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw new ShapeError(`${where}${key} must be an object`);
  return value;
}

function optionalArray(parent: JsonObject, key: string, where: string): unknown[] | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ShapeError(`${where}${key} must be an array`);
  return value;
}

function optionalString(parent: JsonObject, key: string): string | undefined {
  const value = parent[key];
  return typeof value === 'string' ? value : undefined;
}

/** Keeps only string values: Kubernetes maps of labels/annotations/selectors are string-to-string. */
function stringMap(value: JsonObject | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') out[key] = entry;
  }
  return out;
}

function readObjectList<T>(
  items: unknown[] | undefined,
  where: string,
  read: (item: JsonObject, where: string) => T,
): T[] | undefined {
  return items?.map((item, index) => {
    const at = `${where}[${index}]`;
    if (!isJsonObject(item)) throw new ShapeError(`${at} must be an object`);
    return read(item, at);
  });
}

function readEnvVar(item: JsonObject): EnvVarView {
  return { name: optionalString(item, 'name'), value: optionalString(item, 'value') };
}

function readVolumeMount(item: JsonObject): VolumeMountView {
  return {
    name: optionalString(item, 'name'),
    mountPath: optionalString(item, 'mountPath'),
    subPath: optionalString(item, 'subPath'),
  };
}

function readContainer(item: JsonObject, where: string): ContainerView {
  const name = item.name;
  if (typeof name !== 'string' || name === '') throw new ShapeError(`${where}.name must be a non-empty string`);
  return {
    name,
    env: readObjectList(optionalArray(item, 'env', `${where}.`), `${where}.env`, readEnvVar),
    volumeMounts: readObjectList(
      optionalArray(item, 'volumeMounts', `${where}.`),
      `${where}.volumeMounts`,
      readVolumeMount,
    ),
  };
}

/**
 * Reads the fields the engine needs from an untrusted Pod object. Structural problems (a field of
 * the wrong JSON type) are reported; values the engine does not read are not inspected at all.
 */
export function readPod(value: unknown): Parsed<PodView> {
  try {
    if (!isJsonObject(value)) throw new ShapeError('the pod must be a JSON object');
    const metadataObject = optionalObject(value, 'metadata', '');
    const metadata = metadataObject ?? {};
    const spec = optionalObject(value, 'spec', '');
    if (spec === undefined) throw new ShapeError('the pod has no spec');
    const containers = optionalArray(spec, 'containers', 'spec.');
    if (containers === undefined) throw new ShapeError('spec.containers is missing');
    const volumes = optionalArray(spec, 'volumes', 'spec.');
    return {
      ok: true,
      value: {
        hasMetadata: metadataObject !== undefined,
        name: optionalString(metadata, 'name'),
        generateName: optionalString(metadata, 'generateName'),
        namespace: optionalString(metadata, 'namespace'),
        serviceAccountName:
          optionalString(spec, 'serviceAccountName') || optionalString(spec, 'serviceAccount') || 'default',
        annotations: stringMap(optionalObject(metadata, 'annotations', 'metadata.')),
        nodeSelector: stringMap(optionalObject(spec, 'nodeSelector', 'spec.')) ?? {},
        volumeNames: readObjectList(volumes, 'spec.volumes', (item) => optionalString(item, 'name') ?? ''),
        containers: readObjectList(containers, 'spec.containers', readContainer) ?? [],
        initContainers: readObjectList(optionalArray(spec, 'initContainers', 'spec.'), 'spec.initContainers', readContainer),
      },
    };
  } catch (error) {
    if (error instanceof ShapeError) return { ok: false, error: error.message };
    throw error;
  }
}

/** Reads name, namespace and annotations of an untrusted ServiceAccount object. */
export function readServiceAccount(value: unknown): Parsed<ServiceAccountView> {
  if (!isJsonObject(value)) return { ok: false, error: 'the ServiceAccount must be a JSON object' };
  const metadata = value.metadata;
  if (!isJsonObject(metadata)) return { ok: false, error: 'the ServiceAccount has no metadata' };
  const name = optionalString(metadata, 'name');
  if (!name) return { ok: false, error: 'the ServiceAccount has no metadata.name' };
  const annotations = metadata.annotations;
  if (annotations !== undefined && annotations !== null && !isJsonObject(annotations)) {
    return { ok: false, error: `ServiceAccount ${name}: metadata.annotations must be an object` };
  }
  return {
    ok: true,
    value: {
      name,
      namespace: optionalString(metadata, 'namespace') || 'default',
      annotations: stringMap(annotations ?? undefined) ?? {},
    },
  };
}
