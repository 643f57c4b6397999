import { isJsonObject } from '../../shared/json.js';
import { EksAuthError } from './eks-auth-errors.js';

export { NODE_CONTEXT_FIELDS, type NodeContext, type NodeContextField, nodeFieldProblem } from '../../shared/aws/eks-node-context.js';
import { NODE_CONTEXT_FIELDS, NODE_CONTEXT_SHAPES, type NodeContext, type NodeContextField, nodeFieldProblem } from '../../shared/aws/eks-node-context.js';

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
      const { maxLength, shape } = NODE_CONTEXT_SHAPES[field];
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
