/** IAM identities as aws-iam-authenticator reasons about them. */
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

const ASSUMED_ROLE = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/([\w+=,.@-]+)$/;
const IAM_ROLE_OR_USER = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]+$/;

/**
 * Canonicalises what GetCallerIdentity returns. Assumed-role ARNs carry no role path, so the
 * canonical role ARN has none either (which is why aws-auth `rolearn`s must not have a path).
 */
export function canonicalize(arn: string): CanonicalIdentity | undefined {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) {
    const [, partition, account, role, session] = assumed;
    return { arn, canonicalArn: `arn:${partition}:iam::${account}:role/${role}`, partition: partition!, account: account!, sessionName: session };
  }
  const iam = IAM_ROLE_OR_USER.exec(arn);
  if (iam) return { arn, canonicalArn: arn, partition: iam[1]!, account: iam[2]!, sessionName: undefined };
  return undefined;
}
