/** STS (and the lab's IAM) answers in the AWS Query protocol: XML by default, JSON when the client asks for it. */
import type { StsError } from './errors.js';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[character]};`);
}

/**
 * Nested elements from a plain object: strings become escaped text, objects become child elements,
 * lists become `<member>` children (the Query protocol's list shape).
 */
export type XmlValue = string | XmlTree | readonly XmlValue[];
export type XmlTree = { readonly [name: string]: XmlValue | undefined };

function content(value: XmlValue): string {
  if (typeof value === 'string') return escapeXml(value);
  if (Array.isArray(value)) return (value as readonly XmlValue[]).map((member) => `<member>${content(member)}</member>`).join('');
  return elements(value as XmlTree);
}

function elements(tree: XmlTree): string {
  return Object.entries(tree)
    .filter((entry): entry is [string, XmlValue] => entry[1] !== undefined)
    .map(([name, value]) => `<${name}>${content(value)}</${name}>`)
    .join('');
}

/** `<{Action}Response>` with its result and request id, as the AWS Query protocol answers. */
export function actionResponse(action: string, result: XmlTree, requestId: string, namespace = STS_NAMESPACE): string {
  return (
    `<${action}Response xmlns="${namespace}">` +
    `<${action}Result>${elements(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`
  );
}

/** The JSON form real STS answers when the client sends `Accept: application/json`. */
export function actionResponseJson(action: string, result: XmlTree, requestId: string): string {
  return `${JSON.stringify({ [`${action}Response`]: { [`${action}Result`]: result, ResponseMetadata: { RequestId: requestId } } })}\n`;
}

export function errorResponseJson(error: StsError, requestId: string): string {
  return `${JSON.stringify({ Error: { Type: error.type, Code: error.code, Message: error.message }, RequestId: requestId })}\n`;
}

export function errorResponse(error: StsError, requestId: string, namespace = STS_NAMESPACE): string {
  return (
    `<ErrorResponse xmlns="${namespace}">` +
    elements({ Error: { Type: error.type, Code: error.code, Message: error.message } }) +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`
  );
}
