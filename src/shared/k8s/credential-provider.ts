/**
 * The kubelet's image credential provider configuration (`CredentialProviderConfig`,
 * kubelet.config.k8s.io/v1) for AWS's `ecr-credential-provider` with pod ServiceAccount tokens
 * (KEP-4412, `KubeletServiceAccountTokenForCredentialProviders`, beta 1.34), its validation as the
 * kubelet does it, and which images it is called for. Pure: no I/O.
 *
 * Field names and rules: k8s.io/kubelet config/v1 types.go and
 * k8s.io/kubernetes pkg/credentialprovider/plugin/config.go (`validateCredentialProviderConfig`),
 * v1.37.2; matching: pkg/credentialprovider/keyring.go (`URLsMatch`).
 */

export const CREDENTIAL_PROVIDER_CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1';
/** The only provider apiVersion that may carry tokenAttributes (config.go). */
export const CREDENTIAL_PROVIDER_API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
const PROVIDER_API_VERSIONS = ['credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v1alpha1', 'credentialprovider.kubelet.k8s.io/v1beta1'];

export const ECR_PROVIDER_NAME = 'ecr-credential-provider';
/**
 * The ServiceAccount annotation ecr-credential-provider reads for the role to assume with the pod's
 * token (kubernetes/cloud-provider-aws, falling back to $AWS_ECR_ROLE_ARN, then the node's own
 * credentials since #1281). It is fixed in the provider, whatever the webhook's --annotation-prefix.
 */
export const ECR_ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/ecr-role-arn';
/** The audience the provider's AssumeRoleWithWebIdentity needs (the IAM OIDC provider's client id). */
export const ECR_TOKEN_AUDIENCE = 'sts.amazonaws.com';
/**
 * ECR's registries in every partition, as the EKS AMI configures the provider
 * (awslabs/amazon-eks-ami, ecr-credential-provider-config): commercial, China, FIPS, and the two ISO partitions.
 */
export const ECR_MATCH_IMAGES = ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov'] as const;
/** The EKS AMI's cache duration for ECR credentials (they last 12 hours). */
export const ECR_DEFAULT_CACHE_DURATION = '12h';

export const CACHE_TYPES = ['ServiceAccount', 'Token'] as const;
export type CacheType = (typeof CACHE_TYPES)[number];

export interface TokenAttributes {
  readonly serviceAccountTokenAudience: string;
  readonly cacheType: CacheType | string;
  readonly requireServiceAccount: boolean | undefined;
  readonly requiredServiceAccountAnnotationKeys?: readonly string[];
  readonly optionalServiceAccountAnnotationKeys?: readonly string[];
}

export interface CredentialProvider {
  readonly name: string;
  readonly matchImages: readonly string[];
  /** A Go duration (metav1.Duration). */
  readonly defaultCacheDuration: string | undefined;
  readonly apiVersion: string;
  readonly tokenAttributes?: TokenAttributes;
}

export interface CredentialProviderConfig {
  readonly apiVersion: typeof CREDENTIAL_PROVIDER_CONFIG_API_VERSION;
  readonly kind: 'CredentialProviderConfig';
  readonly providers: readonly CredentialProvider[];
}

export interface EcrProviderOptions {
  readonly audience: string;
  readonly cacheType: CacheType;
  readonly requireServiceAccount: boolean;
  /** required: the kubelet refuses to pull for a ServiceAccount without the annotation (needs requireServiceAccount). */
  readonly annotation: 'optional' | 'required';
  readonly matchImages: readonly string[];
  readonly defaultCacheDuration: string;
}

export const DEFAULT_ECR_PROVIDER_OPTIONS: EcrProviderOptions = {
  audience: ECR_TOKEN_AUDIENCE,
  cacheType: 'ServiceAccount',
  requireServiceAccount: false,
  annotation: 'optional',
  matchImages: ECR_MATCH_IMAGES,
  defaultCacheDuration: ECR_DEFAULT_CACHE_DURATION,
};

/** The configuration with the one ECR provider (the file given to kubelet --image-credential-provider-config). */
export function ecrCredentialProviderConfig(options: EcrProviderOptions): CredentialProviderConfig {
  const keys = [ECR_ROLE_ARN_ANNOTATION];
  return {
    apiVersion: CREDENTIAL_PROVIDER_CONFIG_API_VERSION,
    kind: 'CredentialProviderConfig',
    providers: [
      {
        name: ECR_PROVIDER_NAME,
        matchImages: [...options.matchImages],
        defaultCacheDuration: options.defaultCacheDuration,
        apiVersion: CREDENTIAL_PROVIDER_API_VERSION,
        tokenAttributes: {
          serviceAccountTokenAudience: options.audience,
          cacheType: options.cacheType,
          requireServiceAccount: options.requireServiceAccount,
          ...(options.annotation === 'required' ? { requiredServiceAccountAnnotationKeys: keys } : { optionalServiceAccountAnnotationKeys: keys }),
        },
      },
    ],
  };
}

// apimachinery validation.IsQualifiedName: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters.
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a qualified name (empty when it is), as apimachinery's IsQualifiedName says it. */
export function qualifiedNameProblems(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const problems: string[] = [];
  if (parts.length === 2) {
    const [prefix = '', rest = ''] = parts;
    name = rest;
    if (prefix === '') problems.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) problems.push('prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters');
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"];
  }
  if (name === '') problems.push('name part must be non-empty');
  else if (name.length > 63) problems.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name)) {
    problems.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }
  return problems;
}

/**
 * The kubelet parses each matchImage as https://PATTERN (Go's net/url), which refuses white space,
 * control characters and bad % escapes. A scheme is refused here too, though Go would parse it into
 * a host that never matches: stricter than the kubelet, on purpose.
 */
function matchImageProblem(pattern: string): string | undefined {
  if (pattern === '' || pattern.length > 1024) return 'must be 1 to 1024 characters';
  if (/[\s"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})/.test(pattern) || /[\x00-\x1f\x7f]/.test(pattern)) return 'is not a schemeless URL';
  if (pattern.includes('://')) return 'must not have a scheme';
  return undefined;
}

function annotationKeyErrors(path: string, keys: readonly string[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    // config.go: "The rule is QualifiedName except that case doesn't matter".
    for (const problem of qualifiedNameProblems(key.toLowerCase())) errors.push(`${path}: Invalid value: ${JSON.stringify(key)}: ${problem}`);
    if (seen.has(key)) errors.push(`${path}: Duplicate value: ${JSON.stringify(key)}`);
    seen.add(key);
  }
  return errors;
}

/**
 * The kubelet's own checks of a CredentialProviderConfig with the token feature on, in its order and
 * words (field path, then the problem). The kubelet refuses to start on any of them.
 */
export function validateCredentialProviderConfig(config: CredentialProviderConfig): string[] {
  const errors: string[] = [];
  if (config.providers.length === 0) errors.push('providers: Required value: at least 1 item in plugins is required');
  const seen = new Set<string>();
  for (const provider of config.providers) {
    const name = provider.name;
    if (name.includes('/')) errors.push(`providers.name: Invalid value: ${JSON.stringify(name)}: provider name cannot contain '/'`);
    if (name.includes(' ')) errors.push(`providers.name: Invalid value: ${JSON.stringify(name)}: provider name cannot contain spaces`);
    if (name === '.' || name === '..') errors.push(`providers.name: Invalid value: ${JSON.stringify(name)}: provider name cannot be '${name}'`);
    if (seen.has(name)) errors.push(`providers.name: Duplicate value: ${JSON.stringify(name)}`);
    seen.add(name);
    if (provider.apiVersion === '') errors.push('providers.apiVersion: Required value');
    else if (!PROVIDER_API_VERSIONS.includes(provider.apiVersion)) errors.push(`providers.apiVersion: Unsupported value: ${JSON.stringify(provider.apiVersion)}`);
    if (provider.matchImages.length === 0) errors.push('providers.matchImages: Required value: at least 1 item in matchImages is required');
    for (const pattern of provider.matchImages) {
      const problem = matchImageProblem(pattern);
      if (problem) errors.push(`providers.matchImages: Invalid value: ${JSON.stringify(pattern)}: match image is invalid: ${problem}`);
    }
    if (provider.defaultCacheDuration === undefined) errors.push('providers.defaultCacheDuration: Required value');
    else if (provider.defaultCacheDuration.trim().startsWith('-')) errors.push('providers.defaultCacheDuration: Invalid value: must be greater than or equal to 0');
    const token = provider.tokenAttributes;
    if (token === undefined) continue;
    const at = 'providers.tokenAttributes';
    if (token.serviceAccountTokenAudience === '') errors.push(`${at}.serviceAccountTokenAudience: Required value`);
    if (token.requireServiceAccount === undefined) errors.push(`${at}.requireServiceAccount: Required value`);
    if (provider.apiVersion !== CREDENTIAL_PROVIDER_API_VERSION) errors.push(`${at}: Forbidden: tokenAttributes is only supported for ${CREDENTIAL_PROVIDER_API_VERSION} API version`);
    const required = token.requiredServiceAccountAnnotationKeys ?? [];
    const optional = token.optionalServiceAccountAnnotationKeys ?? [];
    if (token.requireServiceAccount === false && required.length > 0) {
      errors.push(`${at}.requiredServiceAccountAnnotationKeys: Forbidden: requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set`);
    }
    errors.push(...annotationKeyErrors(`${at}.requiredServiceAccountAnnotationKeys`, required), ...annotationKeyErrors(`${at}.optionalServiceAccountAnnotationKeys`, optional));
    const both = [...new Set(required.filter((key) => optional.includes(key)))].sort();
    if (both.length > 0) errors.push(`${at}: Invalid value: ${JSON.stringify(both)}: annotation keys cannot be both required and optional`);
    if (token.cacheType === '') errors.push(`${at}.cacheType: Required value: cacheType is required to be set when tokenAttributes is specified. Supported values are: ${CACHE_TYPES.join(', ')}`);
    else if (!CACHE_TYPES.some((type) => type === token.cacheType)) errors.push(`${at}.cacheType: Unsupported value: ${JSON.stringify(token.cacheType)}: supported values: ${CACHE_TYPES.map((type) => `"${type}"`).join(', ')}`);
  }
  return errors;
}

/** Host parts and port of a schemeless image reference or pattern, and its path. */
function splitReference(reference: string): { parts: string[]; port: string; path: string } {
  const slash = reference.indexOf('/');
  const authority = slash === -1 ? reference : reference.slice(0, slash);
  const path = slash === -1 ? '' : reference.slice(slash);
  const colon = authority.lastIndexOf(':');
  const host = colon === -1 ? authority : authority.slice(0, colon);
  const port = colon === -1 ? '' : authority.slice(colon + 1);
  return { parts: host.split('.'), port, path };
}

/** Go's filepath.Match for one host part, where patterns here use only `*` and `?`. */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
  return new RegExp(`^${source}$`).test(text);
}

/**
 * Whether the kubelet calls a provider with this matchImages pattern for `image` (keyring.go
 * URLsMatch: the same number of host parts, each matching its glob, the same port, the pattern's path
 * a prefix of the image's). A tag or digest is part of the path and does not matter.
 */
export function imageMatches(pattern: string, image: string): boolean {
  const glob = splitReference(pattern);
  const target = splitReference(image.split('@')[0] ?? image);
  if (glob.port !== target.port || glob.parts.length !== target.parts.length || !target.path.startsWith(glob.path)) return false;
  return glob.parts.every((part, index) => globMatches(part, target.parts[index] ?? ''));
}
