/** STS answers in the AWS Query protocol: XML by default, JSON when the client asks for it. */
import type { StsError } from './errors.js';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[character]};`);
}

/** Nested elements from a plain object: strings become escaped text, objects become child elements. */
export type XmlTree = { readonly [name: string]: string | XmlTree | undefined };

function elements(tree: XmlTree): string {
  return Object.entries(tree)
    .filter((entry): entry is [string, string | XmlTree] => entry[1] !== undefined)
    .map(([name, value]) => `<${name}>${typeof value === 'string' ? escapeXml(value) : elements(value)}</${name}>`)
    .join('');
}

/** `<{Action}Response>` with its result and request id, as the AWS Query protocol answers. */
export function actionResponse(action: string, result: XmlTree, requestId: string): string {
  return (
    `<${action}Response xmlns="${STS_NAMESPACE}">` +
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

export function errorResponse(error: StsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${STS_NAMESPACE}">` +
    elements({ Error: { Type: error.type, Code: error.code, Message: error.message } }) +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`
  );
}
