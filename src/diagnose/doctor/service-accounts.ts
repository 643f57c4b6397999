import { isJsonObject } from '../../shared/json.js';
import { ANNOTATION } from '../../webhook/engine/defaults.js';
import { resolveIdentity, resolvePodIdentity } from '../../webhook/engine/identity.js';
import type { MutationOptions, ServiceAccountView } from '../../webhook/engine/types.js';
import { type PodIdentities, podIdentityKey } from '../../webhook/pod-identity/identities.js';
import { readServiceAccount } from '../../webhook/read-objects.js';
import type { Finding } from '../report.js';
import type { ListResult } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

/** What the pods check needs of a ServiceAccount. */
export interface KnownServiceAccount {
  readonly view: ServiceAccountView;
  /** The role the webhook injects (valid role-arn), if any. */
  readonly roleArn: string | undefined;
  /** A role-arn annotation is there, valid or not. */
  readonly annotated: boolean;
  /** Listed for Pod Identity (when the identities are known). */
  readonly podIdentity: boolean;
  readonly createdAt: Date | undefined;
  /** When the manager owning the role-arn annotation last wrote the ServiceAccount (managedFields). */
  readonly roleArnWrittenAt: Date | undefined;
}

export interface ServiceAccountsResult {
  readonly findings: Finding[];
  readonly byKey: ReadonlyMap<string, KnownServiceAccount>;
  /** Namespaces with ServiceAccounts that have (or mean to have) an identity, with some of their names. */
  readonly identityNamespaces: ReadonlyMap<string, readonly string[]>;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

export function timestamp(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** The latest managedFields time of an entry owning `metadata.annotations[key]`. */
export function annotationWrittenAt(metadata: Record<string, unknown>, key: string): Date | undefined {
  const entries = metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let latest: Date | undefined;
  for (const entry of entries.slice(0, 100)) {
    if (!isJsonObject(entry) || !isJsonObject(entry.fieldsV1)) continue;
    const fields = entry.fieldsV1['f:metadata'];
    const annotations = isJsonObject(fields) ? fields['f:annotations'] : undefined;
    if (!isJsonObject(annotations) || !(`f:${key}` in annotations)) continue;
    const time = timestamp(entry.time);
    if (time && (!latest || time > latest)) latest = time;
  }
  return latest;
}

/**
 * Check 4: the identity annotations of every ServiceAccount, validated by the engine itself
 * (`resolveIdentity`, `resolvePodIdentity`: the same warnings the webhook returns to kubectl), and
 * role-arn annotations under another prefix. Also indexes the ServiceAccounts for the pods check.
 */
export function checkServiceAccounts(list: ListResult, options: MutationOptions, identities: PodIdentities | undefined): ServiceAccountsResult {
  const findings: Finding[] = [];
  const byKey = new Map<string, KnownServiceAccount>();
  const identityNamespaces = new Map<string, string[]>();
  const prefix = `${options.annotationPrefix}/`;
  const roleKey = `${prefix}${ANNOTATION.roleArn}`;
  let withIdentity = 0;
  let problems = 0;
  for (const item of list.items) {
    const read = readServiceAccount(item);
    if (!read.ok) {
      findings.push({ ...coded('OBJECT_UNREADABLE', undefined, `a ServiceAccount: ${read.error}`), check: 'service-accounts' });
      continue;
    }
    const metadata = (item as { metadata: Record<string, unknown> }).metadata;
    const all = read.value.annotations;
    // Keep only the prefix's annotations (what the webhook's cache keeps); most ServiceAccounts have none.
    let annotations: Record<string, string> | undefined;
    for (const key of Object.keys(all)) {
      if (key.startsWith(prefix)) (annotations ??= {})[key] = all[key]!;
    }
    const view: ServiceAccountView = { name: read.value.name, namespace: read.value.namespace, annotations: annotations ?? EMPTY };
    const object = `${view.namespace}/${view.name}`;
    const podIdentity = identities?.has(podIdentityKey(view.namespace, view.name)) ?? false;
    const annotated = (all[roleKey]?.trim() ?? '') !== '';

    for (const key of Object.keys(all)) {
      if (key !== roleKey && key.endsWith(`/${ANNOTATION.roleArn}`) && !annotated) {
        problems += 1;
        findings.push(coded('ANNOTATION_PREFIX_MISMATCH', object, `annotation ${shown(key)} is not read: the webhook reads ${shown(roleKey)} (--annotation-prefix ${options.annotationPrefix})`));
      }
    }

    let roleArn: string | undefined;
    if (podIdentity) {
      const resolved = resolvePodIdentity(view, {}, options, 0);
      for (const warning of resolved.warnings) {
        problems += 1;
        findings.push(coded('ANNOTATION_INVALID', object, warning));
      }
      if (annotated) findings.push(noted('service-accounts', object, `listed for Pod Identity and annotated ${roleKey}: Pod Identity wins, the role annotation is not injected`));
    } else if (annotated) {
      const resolved = resolveIdentity(view, {}, options);
      roleArn = resolved.identity?.roleArn;
      for (const warning of resolved.warnings) {
        problems += 1;
        findings.push(coded(roleArn === undefined ? 'ROLE_ARN_INVALID' : 'ANNOTATION_INVALID', object, warning));
      }
    }
    if (podIdentity || annotated) {
      withIdentity += 1;
      const names = identityNamespaces.get(view.namespace) ?? [];
      if (names.length < 5) names.push(view.name);
      identityNamespaces.set(view.namespace, names);
    }
    byKey.set(object, {
      view,
      roleArn,
      annotated,
      podIdentity,
      createdAt: timestamp(metadata.creationTimestamp),
      roleArnWrittenAt: annotated ? annotationWrittenAt(metadata, roleKey) : undefined,
    });
  }
  const scanned = `${byKey.size} ServiceAccount${byKey.size === 1 ? '' : 's'}${list.truncated ? ' (the first ones only: the list was capped)' : ''}`;
  if (problems === 0) findings.push(passed('service-accounts', undefined, `${scanned} read, ${withIdentity} with an identity (${roleKey} or Pod Identity); no invalid annotation`));
  else findings.push(noted('service-accounts', undefined, `${scanned} read, ${withIdentity} with an identity; ${problems} annotation problem${problems === 1 ? '' : 's'} above`));
  return { findings, byKey, identityNamespaces };
}
