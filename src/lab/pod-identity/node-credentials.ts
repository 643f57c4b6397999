import { createHash, randomBytes } from 'node:crypto';
import { parseRoleArn } from '../../shared/aws/arn.js';
import type { AwsCredentials } from '../../shared/aws/presign.js';
import type { SessionAuthority } from '../sts/sessions.js';

/** Instance-profile sessions last 6 hours on EC2; they are renewed well before that. */
const NODE_SESSION_SECONDS = 6 * 3600;
const RENEW_BEFORE_SECONDS = 15 * 60;

/** An EC2 instance id: `i-` and 17 hex digits. */
export function instanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/**
 * The node's own credentials, as EC2 hands an instance profile's to the instance: a session of the
 * cluster's node role named after the instance, issued by the lab's session authority (the STS's
 * server key) and renewed before it expires. The agent signs its EKS Auth calls with them.
 */
export function nodeRoleCredentials(sessions: SessionAuthority, nodeRoleArn: string, options: { readonly now?: () => number; readonly sessionName?: string } = {}): () => Promise<AwsCredentials> {
  const role = parseRoleArn(nodeRoleArn);
  if (!role) throw new Error(`${nodeRoleArn} is not an IAM role ARN`);
  const now = options.now ?? Date.now;
  const sessionName = options.sessionName ?? instanceId();
  const roleId = `AROA${createHash('sha256').update(nodeRoleArn).digest('hex').slice(0, 17).toUpperCase()}`;
  let current: { credentials: AwsCredentials; expiresAt: number } | undefined;
  return async () => {
    const seconds = Math.floor(now() / 1000);
    if (!current || current.expiresAt - seconds < RENEW_BEFORE_SECONDS) {
      const expiresAt = seconds + NODE_SESSION_SECONDS;
      const issued = sessions.issue({
        arn: `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${sessionName}`,
        userId: `${roleId}:${sessionName}`,
        account: role.account,
        expiresAt,
      });
      current = { credentials: { accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken }, expiresAt };
    }
    return current.credentials;
  };
}
