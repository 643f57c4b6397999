import { ANNOTATION } from '../engine/defaults.js';
import type { ServiceAccountView } from '../engine/types.js';
import { isJsonObject } from '../../shared/json.js';
import type { Parsed } from '../../shared/result.js';
import { parseYaml } from '../../shared/yaml.js';

/** The ConfigMap data key that holds the mapping. */
export const ROLE_MAPPING_KEY = 'config';

const SETTINGS = new Set<string>([
  ANNOTATION.roleArn,
  ANNOTATION.audience,
  ANNOTATION.stsRegionalEndpoints,
  ANNOTATION.tokenExpiration,
]);

/** `namespace/serviceaccount` (or `* /serviceaccount` for any namespace) → settings by annotation name. */
export type RoleMapping = ReadonlyMap<string, Readonly<Record<string, string>>>;

const ENTRY_KEY = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Parses the `config` key of the mapping ConfigMap: YAML (or JSON) mapping `namespace/name` to
 * settings named like the annotations (`role-arn`, `audience`, `sts-regional-endpoints`,
 * `token-expiration`). Unknown settings and malformed keys are errors, so typos do not pass silently.
 */
export function parseRoleMapping(data: Readonly<Record<string, string>> | undefined): Parsed<RoleMapping> {
  const raw = data?.[ROLE_MAPPING_KEY];
  if (raw === undefined || raw.trim() === '') return { ok: true, value: new Map() };
  const parsed = parseYaml(raw, `data.${ROLE_MAPPING_KEY}`);
  if (!parsed.ok) return parsed;
  const document = parsed.value;
  if (document === null) return { ok: true, value: new Map() };
  if (!isJsonObject(document)) return { ok: false, error: `data.${ROLE_MAPPING_KEY} must be a mapping of namespace/serviceaccount to settings` };
  const mapping = new Map<string, Record<string, string>>();
  for (const [key, settings] of Object.entries(document)) {
    if (key.length > 317 || !ENTRY_KEY.test(key)) return { ok: false, error: `"${key}" is not namespace/serviceaccount (or */serviceaccount)` };
    if (!isJsonObject(settings)) return { ok: false, error: `"${key}": settings must be a mapping` };
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(settings)) {
      if (!SETTINGS.has(name)) {
        return { ok: false, error: `"${key}": unknown setting "${name}" (expected ${[...SETTINGS].join(', ')})` };
      }
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return { ok: false, error: `"${key}": ${name} must be a string, number or boolean` };
      }
      values[name] = String(value);
    }
    mapping.set(key, values);
  }
  return { ok: true, value: mapping };
}

/**
 * Adds mapped settings to a ServiceAccount as if they were annotations; the ServiceAccount's own
 * annotations win. An exact `namespace/name` entry wins over a `* /name` entry.
 */
export function applyRoleMapping(
  serviceAccount: ServiceAccountView,
  mapping: RoleMapping,
  annotationPrefix: string,
): ServiceAccountView {
  const entry =
    mapping.get(`${serviceAccount.namespace}/${serviceAccount.name}`) ?? mapping.get(`*/${serviceAccount.name}`);
  if (entry === undefined) return serviceAccount;
  const annotations: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry)) annotations[`${annotationPrefix}/${name}`] = value;
  return { ...serviceAccount, annotations: { ...annotations, ...serviceAccount.annotations } };
}
