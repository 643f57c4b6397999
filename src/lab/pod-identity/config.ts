import { createHash } from 'node:crypto';
import { isAccountId, parseRoleArn } from '../../shared/aws/arn.js';
import { isJsonObject } from '../../shared/json.js';
import { trimTrailing } from '../../shared/text.js';
import { type AssociationPolicy, readAssociationPolicy } from './association-policy.js';

/**
 * The EKS side of the lab config: clusters (what EKS knows of each: its account and region, the
 * issuer of its service-account tokens, the node role its agents run as) and Pod Identity
 * associations (`CreatePodIdentityAssociation`'s fields). The webhook's identities file is derived
 * from the associations (`pod-identity-config`), so both read one source of truth.
 */
export interface LabCluster {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  /** arn:aws:eks:REGION:ACCOUNT:cluster/NAME */
  readonly arn: string;
  /** The `iss` of the cluster's service-account tokens, and where its keys are fetched. */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The role the cluster's nodes (and so the agent) run as: the only caller EKS Auth answers for this cluster. */
  readonly nodeRoleArn: string;
}

export interface PodIdentityAssociation {
  readonly cluster: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleArn: string;
  /** A role in another account (or this one) assumed with the first role's credentials. */
  readonly targetRoleArn: string | undefined;
  readonly disableSessionTags: boolean;
  /** The session policy (`policy`): the pod's session, or with a target role the target role's, carries it. */
  readonly policy: AssociationPolicy | undefined;
  /** `a-` and 17 lower-case letters and digits. */
  readonly associationId: string;
  /** arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID */
  readonly associationArn: string;
}

/** EKS's cluster name rule (and the EKS Auth API's clusterName constraint). */
export const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const ASSOCIATION_ID = /^a-[a-z0-9]{17}$/;

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new Error(`${where} must be a non-empty string`);
  return value;
}

function url(value: unknown, where: string): string {
  const raw = text(value, where);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error(`${where} "${raw}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${where} must be http:// or https://`);
  return trimTrailing(raw, '/');
}

function roleArn(value: unknown, where: string): string {
  const raw = text(value, where);
  if (!parseRoleArn(raw)) throw new Error(`${where} "${raw}" is not an IAM role ARN`);
  return raw;
}

export function parseCluster(value: unknown, where: string): LabCluster {
  if (!isJsonObject(value)) throw new Error(`${where} must be a mapping`);
  const name = text(value.name, `${where}.name`);
  if (!CLUSTER_NAME.test(name)) throw new Error(`${where}.name "${name}" is not a cluster name (letters, digits, "-" and "_", starting with a letter or digit, at most 100)`);
  const region = text(value.region, `${where}.region`);
  if (!REGION.test(region)) throw new Error(`${where}.region "${region}" is not an AWS region name`);
  const account = String(value.account ?? '');
  if (!isAccountId(account)) throw new Error(`${where}.account must be a 12-digit account id (quote it in YAML)`);
  const nodeRoleArn = roleArn(value.nodeRoleArn, `${where}.nodeRoleArn`);
  const partition = parseRoleArn(nodeRoleArn)!.partition;
  return {
    name,
    region,
    account,
    partition,
    arn: `arn:${partition}:eks:${region}:${account}:cluster/${name}`,
    issuer: url(value.issuer, `${where}.issuer`),
    jwksUrl: url(value.jwksUrl, `${where}.jwksUrl`),
    nodeRoleArn,
  };
}

/** A stable association id from what identifies the association, in EKS's shape. */
function associationIdFor(cluster: string, namespace: string, serviceAccount: string): string {
  const digest = createHash('sha256').update(`${cluster}\n${namespace}\n${serviceAccount}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'a-';
  for (let index = 0; index < 17; index += 1) id += alphabet[digest[index]! % alphabet.length];
  return id;
}

export function parseAssociation(value: unknown, where: string, clusters: ReadonlyMap<string, LabCluster>, roles: ReadonlySet<string>): PodIdentityAssociation {
  if (!isJsonObject(value)) throw new Error(`${where} must be a mapping`);
  const known = ['cluster', 'namespace', 'serviceAccount', 'roleArn', 'targetRoleArn', 'disableSessionTags', 'policy', 'associationId'];
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new Error(`${where}: unknown field "${unknown.slice(0, 100)}" (allowed: ${known.join(', ')})`);
  const clusterName = text(value.cluster, `${where}.cluster`);
  const cluster = clusters.get(clusterName);
  if (!cluster) throw new Error(`${where}.cluster "${clusterName}" is not in clusters`);
  const namespace = text(value.namespace, `${where}.namespace`);
  const serviceAccount = text(value.serviceAccount, `${where}.serviceAccount`);
  if (!K8S_NAME.test(namespace) || namespace.length > 63) throw new Error(`${where}.namespace "${namespace}" is not a namespace name`);
  if (!K8S_NAME.test(serviceAccount) || serviceAccount.length > 253) throw new Error(`${where}.serviceAccount "${serviceAccount}" is not a ServiceAccount name`);
  const role = roleArn(value.roleArn, `${where}.roleArn`);
  if (!roles.has(role)) throw new Error(`${where}.roleArn ${role} is not in roles`);
  const target = value.targetRoleArn === undefined || value.targetRoleArn === null ? undefined : roleArn(value.targetRoleArn, `${where}.targetRoleArn`);
  if (target !== undefined && !roles.has(target)) throw new Error(`${where}.targetRoleArn ${target} is not in roles`);
  const disable = value.disableSessionTags ?? false;
  if (typeof disable !== 'boolean') throw new Error(`${where}.disableSessionTags must be true or false`);
  const policy = value.policy === undefined || value.policy === null ? undefined : readAssociationPolicy(value.policy, disable, `${where}.policy`);
  const associationId = value.associationId === undefined ? associationIdFor(clusterName, namespace, serviceAccount) : text(value.associationId, `${where}.associationId`);
  if (!ASSOCIATION_ID.test(associationId)) throw new Error(`${where}.associationId must be "a-" and 17 lower-case letters or digits`);
  return {
    cluster: clusterName,
    namespace,
    serviceAccount,
    roleArn: role,
    targetRoleArn: target,
    disableSessionTags: disable,
    policy,
    associationId,
    associationArn: `arn:${cluster.partition}:eks:${cluster.region}:${cluster.account}:podidentityassociation/${clusterName}/${associationId}`,
  };
}
