import fc from 'fast-check';
import { DEFAULT_CONTAINER_CREDENTIALS, DEFAULT_MUTATION_OPTIONS, TOKEN_VOLUME_NAME } from '../../src/webhook/engine/defaults.js';
import type { MutationOptions, ServiceAccountView } from '../../src/webhook/engine/types.js';

/** Random pods, ServiceAccounts and options for property tests (engine and server fuzzing). */
const AWS_NAMES = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_STS_REGIONAL_ENDPOINTS',
  'AWS_ENDPOINT_URL_STS',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
];
export const containerName = fc.constantFrom('app', 'sidecar', 'init', 'proxy', 'db', 'x~y', 'ünï');
const unknownFields = fc.dictionary(fc.constantFrom('futureField', 'resizePolicy', 'ports', 'x/y', 'a~b'), fc.jsonValue({ maxDepth: 3 }), {
  maxKeys: 2,
});
const envVar = fc.oneof(
  fc.record({ name: fc.oneof(fc.constantFrom(...AWS_NAMES), fc.string({ maxLength: 8 })), value: fc.string({ maxLength: 12 }) }),
  fc.record({ name: fc.constantFrom(...AWS_NAMES), valueFrom: fc.constant({ fieldRef: { fieldPath: 'metadata.name' } }) }),
  fc.record({ value: fc.string() }),
);
const volumeName = fc.constantFrom(TOKEN_VOLUME_NAME, `${TOKEN_VOLUME_NAME}-1`, DEFAULT_CONTAINER_CREDENTIALS.tokenVolumeName, 'data', 'own-token');
const mount = fc.record({
  name: fc.oneof(volumeName, fc.constant('config')),
  mountPath: fc.constantFrom(
    '/data',
    '/aws',
    '/var/run/secrets/eks.amazonaws.com/serviceaccount',
    '/var/run/secrets/eks.amazonaws.com/serviceaccount/',
    DEFAULT_CONTAINER_CREDENTIALS.tokenMountPath,
    `${DEFAULT_CONTAINER_CREDENTIALS.tokenMountPath}//`,
  ),
});
const container = fc
  .record(
    { name: containerName, image: fc.constant('busybox'), env: fc.array(envVar, { maxLength: 4 }), volumeMounts: fc.array(mount, { maxLength: 3 }) },
    { requiredKeys: ['name', 'image'] },
  )
  .chain((base) => unknownFields.map((extra) => ({ ...extra, ...base })));
/** Volumes under the token volumes' names or others: emptyDirs, hostPaths, and projected tokens for the right or a wrong audience and path. */
const tokenSource = fc.record({
  serviceAccountToken: fc.record(
    {
      audience: fc.constantFrom('sts.amazonaws.com', DEFAULT_CONTAINER_CREDENTIALS.audience, 'lab', 'vault'),
      path: fc.constantFrom('token', './token', DEFAULT_CONTAINER_CREDENTIALS.tokenPath, 'dir/token', 'other'),
      expirationSeconds: fc.constantFrom(600, 86400),
    },
    { requiredKeys: ['path'] },
  ),
});
const volume = fc.oneof(
  fc.record({ name: volumeName, emptyDir: fc.constant({}) }),
  fc.record({ name: volumeName, hostPath: fc.constant({ path: '/var/token' }) }),
  fc.record({ name: volumeName, projected: fc.record({ sources: fc.array(fc.oneof(tokenSource, fc.constant({ configMap: { name: 'ca' } })), { minLength: 1, maxLength: 2 }) }) }),
);
const annotationValue = fc.oneof(fc.constantFrom('0', '600', '3600', 'abc', '-1', '99999999999', ''), fc.string({ maxLength: 6 }));
export const podArbitrary = fc.record(
  {
    metadata: fc.record(
      {
        name: fc.constant('p'),
        annotations: fc.record(
          {
            'eks.amazonaws.com/token-expiration': annotationValue,
            'eks.amazonaws.com/skip-containers': fc.array(containerName, { maxLength: 3 }).map((names) => names.join(' , ')),
            'eks.amazonaws.com/injected-role-arn': fc.constant('arn:aws:iam::111122223333:role/other'),
            'example.com/x': fc.string(),
          },
          { requiredKeys: [] },
        ),
        labels: fc.record({ 'eks.amazonaws.com/pod-identity': fc.constantFrom('enabled', 'disabled'), app: fc.constant('x') }, { requiredKeys: [] }),
      },
      { requiredKeys: ['name'] },
    ),
    spec: fc.record(
      {
        containers: fc.array(container, { minLength: 1, maxLength: 4 }),
        initContainers: fc.array(
          container.map((c) => ({ ...c, restartPolicy: 'Always' })),
          { maxLength: 2 },
        ),
        volumes: fc.array(volume, { maxLength: 3 }),
        nodeSelector: fc.record({ 'kubernetes.io/os': fc.constantFrom('linux', 'windows') }, { requiredKeys: [] }),
        futureSpecField: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: ['containers'] },
    ),
  },
  { requiredKeys: ['spec'] },
);
export const serviceAccountArbitrary: fc.Arbitrary<ServiceAccountView> = fc.record({
  name: fc.constant('app'),
  namespace: fc.constant('default'),
  annotations: fc.record(
    {
      'eks.amazonaws.com/role-arn': fc.constantFrom('arn:aws:iam::111122223333:role/app', 'arn:aws-cn:iam::111122223333:role/p/app', 'not-an-arn'),
      'eks.amazonaws.com/audience': fc.constantFrom('sts.amazonaws.com', 'custom', ''),
      'eks.amazonaws.com/sts-regional-endpoints': fc.constantFrom('true', 'false', 'maybe'),
      'eks.amazonaws.com/token-expiration': annotationValue,
    },
    { requiredKeys: [] },
  ),
  podIdentity: fc.boolean(),
});
export const optionsArbitrary: fc.Arbitrary<MutationOptions> = fc.record({
  annotationPrefix: fc.constant(DEFAULT_MUTATION_OPTIONS.annotationPrefix),
  tokenAudience: fc.constantFrom('sts.amazonaws.com', 'lab'),
  tokenExpirationSeconds: fc.integer({ min: 600, max: 2 ** 32 }),
  tokenMountPath: fc.constantFrom(DEFAULT_MUTATION_OPTIONS.tokenMountPath, '/aws'),
  awsDefaultRegion: fc.constantFrom(undefined, 'us-west-2'),
  stsRegionalEndpoints: fc.boolean(),
  stsEndpointUrl: fc.constantFrom(undefined, 'http://127.0.0.1:8082'),
  containerCredentials: fc.record({
    audience: fc.constantFrom(DEFAULT_CONTAINER_CREDENTIALS.audience, 'lab'),
    tokenMountPath: fc.constantFrom(DEFAULT_CONTAINER_CREDENTIALS.tokenMountPath, '/aws'),
    tokenVolumeName: fc.constantFrom(DEFAULT_CONTAINER_CREDENTIALS.tokenVolumeName, 'data'),
    tokenPath: fc.constantFrom(DEFAULT_CONTAINER_CREDENTIALS.tokenPath, 'token', 'dir/token'),
    fullUri: fc.constantFrom(DEFAULT_CONTAINER_CREDENTIALS.fullUri, 'http://127.0.0.1:2703/v1/credentials'),
  }),
});

