import { createHash } from 'node:crypto';
import { parseRoleArn } from '../../shared/aws/arn.js';
import { isJsonObject } from '../../shared/json.js';
import type { Parsed } from '../../shared/result.js';
import { errorMessage } from '../../shared/log.js';
import { readTextFile } from '../../shared/files/read-file.js';
import { trimTrailing } from '../../shared/text.js';
import { parseYaml } from '../../shared/yaml.js';
import { parseTrustPolicy, type TrustPolicy } from '../../shared/aws/iam-policy.js';
import { type NamedPolicy, parsePermissionPolicy, type PermissionPolicy } from '../../shared/aws/iam-permissions.js';
import { oidcProviderId } from '../../shared/aws/trust-requests.js';
import { type LabCluster, parseAssociation, parseCluster, type PodIdentityAssociation } from '../pod-identity/config.js';

export const LAB_CONFIG_API_VERSION = 'pod-identity-webhook.io/v1alpha1';
export const LAB_CONFIG_KIND = 'LabConfig';

export interface OidcProvider {
  /** Exactly the `iss` the tokens carry. */
  readonly issuer: string;
  /** Accepted `aud` values (IAM calls them client IDs). */
  readonly audiences: readonly string[];
  /** Where the keys are fetched from: configured, never derived from a token. */
  readonly jwksUrl: string;
  /** The issuer without its scheme: the IAM provider id and the condition-key prefix (`HOST/PATH:sub`). */
  readonly id: string;
}

export interface LabRole {
  readonly arn: string;
  readonly partition: string;
  readonly account: string;
  readonly name: string;
  /** A stable, role-unique id in IAM's format (AROA…), derived from the ARN. */
  readonly roleId: string;
  readonly maxSessionDuration: number;
  readonly trustPolicy: TrustPolicy;
  /**
   * The role's inline permission policies (`id` is the policy name), or undefined when the config
   * does not model the role's permissions: then the lab allows what the role's sessions ask of it.
   */
  readonly policies: readonly NamedPolicy[] | undefined;
  /** The role's permissions boundary, when it has one. */
  readonly permissionsBoundary: PermissionPolicy | undefined;
}

/** IAM quotas (IAM user guide, "IAM and AWS STS quotas"): inline role policies together, a managed policy (a boundary is one). */
export const MAX_INLINE_ROLE_POLICIES_CHARS = 10240;
export const MAX_MANAGED_POLICY_CHARS = 6144;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

/**
 * A policy as JSON text, so its statements have places (the simulator's StartPosition/EndPosition):
 * the text as given, or a YAML mapping as JSON indented by two spaces.
 */
function policyText(document: unknown): string {
  return typeof document === 'string' ? document : (JSON.stringify(document, null, 2) ?? 'null');
}

function parsePolicies(value: unknown, where: string): NamedPolicy[] {
  if (!isJsonObject(value)) throw new Error(`${where} must map policy names to policy documents`);
  const policies: NamedPolicy[] = [];
  let total = 0;
  for (const [name, document] of Object.entries(value)) {
    if (!POLICY_NAME.test(name)) throw new Error(`${where}: the policy name "${name.slice(0, 100)}" is not 1 to 128 of [\\w+=,.@-]`);
    const policy = parsePermissionPolicy(policyText(document), { maxChars: MAX_INLINE_ROLE_POLICIES_CHARS });
    if (!policy.ok) throw new Error(`${where}.${name} ${policy.error}`);
    total += policy.value.size;
    policies.push({ id: name, policy: policy.value });
  }
  if (total > MAX_INLINE_ROLE_POLICIES_CHARS) throw new Error(`${where}: the inline policies are ${total} characters together without white space, more than IAM's ${MAX_INLINE_ROLE_POLICIES_CHARS}`);
  return policies;
}

export interface LabConfig {
  readonly providers: readonly OidcProvider[];
  readonly roles: ReadonlyMap<string, LabRole>;
  /** EKS clusters, by name (for EKS Pod Identity). */
  readonly clusters: ReadonlyMap<string, LabCluster>;
  readonly podIdentityAssociations: readonly PodIdentityAssociation[];
}

export const providerId = oidcProviderId;

/** IAM role ids are `AROA` and 17 upper-case letters and digits. */
function roleIdFor(arn: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(arn).digest();
  let id = 'AROA';
  for (let index = 0; index < 17; index += 1) id += alphabet[digest[index]! % alphabet.length];
  return id;
}

function httpUrl(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be a URL string`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${where} "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${where} must be http:// or https://`);
  if (url.search || url.hash) throw new Error(`${where} must not have a query or fragment`);
  return value;
}

function parseProvider(value: unknown, where: string): OidcProvider {
  if (!isJsonObject(value)) throw new Error(`${where} must be a mapping`);
  const issuer = trimTrailing(httpUrl(value.issuer, `${where}.issuer`), '/');
  const audiences = value.audiences;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((audience) => typeof audience === 'string' && audience !== '')) {
    throw new Error(`${where}.audiences must be a non-empty list of strings`);
  }
  return { issuer, audiences, jwksUrl: httpUrl(value.jwksUrl, `${where}.jwksUrl`), id: providerId(issuer) };
}

function parseRole(value: unknown, where: string): LabRole {
  if (!isJsonObject(value)) throw new Error(`${where} must be a mapping`);
  if (typeof value.arn !== 'string') throw new Error(`${where}.arn is missing`);
  const arn = parseRoleArn(value.arn);
  if (!arn) throw new Error(`${where}.arn "${value.arn}" is not an IAM role ARN`);
  const maxSessionDuration = value.maxSessionDuration ?? 3600;
  if (typeof maxSessionDuration !== 'number' || !Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
    throw new Error(`${where}.maxSessionDuration must be whole seconds from 3600 to 43200 (IAM's range)`);
  }
  const policy = parseTrustPolicy(value.trustPolicy);
  if (!policy.ok) throw new Error(`${where}.trustPolicy ${policy.error}`);
  const unknown = Object.keys(value).find((key) => !['arn', 'maxSessionDuration', 'trustPolicy', 'policies', 'permissionsBoundary'].includes(key));
  if (unknown !== undefined) throw new Error(`${where}: unknown field "${unknown.slice(0, 100)}" (allowed: arn, maxSessionDuration, trustPolicy, policies, permissionsBoundary)`);
  const boundary = value.permissionsBoundary === undefined ? undefined : parsePermissionPolicy(policyText(value.permissionsBoundary), { maxChars: MAX_MANAGED_POLICY_CHARS });
  if (boundary && !boundary.ok) throw new Error(`${where}.permissionsBoundary ${boundary.error}`);
  return {
    arn: value.arn,
    partition: arn.partition,
    account: arn.account,
    name: arn.name,
    roleId: roleIdFor(value.arn),
    maxSessionDuration,
    trustPolicy: policy.value,
    policies: value.policies === undefined ? undefined : parsePolicies(value.policies, `${where}.policies`),
    permissionsBoundary: boundary?.value,
  };
}

/** Validates a lab config document (already parsed from YAML or JSON). */
export function parseLabConfig(document: unknown): Parsed<LabConfig> {
  try {
    if (!isJsonObject(document)) throw new Error('the lab config must be a mapping');
    if (document.apiVersion !== undefined && document.apiVersion !== LAB_CONFIG_API_VERSION) {
      throw new Error(`apiVersion must be ${LAB_CONFIG_API_VERSION}`);
    }
    if (document.kind !== undefined && document.kind !== LAB_CONFIG_KIND) throw new Error(`kind must be ${LAB_CONFIG_KIND}`);
    if (!Array.isArray(document.providers) || document.providers.length === 0) throw new Error('providers must be a non-empty list');
    if (!Array.isArray(document.roles) || document.roles.length === 0) throw new Error('roles must be a non-empty list');
    const providers = document.providers.map((provider, index) => parseProvider(provider, `providers[${index}]`));
    const issuers = new Set<string>();
    for (const provider of providers) {
      if (issuers.has(provider.issuer)) throw new Error(`provider ${provider.issuer} is listed twice`);
      issuers.add(provider.issuer);
    }
    const roles = new Map<string, LabRole>();
    for (const [index, value] of document.roles.entries()) {
      const role = parseRole(value, `roles[${index}]`);
      if (roles.has(role.arn)) throw new Error(`role ${role.arn} is listed twice`);
      roles.set(role.arn, role);
    }
    const clusters = new Map<string, LabCluster>();
    if (document.clusters !== undefined && !Array.isArray(document.clusters)) throw new Error('clusters must be a list');
    // EKS Auth knows a cluster's pods by their token's issuer: two clusters with one issuer would
    // each accept the other's tokens, and give them their own associations' roles.
    const byIssuer = new Map<string, string>();
    for (const [index, value] of (document.clusters ?? []).entries()) {
      const where = `clusters[${index}]`;
      const cluster = parseCluster(value, where);
      if (clusters.has(cluster.name)) throw new Error(`cluster ${cluster.name} is listed twice`);
      const other = byIssuer.get(cluster.issuer);
      if (other !== undefined) throw new Error(`${where} "${cluster.name}" has the issuer ${cluster.issuer} of ${other}: a token of one cluster would be accepted for the other`);
      byIssuer.set(cluster.issuer, `${where} "${cluster.name}"`);
      clusters.set(cluster.name, cluster);
    }
    if (document.podIdentityAssociations !== undefined && !Array.isArray(document.podIdentityAssociations)) throw new Error('podIdentityAssociations must be a list');
    const associations: PodIdentityAssociation[] = [];
    const roleArns = new Set(roles.keys());
    for (const [index, value] of (document.podIdentityAssociations ?? []).entries()) {
      const association = parseAssociation(value, `podIdentityAssociations[${index}]`, clusters, roleArns);
      // EKS allows one association per ServiceAccount per cluster.
      const same = associations.find((other) => other.cluster === association.cluster && other.namespace === association.namespace && other.serviceAccount === association.serviceAccount);
      if (same) throw new Error(`podIdentityAssociations[${index}]: ${association.cluster} ${association.namespace}/${association.serviceAccount} already has an association`);
      associations.push(association);
    }
    return { ok: true, value: { providers, roles, clusters, podIdentityAssociations: associations } };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

export async function loadLabConfig(path: string): Promise<Parsed<LabConfig>> {
  const text = await readTextFile(path, { what: 'the lab config', maxBytes: 1024 * 1024 });
  if (!text.ok) return text;
  const document = parseYaml(text.value, path);
  if (!document.ok) return document;
  const config = parseLabConfig(document.value);
  return config.ok ? config : { ok: false, error: `${path}: ${config.error}` };
}
