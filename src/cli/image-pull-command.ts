import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import {
  CACHE_TYPES,
  type CacheType,
  DEFAULT_ECR_PROVIDER_OPTIONS,
  ECR_MATCH_IMAGES,
  ecrCredentialProviderConfig,
  validateCredentialProviderConfig,
} from '../shared/k8s/credential-provider.js';
import { nodeAudienceRbac } from '../shared/k8s/node-audience-rbac.js';
import { parseGoDuration } from './duration-flag.js';
import { flagValue } from './flags.js';
import { formatStructured, type StructuredFormat } from './output-flag.js';
import { UsageError } from './usage-error.js';

const FORMATS = ['yaml', 'json'] as const;
const MAX_MATCH_IMAGES = 64;

function parseAudience(raw: string): string {
  const audience = raw.trim();
  if (audience === '' || audience.length > 1024 || /[\s\x00-\x1f\x7f]/.test(audience)) throw new InvalidArgumentError(`"${raw.slice(0, 64)}" is not an audience (1 to 1024 characters, no white space)`);
  return audience;
}

/** Repeatable --match-image: the first one given replaces the default list. */
function collectMatchImage(raw: string, previous: readonly string[] | undefined): string[] {
  const list = previous === undefined || previous === ECR_MATCH_IMAGES ? [] : [...previous];
  if (list.length >= MAX_MATCH_IMAGES) throw new InvalidArgumentError(`at most ${MAX_MATCH_IMAGES} patterns`);
  list.push(raw.trim());
  return list;
}

function parseCacheDuration(raw: string): string {
  const parsed = parseGoDuration(raw);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return raw.trim();
}

const isStrings = (value: unknown): value is readonly string[] => Array.isArray(value) && value.every((entry) => typeof entry === 'string');

/**
 * `image-pull-config`: the kubelet's CredentialProviderConfig for ecr-credential-provider with the
 * pod's ServiceAccount token (KEP-4412), or, with --rbac, the RBAC that lets nodes mint its audience.
 * The configuration is checked with the kubelet's own rules before it is printed (docs/image-pull.md).
 */
export function registerImagePullConfig(program: Command): void {
  program
    .command('image-pull-config')
    .description("print the kubelet's image credential provider config for ecr-credential-provider with pod ServiceAccount tokens (eks.amazonaws.com/ecr-role-arn), or with --rbac the ClusterRole and binding that let nodes request its token audience")
    .addOption(new Option('--rbac', 'print the ClusterRole and ClusterRoleBinding (kubectl apply -f -) instead of the kubelet config').default(false))
    .addOption(new Option('--audience <audience>', 'token audience').default(DEFAULT_ECR_PROVIDER_OPTIONS.audience).argParser(parseAudience))
    .addOption(new Option('--cache-type <type>', 'how the kubelet caches the credentials').choices(CACHE_TYPES).default(DEFAULT_ECR_PROVIDER_OPTIONS.cacheType))
    .addOption(new Option('--require-service-account', 'call the provider only for pods with a ServiceAccount').default(false))
    .addOption(new Option('--require-annotation', 'list eks.amazonaws.com/ecr-role-arn as required (the kubelet fails the pull without it) rather than optional').default(false))
    .addOption(new Option('--match-image <pattern>', 'registry pattern the provider is called for; repeat for several').default(ECR_MATCH_IMAGES, 'the ECR registries of every partition').argParser(collectMatchImage))
    .addOption(new Option('--default-cache-duration <duration>', 'cache time of credentials the provider gives none for').default(DEFAULT_ECR_PROVIDER_OPTIONS.defaultCacheDuration).argParser(parseCacheDuration))
    .addOption(new Option('-o, --output <format>', 'yaml or json').choices(FORMATS).default('yaml'))
    .action((values: OptionValues) => {
      const output = flagValue.typed(values, 'output', (value): value is StructuredFormat => FORMATS.some((format) => format === value));
      const audience = flagValue.typed(values, 'audience', flagValue.isString);
      if (values.rbac === true) {
        const [role, binding] = nodeAudienceRbac(audience);
        process.stdout.write(output === 'json' ? formatStructured({ apiVersion: 'v1', kind: 'List', items: [role, binding] }, 'json') : `${formatStructured(role, 'yaml')}---\n${formatStructured(binding, 'yaml')}`);
        return;
      }
      const config = ecrCredentialProviderConfig({
        audience,
        cacheType: flagValue.typed(values, 'cacheType', (value): value is CacheType => CACHE_TYPES.some((type) => type === value)),
        requireServiceAccount: values.requireServiceAccount === true,
        annotation: values.requireAnnotation === true ? 'required' : 'optional',
        matchImages: flagValue.typed(values, 'matchImage', isStrings),
        defaultCacheDuration: flagValue.typed(values, 'defaultCacheDuration', flagValue.isString),
      });
      const errors = validateCredentialProviderConfig(config);
      if (errors.length > 0) throw new UsageError(`the kubelet would refuse this config: ${errors.join('; ')}`);
      process.stdout.write(formatStructured(config, output));
    });
}
