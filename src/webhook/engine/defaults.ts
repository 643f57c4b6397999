import type { MutationOptions } from './types.js';

/** Name of the projected token volume the engine adds (and recognises on re-invocation). */
export const TOKEN_VOLUME_NAME = 'aws-iam-token';
/** File name of the token inside the mounted volume. */
export const TOKEN_FILE_NAME = 'token';
/** Kubernetes rejects TokenRequests shorter than this. */
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
/** Kubernetes rejects TokenRequests longer than 2^32 seconds. */
export const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;

export const DEFAULT_MUTATION_OPTIONS: MutationOptions = {
  annotationPrefix: 'eks.amazonaws.com',
  tokenAudience: 'sts.amazonaws.com',
  tokenExpirationSeconds: 86400,
  tokenMountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
  awsDefaultRegion: undefined,
  stsRegionalEndpoints: false,
  stsEndpointUrl: undefined,
};

/** Annotation names (after `<prefix>/`). */
export const ANNOTATION = {
  roleArn: 'role-arn',
  audience: 'audience',
  stsRegionalEndpoints: 'sts-regional-endpoints',
  tokenExpiration: 'token-expiration',
  skipContainers: 'skip-containers',
  /** Written by the webhook on the pod it mutates: which role it injected. Informational only. */
  injectedRoleArn: 'injected-role-arn',
} as const;
