/**
 * IAM and STS ARNs: the one place their shapes are written down. The webhook validates role ARNs
 * on ServiceAccounts, the authenticator canonicalises what GetCallerIdentity returns and lints
 * aws-auth, the lab checks role ARNs in its config and callers of AssumeRole.
 *
 * `arn:<partition>:<service>::<12-digit account>:<resource>`; partitions are `aws` and `aws-…`;
 * path segments and names use IAM's name characters, names at most 64 characters.
 */
const PARTITION = 'aws(?:-[a-z]+)*';
const ACCOUNT = '\\d{12}';
const NAME_CHARACTERS = '[\\w+=,.@-]';

const ROLE_ARN = new RegExp(`^arn:(?<partition>${PARTITION}):iam::(?<account>${ACCOUNT}):role\\/(?<path>(?:${NAME_CHARACTERS}+\\/)*)(?<name>${NAME_CHARACTERS}{1,64})$`);
const USER_ARN = new RegExp(`^arn:(?<partition>${PARTITION}):iam::(?<account>${ACCOUNT}):user\\/(?<path>(?:${NAME_CHARACTERS}+\\/)*)(?<name>${NAME_CHARACTERS}{1,64})$`);
const ASSUMED_ROLE = new RegExp(`^arn:(?<partition>${PARTITION}):sts::(?<account>${ACCOUNT}):assumed-role\\/(?<name>${NAME_CHARACTERS}+)\\/(?<session>${NAME_CHARACTERS}+)$`);
const ASSUMED_ROLE_PREFIX = new RegExp(`^arn:${PARTITION}:sts::${ACCOUNT}:assumed-role\\/`);

/** A 12-digit AWS account id. */
export function isAccountId(value: string): boolean {
  return /^\d{12}$/.test(value);
}

/** IAM's limit on an ARN; longer text is refused before any pattern runs. */
const MAX_ARN_LENGTH = 2048;

export interface IamArn {
  readonly partition: string;
  readonly account: string;
  /** `/` for no path, otherwise `/a/b/`. */
  readonly path: string;
  readonly name: string;
}

function parseIam(pattern: RegExp, value: string): IamArn | undefined {
  if (value.length > MAX_ARN_LENGTH) return undefined;
  const groups = pattern.exec(value)?.groups;
  if (!groups) return undefined;
  return { partition: groups.partition!, account: groups.account!, path: `/${groups.path ?? ''}`, name: groups.name! };
}

export type RoleArn = IamArn;

/** `arn:<partition>:iam::<account>:role/<optional/path/>name`. */
export function parseRoleArn(value: string): RoleArn | undefined {
  return parseIam(ROLE_ARN, value);
}

/** `arn:<partition>:iam::<account>:user/<optional/path/>name`. */
export function parseUserArn(value: string): IamArn | undefined {
  return parseIam(USER_ARN, value);
}

/** Whether `value` has the shape of an STS assumed-role session ARN (`arn:aws:sts::ACCOUNT:assumed-role/…`). */
export function isAssumedRoleArn(value: string): boolean {
  return value.length <= MAX_ARN_LENGTH && ASSUMED_ROLE_PREFIX.test(value);
}

/** An IAM identity as aws-iam-authenticator reasons about it. */
export interface CanonicalIdentity {
  /** The ARN STS returned. */
  readonly arn: string;
  /** The IAM ARN: an assumed-role session becomes `arn:PARTITION:iam::ACCOUNT:role/NAME`. */
  readonly canonicalArn: string;
  readonly partition: string;
  readonly account: string;
  /** The session name of an assumed role, else undefined. */
  readonly sessionName: string | undefined;
}

/**
 * Canonicalises what GetCallerIdentity returns. Assumed-role ARNs carry no role path, so the
 * canonical role ARN has none either (which is why aws-auth `rolearn`s must not have a path).
 */
export function canonicalize(arn: string): CanonicalIdentity | undefined {
  if (arn.length > MAX_ARN_LENGTH) return undefined;
  const assumed = ASSUMED_ROLE.exec(arn)?.groups;
  if (assumed) {
    return {
      arn,
      canonicalArn: `arn:${assumed.partition}:iam::${assumed.account}:role/${assumed.name}`,
      partition: assumed.partition!,
      account: assumed.account!,
      sessionName: assumed.session,
    };
  }
  const iam = parseRoleArn(arn) ?? parseUserArn(arn);
  if (iam) return { arn, canonicalArn: arn, partition: iam.partition, account: iam.account, sessionName: undefined };
  return undefined;
}

/** `arn:PARTITION:iam::ACCOUNT:KIND/NAME`: the ARN without its path, as sessions and aws-auth name a principal. */
export function iamArnWithoutPath(kind: 'role' | 'user', arn: IamArn): string {
  return `arn:${arn.partition}:iam::${arn.account}:${kind}/${arn.name}`;
}

/** `arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`, the path as IAM stores it (`/` for none). */
export function formatIamArn(kind: 'role' | 'user', arn: IamArn): string {
  return `arn:${arn.partition}:iam::${arn.account}:${kind}${arn.path}${arn.name}`;
}

/** A service-linked role lives under `/aws-service-role/`; EKS access entries do not accept one. */
export function isServiceLinkedRole(role: RoleArn): boolean {
  return role.path.startsWith('/aws-service-role/');
}

const ACCESS_POLICY_ARN = new RegExp(`^arn:(?<partition>${PARTITION}):eks::aws:cluster-access-policy\\/(?<name>[A-Za-z0-9]{1,128})$`);

export interface AccessPolicyArn {
  readonly partition: string;
  /** `AmazonEKSViewPolicy`. */
  readonly name: string;
}

/** `arn:PARTITION:eks::aws:cluster-access-policy/NAME`: an EKS access policy (not an IAM policy). */
export function parseAccessPolicyArn(value: string): AccessPolicyArn | undefined {
  if (value.length > MAX_ARN_LENGTH) return undefined;
  const groups = ACCESS_POLICY_ARN.exec(value)?.groups;
  return groups ? { partition: groups.partition!, name: groups.name! } : undefined;
}

export function accessPolicyArn(partition: string, name: string): string {
  return `arn:${partition}:eks::aws:cluster-access-policy/${name}`;
}

const ACCESS_ENTRY_ARN = new RegExp(
  `^arn:(?<partition>${PARTITION}):eks:(?<region>[a-z]{2}(?:-[a-z]+)+-\\d):(?<account>${ACCOUNT}):access-entry\\/(?<cluster>[A-Za-z0-9][A-Za-z0-9_-]{0,99})\\/(?:role|user)\\/${ACCOUNT}\\/${NAME_CHARACTERS}{1,64}\\/[0-9a-z-]{1,64}$`,
);

export interface AccessEntryArn {
  readonly partition: string;
  readonly region: string;
  /** The cluster's account. */
  readonly account: string;
  readonly clusterName: string;
}

/** `arn:PARTITION:eks:REGION:ACCOUNT:access-entry/CLUSTER/role|user/ACCOUNT/NAME/ID`, as describe-access-entry prints it. */
export function parseAccessEntryArn(value: string): AccessEntryArn | undefined {
  if (value.length > MAX_ARN_LENGTH) return undefined;
  const groups = ACCESS_ENTRY_ARN.exec(value)?.groups;
  return groups ? { partition: groups.partition!, region: groups.region!, account: groups.account!, clusterName: groups.cluster! } : undefined;
}
