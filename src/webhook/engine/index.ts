export { mutatePod, isWindowsPod, tokenFilePath } from './mutate.js';
export { resolveIdentity, resolvePodIdentity, jitteredExpiration, parseTokenExpiration, type InjectedIdentity, type PodIdentitySettings } from './identity.js';
export { parseRoleArn, type RoleArn } from '../../shared/aws/arn.js';
export { jsonPointer } from './pointer.js';
export * from './defaults.js';
export type * from './types.js';
