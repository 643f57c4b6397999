import { formatIamArn, iamArnWithoutPath, parseRoleArn, type RoleArn } from '../shared/aws/arn.js';
import { isJsonObject } from '../shared/json.js';
import type { Parsed } from '../shared/result.js';
import { parseYaml } from '../shared/yaml.js';

/**
 * The real paths of roles, which aws-auth ARNs leave out and access entries need: what IAM
 * `GetRole` would say, supplied offline. Keyed by the path-less ARN, lowercased (IAM role names
 * are unique in an account and case-insensitive).
 */
export interface RolePaths {
  readonly roles: ReadonlyMap<string, RoleArn>;
}

const keyOf = (role: RoleArn): string => iamArnWithoutPath('role', role).toLowerCase();

/**
 * A list of role ARNs with their paths (`aws iam list-roles --query 'Roles[].Arn'`), or the
 * whole `aws iam list-roles` output.
 */
export function readRolePaths(text: string, source: string): Parsed<RolePaths> {
  const parsed = parseYaml(text, source);
  if (!parsed.ok) return parsed;
  let arns: unknown[];
  if (Array.isArray(parsed.value)) arns = parsed.value;
  else if (isJsonObject(parsed.value) && Array.isArray(parsed.value.Roles)) {
    if (parsed.value.IsTruncated === true) return { ok: false, error: `${source}: the list-roles output is truncated (IsTruncated): let the AWS CLI paginate` };
    arns = parsed.value.Roles.map((role) => (isJsonObject(role) ? role.Arn : role));
  } else {
    return { ok: false, error: `${source}: expected a list of role ARNs, or aws iam list-roles output ({Roles: [{Arn: …}]})` };
  }
  const roles = new Map<string, RoleArn>();
  for (const [index, arn] of arns.entries()) {
    const role = typeof arn === 'string' ? parseRoleArn(arn) : undefined;
    if (!role) return { ok: false, error: `${source}: [${index}] ${JSON.stringify(arn)} is not an IAM role ARN` };
    const key = keyOf(role);
    const known = roles.get(key);
    if (known && known.path !== role.path) {
      return { ok: false, error: `${source}: [${index}] ${String(arn)} and ${formatIamArn('role', known)} name the same role under two paths` };
    }
    roles.set(key, role);
  }
  return { ok: true, value: { roles } };
}

/** The role with its path, when the map knows it. */
export function roleWithPath(role: RoleArn, paths: RolePaths): RoleArn | undefined {
  return paths.roles.get(keyOf(role));
}
