import type {
  ContainerView,
  EnvVarView,
  PodView,
  ProjectedTokenView,
  ServiceAccountView,
  VolumeMountView,
  VolumeView,
} from './engine/types.js';
import { isJsonObject } from '../shared/json.js';
import type { Parsed } from '../shared/result.js';

type JsonObject = Record<string, unknown>;

class ShapeError extends Error {}

/**
 * Where a field is, for error messages. A function so that the path text is built only when a
 * message needs it: building it for every env entry of every container cost more than reading them.
 */
type Where = () => string;

const ROOT: Where = () => '';

function optionalObject(parent: JsonObject, key: string, where: Where): JsonObject | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw new ShapeError(`${where()}${key} must be an object`);
  return value;
}

function optionalArray(parent: JsonObject, key: string, where: Where): unknown[] | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ShapeError(`${where()}${key} must be an array`);
  return value;
}

function optionalString(parent: JsonObject, key: string): string | undefined {
  const value = parent[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Keeps only string values: Kubernetes maps of labels/annotations/selectors are string-to-string.
 * The object itself when every value is a string (the usual case; parsed JSON is not shared).
 */
function stringMap(value: JsonObject | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  for (const key in value) {
    if (typeof value[key] !== 'string') return onlyStrings(value);
  }
  return value as Record<string, string>;
}

function onlyStrings(value: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in value) {
    const entry = value[key];
    if (typeof entry === 'string') out[key] = entry;
  }
  return out;
}

/** Each item of a list (`where()` + `key`, already checked to be an array) read by `read`. */
function readObjectList<T>(items: unknown[] | undefined, key: string, where: Where, read: (item: JsonObject, index: number) => T): T[] | undefined {
  if (items === undefined) return undefined;
  const out = new Array<T>(items.length);
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index];
    if (!isJsonObject(item)) throw new ShapeError(`${where()}${key}[${index}] must be an object`);
    out[index] = read(item, index);
  }
  return out;
}

/** Containers of a spec list; each reader gets the container's path for its error messages. */
function readContainerList(items: unknown[] | undefined, key: string): ContainerView[] | undefined {
  return readObjectList(items, key, SPEC, (item, index) => readContainer(item, () => `spec.${key}[${index}]`));
}

const isOptionalString = (value: unknown): value is string | undefined => value === undefined || typeof value === 'string';

/** The entry itself when its fields already have the view's types (parsed JSON is not shared). */
function readEnvVar(item: JsonObject): EnvVarView {
  if (isOptionalString(item.name) && isOptionalString(item.value)) return item as unknown as EnvVarView;
  return { name: optionalString(item, 'name'), value: optionalString(item, 'value') };
}

function readVolumeMount(item: JsonObject): VolumeMountView {
  if (isOptionalString(item.name) && isOptionalString(item.mountPath) && isOptionalString(item.subPath)) return item as unknown as VolumeMountView;
  return {
    name: optionalString(item, 'name'),
    mountPath: optionalString(item, 'mountPath'),
    subPath: optionalString(item, 'subPath'),
  };
}

function readContainer(item: JsonObject, where: Where): ContainerView {
  const name = item.name;
  if (typeof name !== 'string' || name === '') throw new ShapeError(`${where()}.name must be a non-empty string`);
  const inside = (): string => `${where()}.`;
  return {
    name,
    env: readObjectList(optionalArray(item, 'env', inside), 'env', inside, readEnvVar),
    volumeMounts: readObjectList(optionalArray(item, 'volumeMounts', inside), 'volumeMounts', inside, readVolumeMount),
  };
}

const NO_TOKENS: readonly ProjectedTokenView[] = Object.freeze([]);

/**
 * The `serviceAccountToken` sources of a projected volume. A source of another shape than the API
 * server accepts is not a token (the engine then adds its own), never an error.
 */
function projectedTokens(projected: unknown): readonly ProjectedTokenView[] {
  if (!isJsonObject(projected) || !Array.isArray(projected.sources)) return NO_TOKENS;
  const tokens: ProjectedTokenView[] = [];
  for (const source of projected.sources) {
    const token: unknown = isJsonObject(source) ? source.serviceAccountToken : undefined;
    if (isJsonObject(token)) tokens.push({ audience: optionalString(token, 'audience'), path: optionalString(token, 'path') });
  }
  return tokens;
}

/** A volume's name, what kind it is, and the tokens it projects: the engine recognises its token by them. */
function readVolume(item: JsonObject): VolumeView {
  let source: string | undefined;
  for (const key in item) {
    if (key !== 'name') {
      source = key;
      break;
    }
  }
  return { name: optionalString(item, 'name') ?? '', source, serviceAccountTokens: projectedTokens(item.projected) };
}

const SPEC: Where = () => 'spec.';
const METADATA: Where = () => 'metadata.';

/**
 * Reads the fields the engine needs from an untrusted Pod object. Structural problems (a field of
 * the wrong JSON type) are reported; values the engine does not read are not inspected at all.
 */
export function readPod(value: unknown): Parsed<PodView> {
  try {
    if (!isJsonObject(value)) throw new ShapeError('the pod must be a JSON object');
    const metadataObject = optionalObject(value, 'metadata', ROOT);
    const metadata = metadataObject ?? {};
    const spec = optionalObject(value, 'spec', ROOT);
    if (spec === undefined) throw new ShapeError('the pod has no spec');
    // This order decides which problem a pod with several is told about: keep it (tested).
    const containerItems = optionalArray(spec, 'containers', SPEC);
    if (containerItems === undefined) throw new ShapeError('spec.containers is missing');
    const volumes = optionalArray(spec, 'volumes', SPEC);
    const annotations = stringMap(optionalObject(metadata, 'annotations', METADATA));
    const labels = stringMap(optionalObject(metadata, 'labels', METADATA));
    const nodeSelector = stringMap(optionalObject(spec, 'nodeSelector', SPEC)) ?? {};
    const volumeViews = readObjectList(volumes, 'volumes', SPEC, readVolume);
    const containers = readContainerList(containerItems, 'containers') ?? [];
    const initContainers = readContainerList(optionalArray(spec, 'initContainers', SPEC), 'initContainers');
    return {
      ok: true,
      value: {
        hasMetadata: metadataObject !== undefined,
        name: optionalString(metadata, 'name'),
        generateName: optionalString(metadata, 'generateName'),
        namespace: optionalString(metadata, 'namespace'),
        serviceAccountName:
          optionalString(spec, 'serviceAccountName') || optionalString(spec, 'serviceAccount') || 'default',
        annotations,
        labels,
        nodeSelector,
        volumes: volumeViews,
        containers,
        initContainers,
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
