export { mutatePod, isWindowsPod, tokenFilePath } from './mutate.js';
export { resolveIdentity, parseTokenExpiration, type InjectedIdentity } from './identity.js';
export { parseRoleArn, type RoleArn } from '../../shared/aws/arn.js';
export { jsonPointer } from './pointer.js';
export * from './defaults.js';
export type * from './types.js';
