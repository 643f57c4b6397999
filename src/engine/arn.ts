/**
 * IAM role ARNs: `arn:<partition>:iam::<12-digit account>:role/<optional/path/>name`.
 * Path segments and the name use IAM's role-name characters; the name is at most 64 characters.
 */
const ROLE_ARN =
  /^arn:(?<partition>aws(?:-[a-z]+)*):iam::(?<account>\d{12}):role\/(?<path>(?:[\w+=,.@-]+\/)*)(?<name>[\w+=,.@-]{1,64})$/;

export interface RoleArn {
  readonly partition: string;
  readonly account: string;
  /** `/` for no path, otherwise `/a/b/`. */
  readonly path: string;
  readonly name: string;
}

export function parseRoleArn(value: string): RoleArn | undefined {
  if (value.length > 2048) return undefined;
  const groups = ROLE_ARN.exec(value)?.groups;
  if (!groups) return undefined;
  return {
    partition: groups.partition!,
    account: groups.account!,
    path: `/${groups.path ?? ''}`,
    name: groups.name!,
  };
}
