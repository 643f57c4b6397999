import { parsePermissionPolicy, type PermissionPolicy } from '../../shared/aws/iam-permissions.js';
import { isJsonObject } from '../../shared/json.js';
import { parseJsonText } from '../../shared/yaml.js';

/**
 * A Pod Identity association's session `policy` (EKS API, CreatePodIdentityAssociation since
 * 2026-03): an inline IAM policy EKS passes as the session policy of the credentials it issues, so
 * the pod gets the role's permissions intersected with it; with a target role, only the target
 * role's session carries it (docs/lab.md "Session policies"; ../shared/eks-2026.md §1.2).
 */
export interface AssociationPolicy {
  /** The policy as JSON without white space: what the session carries. */
  readonly text: string;
  readonly policy: PermissionPolicy;
}

/**
 * The association field's limit: 2,048 characters, reported by a third party (thestackobserver.com,
 * ../shared/eks-2026.md §1.2); STS's own limit on an inline session policy is the same 2,048.
 */
export const MAX_ASSOCIATION_POLICY_CHARS = 2048;

/**
 * What the lab answers when `policy` comes without `disableSessionTags: true`. EKS refuses the pair
 * (the session tags and the policy together can pass STS's packed-size limit), but publishes no
 * message for it: this is the lab's wording, in the InvalidParameterException shape of EKS's errors.
 */
export const POLICY_NEEDS_DISABLED_TAGS = 'InvalidParameterException: disableSessionTags must be true when a session policy is set (the lab\'s wording: EKS does not publish its message)';

/**
 * Reads `policy` as the lab config gives it: the JSON text the API takes, or a YAML mapping of the
 * same policy. Throws one line naming `where`.
 */
export function readAssociationPolicy(value: unknown, disableSessionTags: boolean, where: string): AssociationPolicy {
  let document: unknown = value;
  if (typeof value === 'string') {
    // The API counts the string it is sent.
    if (value.length > MAX_ASSOCIATION_POLICY_CHARS) throw new Error(`${where} is ${value.length} characters long, more than the ${MAX_ASSOCIATION_POLICY_CHARS} an association's policy may have`);
    const parsed = parseJsonText(value);
    if (!parsed.ok) throw new Error(`${where} is not JSON: ${parsed.error}`);
    document = parsed.value;
  } else if (!isJsonObject(value)) {
    throw new Error(`${where} must be an IAM policy: its JSON text, or a mapping`);
  }
  const policy = parsePermissionPolicy(document, { maxChars: MAX_ASSOCIATION_POLICY_CHARS });
  if (!policy.ok) throw new Error(`${where} ${policy.error}`);
  if (!disableSessionTags) throw new Error(`${where}: ${POLICY_NEEDS_DISABLED_TAGS}`);
  return { text: JSON.stringify(document), policy: policy.value };
}
