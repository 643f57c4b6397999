/**
 * The node fields EKS Auth's AssumeRoleForPodIdentity takes, and their shapes: shared by the lab's
 * EKS Auth and the command line's agent flags (which must not load the lab to check a flag).
 *
 * What a node's agent may tell EKS Auth about the node (`AssumeRoleForPodIdentity`'s optional
 * `eksNodeName`, `instanceId` and `zone`, 2026-07: the EKS Auth model in aws-sdk-cpp and boto3). The API models
 * them as plain strings and publishes no constraints: the shapes below are the lab's choice.
 */
export interface NodeContext {
  readonly eksNodeName?: string;
  readonly instanceId?: string;
  readonly zone?: string;
}

export type NodeContextField = keyof NodeContext;

export interface FieldShape {
  readonly pattern: RegExp;
  readonly maxLength: number;
  /** What the value must be, for messages. */
  readonly shape: string;
}

export const NODE_CONTEXT_SHAPES: Readonly<Record<NodeContextField, FieldShape>> = {
  // A Node's name is a DNS-1123 subdomain (Kubernetes object names).
  eksNodeName: { pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, maxLength: 253, shape: 'a Kubernetes node name (DNS-1123 subdomain)' },
  // EC2 instance ids: i- and 8 (older) or 17 lower-case hex digits.
  instanceId: { pattern: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, maxLength: 19, shape: 'an EC2 instance id (i- and 8 or 17 hex digits)' },
  // Zone ids, not names: use1-az1, a Local Zone's use1-lax1-az1, a Wavelength Zone's use1-wl1-bos-wlz1.
  zone: { pattern: /^[a-z]{2,8}[0-9]{1,2}(?:-[a-z0-9]{1,12}){0,3}-(?:az|wlz)[0-9]{1,2}$/, maxLength: 64, shape: 'an Availability Zone id such as use1-az1' },
};

export const NODE_CONTEXT_FIELDS = Object.keys(NODE_CONTEXT_SHAPES) as readonly NodeContextField[];

/** Why `value` is not a valid `field`, or undefined when it is. */
export function nodeFieldProblem(field: NodeContextField, value: string): string | undefined {
  const { pattern, maxLength, shape } = NODE_CONTEXT_SHAPES[field];
  if (value.length > maxLength) return `is longer than ${maxLength} characters`;
  if (!pattern.test(value)) return `is not ${shape}`;
  return undefined;
}
