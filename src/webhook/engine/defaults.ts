import type { ContainerCredentialsOptions, MutationOptions } from './types.js';

/** Name of the projected token volume the engine adds (and recognises on re-invocation). */
export const TOKEN_VOLUME_NAME = 'aws-iam-token';
/** File name of the token inside the mounted volume. */
export const TOKEN_FILE_NAME = 'token';
/** Kubernetes rejects TokenRequests shorter than this. */
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
/** Kubernetes rejects TokenRequests longer than 2^32 seconds. */
export const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
/** The Go webhook's default token lifetime; in Pod Identity mode it is replaced by a random one (see below). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 86400;
/** Pod Identity tokens that would last the default get a random lifetime from here to the default, as the Go webhook does. */
export const MIN_JITTERED_TOKEN_EXPIRATION_SECONDS = 79200;

/** EKS Pod Identity ("container credentials") settings; the Go webhook's flag defaults. */
export const DEFAULT_CONTAINER_CREDENTIALS: ContainerCredentialsOptions = {
  audience: 'pods.eks.amazonaws.com',
  tokenMountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
  tokenVolumeName: 'eks-pod-identity-token',
  tokenPath: 'eks-pod-identity-token',
  fullUri: 'http://169.254.170.23/v1/credentials',
};

/** The label the webhook sets on a pod given Pod Identity; fixed, whatever the annotation prefix (as the Go webhook). */
export const POD_IDENTITY_LABEL = 'eks.amazonaws.com/pod-identity';
export const POD_IDENTITY_LABEL_VALUE = 'enabled';

export const DEFAULT_MUTATION_OPTIONS: MutationOptions = {
  annotationPrefix: 'eks.amazonaws.com',
  tokenAudience: 'sts.amazonaws.com',
  tokenExpirationSeconds: DEFAULT_TOKEN_EXPIRATION_SECONDS,
  tokenMountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
  awsDefaultRegion: undefined,
  stsRegionalEndpoints: false,
  stsEndpointUrl: undefined,
  containerCredentials: DEFAULT_CONTAINER_CREDENTIALS,
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
