import { isJsonObject } from '../../shared/json.js';
import { EksAuthError } from './eks-auth-errors.js';

/**
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

interface FieldShape {
  readonly pattern: RegExp;
  readonly maxLength: number;
  /** What the value must be, for messages. */
  readonly shape: string;
}

const SHAPES: Record<NodeContextField, FieldShape> = {
  // A Node's name is a DNS-1123 subdomain (Kubernetes object names).
  eksNodeName: { pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, maxLength: 253, shape: 'a Kubernetes node name (DNS-1123 subdomain)' },
  // EC2 instance ids: i- and 8 (older) or 17 lower-case hex digits.
  instanceId: { pattern: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, maxLength: 19, shape: 'an EC2 instance id (i- and 8 or 17 hex digits)' },
  // Zone ids, not names: use1-az1, a Local Zone's use1-lax1-az1, a Wavelength Zone's use1-wl1-bos-wlz1.
  zone: { pattern: /^[a-z]{2,8}[0-9]{1,2}(?:-[a-z0-9]{1,12}){0,3}-(?:az|wlz)[0-9]{1,2}$/, maxLength: 64, shape: 'an Availability Zone id such as use1-az1' },
};

export const NODE_CONTEXT_FIELDS = Object.keys(SHAPES) as readonly NodeContextField[];

/** Why `value` is not a valid `field`, or undefined when it is. */
export function nodeFieldProblem(field: NodeContextField, value: string): string | undefined {
  const { pattern, maxLength, shape } = SHAPES[field];
  if (value.length > maxLength) return `is longer than ${maxLength} characters`;
  if (!pattern.test(value)) return `is not ${shape}`;
  return undefined;
}

/**
 * The node fields of an AssumeRoleForPodIdentity body. A field that is absent or null is absent (as
 * the REST-JSON protocol reads a null member); one that is not a string is an InvalidRequestException,
 * one of the wrong shape an InvalidParameterException (the value is not echoed).
 */
export function readNodeContext(body: unknown): NodeContext {
  if (!isJsonObject(body)) return {};
  const context: { -readonly [K in NodeContextField]?: string } = {};
  for (const field of NODE_CONTEXT_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new EksAuthError('InvalidRequestException', `The field ${field} must be a string.`);
    const problem = nodeFieldProblem(field, value);
    if (problem !== undefined) {
      const { maxLength, shape } = SHAPES[field];
      throw new EksAuthError(
        'InvalidParameterException',
        `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be ${shape} of at most ${maxLength} characters`,
        `${field} ${problem}`,
      );
    }
    context[field] = value;
  }
  return context;
}
