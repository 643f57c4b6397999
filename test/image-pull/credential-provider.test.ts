import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  type CredentialProvider,
  type CredentialProviderConfig,
  DEFAULT_ECR_PROVIDER_OPTIONS,
  ecrCredentialProviderConfig,
  imageMatches,
  validateCredentialProviderConfig,
} from '../../src/shared/k8s/credential-provider.js';
import { nodeAudienceRbac } from '../../src/shared/k8s/node-audience-rbac.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';

const provider = (changes: Partial<CredentialProvider>): CredentialProviderConfig => {
  const base = ecrCredentialProviderConfig(DEFAULT_ECR_PROVIDER_OPTIONS);
  return { ...base, providers: [{ ...base.providers[0]!, ...changes }] };
};
const tokenAttributes = (changes: Record<string, unknown>): CredentialProviderConfig => {
  const base = ecrCredentialProviderConfig(DEFAULT_ECR_PROVIDER_OPTIONS);
  return provider({ tokenAttributes: { ...base.providers[0]!.tokenAttributes!, ...changes } as CredentialProvider['tokenAttributes'] });
};

describe('image-pull: the kubelet CredentialProviderConfig for ecr-credential-provider', () => {
  it('the default is the documented shape: ECR registries of every partition, audience sts.amazonaws.com, ServiceAccount cache, the role annotation optional', () => {
    const config = ecrCredentialProviderConfig(DEFAULT_ECR_PROVIDER_OPTIONS);
    assert.deepEqual(config, {
      apiVersion: 'kubelet.config.k8s.io/v1',
      kind: 'CredentialProviderConfig',
      providers: [
        {
          name: 'ecr-credential-provider',
          matchImages: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov'],
          defaultCacheDuration: '12h',
          apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
          tokenAttributes: { serviceAccountTokenAudience: 'sts.amazonaws.com', cacheType: 'ServiceAccount', requireServiceAccount: false, optionalServiceAccountAnnotationKeys: ['eks.amazonaws.com/ecr-role-arn'] },
        },
      ],
    });
    assert.deepEqual(validateCredentialProviderConfig(config), []);
  });

  it('a required annotation is listed as required, and valid only with requireServiceAccount', () => {
    const required = ecrCredentialProviderConfig({ ...DEFAULT_ECR_PROVIDER_OPTIONS, annotation: 'required', requireServiceAccount: true });
    assert.deepEqual(required.providers[0]!.tokenAttributes?.requiredServiceAccountAnnotationKeys, ['eks.amazonaws.com/ecr-role-arn']);
    assert.equal(required.providers[0]!.tokenAttributes?.optionalServiceAccountAnnotationKeys, undefined);
    assert.deepEqual(validateCredentialProviderConfig(required), []);
    assert.deepEqual(validateCredentialProviderConfig(ecrCredentialProviderConfig({ ...DEFAULT_ECR_PROVIDER_OPTIONS, annotation: 'required' })), [
      'providers.tokenAttributes.requiredServiceAccountAnnotationKeys: Forbidden: requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set',
    ]);
  });

  // The expected texts are the kubelet's own, from k8s.io/kubernetes v1.37.2 pkg/credentialprovider/plugin/config_test.go.
  const kubeletCases: Array<[string, CredentialProviderConfig, string[]]> = [
    ['no defaultCacheDuration', provider({ defaultCacheDuration: undefined }), ['providers.defaultCacheDuration: Required value']],
    ['a negative defaultCacheDuration', provider({ defaultCacheDuration: '-1m' }), ['providers.defaultCacheDuration: Invalid value: must be greater than or equal to 0']],
    ['a provider name with /', provider({ name: 'foo/bar' }), [`providers.name: Invalid value: "foo/bar": provider name cannot contain '/'`]],
    ['no matchImages', provider({ matchImages: [] }), ['providers.matchImages: Required value: at least 1 item in matchImages is required']],
    ['an empty audience', tokenAttributes({ serviceAccountTokenAudience: '' }), ['providers.tokenAttributes.serviceAccountTokenAudience: Required value']],
    [
      'an empty cacheType',
      tokenAttributes({ cacheType: '' }),
      ['providers.tokenAttributes.cacheType: Required value: cacheType is required to be set when tokenAttributes is specified. Supported values are: ServiceAccount, Token'],
    ],
    ['an unknown cacheType', tokenAttributes({ cacheType: 'invalid-cache-type' }), ['providers.tokenAttributes.cacheType: Unsupported value: "invalid-cache-type": supported values: "ServiceAccount", "Token"']],
    ['no requireServiceAccount', tokenAttributes({ requireServiceAccount: undefined }), ['providers.tokenAttributes.requireServiceAccount: Required value']],
    [
      'an annotation key that is not a qualified name',
      tokenAttributes({ optionalServiceAccountAnnotationKeys: ['cantendwithadash-'] }),
      [
        `providers.tokenAttributes.optionalServiceAccountAnnotationKeys: Invalid value: "cantendwithadash-": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
      ],
    ],
    [
      'a duplicate annotation key',
      tokenAttributes({ optionalServiceAccountAnnotationKeys: ['now-with-dashes/simple', 'now-with-dashes/simple'] }),
      ['providers.tokenAttributes.optionalServiceAccountAnnotationKeys: Duplicate value: "now-with-dashes/simple"'],
    ],
    [
      'a key both required and optional',
      tokenAttributes({ requireServiceAccount: true, requiredServiceAccountAnnotationKeys: ['now-with-dashes/simple-1', 'now-with-dashes/simple-2'], optionalServiceAccountAnnotationKeys: ['now-with-dashes/simple-2'] }),
      ['providers.tokenAttributes: Invalid value: ["now-with-dashes/simple-2"]: annotation keys cannot be both required and optional'],
    ],
    ['tokenAttributes on a v1beta1 provider', provider({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' }), ['providers.tokenAttributes: Forbidden: tokenAttributes is only supported for credentialprovider.kubelet.k8s.io/v1 API version']],
  ];
  for (const [what, config, errors] of kubeletCases) {
    it(`refused as the kubelet refuses it: ${what}`, () => {
      assert.deepEqual(validateCredentialProviderConfig(config), errors);
    });
  }

  it('an upper-case annotation key is allowed (the kubelet lowercases before checking), a key with two slashes is not', () => {
    assert.deepEqual(validateCredentialProviderConfig(tokenAttributes({ optionalServiceAccountAnnotationKeys: ['Example.COM/Role'] })), []);
    assert.equal(validateCredentialProviderConfig(tokenAttributes({ optionalServiceAccountAnnotationKeys: ['a/b/c'] })).length, 1);
  });

  it('matches images as the kubelet does: one glob per host part, the same port, the path a prefix', () => {
    const ecr = '*.dkr.ecr.*.amazonaws.com';
    assert.ok(imageMatches(ecr, '111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1.0'));
    assert.ok(imageMatches(ecr, '111122223333.dkr.ecr.us-west-2.amazonaws.com/team/app@sha256:abc'));
    assert.ok(!imageMatches(ecr, '111122223333.dkr.ecr.us-west-2.amazonaws.com.cn/app'), 'another number of host parts');
    assert.ok(imageMatches('*.dkr.ecr.*.amazonaws.com.cn', '111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/app'));
    assert.ok(!imageMatches(ecr, 'docker.io/library/nginx'));
    assert.ok(!imageMatches(ecr, 'nginx'));
    assert.ok(!imageMatches('registry.io:8080/path', 'registry.io/path/app'), 'the port differs');
    assert.ok(imageMatches('registry.io:8080/path', 'registry.io:8080/path/app'));
    assert.ok(!imageMatches('registry.io/path', 'registry.io/other/app'));
  });
});

describe('image-pull: the RBAC that lets nodes request the audience', () => {
  it('a ClusterRole for the verb on the audience as the resource (as NodeRestriction asks), bound to system:nodes', () => {
    const [role, binding] = nodeAudienceRbac('sts.amazonaws.com');
    assert.deepEqual((role as { rules: unknown }).rules, [{ apiGroups: [''], resources: ['sts.amazonaws.com'], verbs: ['request-serviceaccounts-token-audience'] }]);
    assert.deepEqual((binding as { subjects: unknown }).subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }]);
    assert.equal((binding as { roleRef: { name: string } }).roleRef.name, (role as { metadata: { name: string } }).metadata.name);
    const [named] = nodeAudienceRbac('sts.amazonaws.com', ['app']);
    assert.deepEqual((named as { rules: Array<{ resourceNames: string[] }> }).rules[0]!.resourceNames, ['app']);
  });
});

describe('image-pull: the shipped RBAC', () => {
  it('manifests/optional/image-pull.yaml is what image-pull-config --rbac generates', () => {
    const shipped = parseAllDocuments(readFileSync(join(ROOT, 'manifests', 'optional', 'image-pull.yaml'), 'utf8')).map((document) => document.toJS() as unknown);
    assert.deepEqual(shipped, nodeAudienceRbac('sts.amazonaws.com'));
  });
});

describe('image-pull-config: the command', () => {
  it('prints the kubelet config as YAML, and as JSON with -o json', async () => {
    const yaml = await runCli(['image-pull-config', '--cache-type', 'Token', '--require-service-account', '--require-annotation', '--default-cache-duration', '1h30m']);
    assert.equal(yaml.code, 0, yaml.stderr);
    const config = parse(yaml.stdout) as CredentialProviderConfig;
    assert.deepEqual(config.providers[0]!.tokenAttributes, {
      serviceAccountTokenAudience: 'sts.amazonaws.com',
      cacheType: 'Token',
      requireServiceAccount: true,
      requiredServiceAccountAnnotationKeys: ['eks.amazonaws.com/ecr-role-arn'],
    });
    assert.equal(config.providers[0]!.defaultCacheDuration, '1h30m');
    const json = await runCli(['image-pull-config', '-o', 'json', '--match-image', '111122223333.dkr.ecr.us-west-2.amazonaws.com', '--audience', 'ecr.example']);
    assert.equal(json.code, 0, json.stderr);
    const fromJson = JSON.parse(json.stdout) as CredentialProviderConfig;
    assert.deepEqual(fromJson.providers[0]!.matchImages, ['111122223333.dkr.ecr.us-west-2.amazonaws.com']);
    assert.equal(fromJson.providers[0]!.tokenAttributes?.serviceAccountTokenAudience, 'ecr.example');
  });

  it('--rbac prints the ClusterRole and its binding for the audience, as two YAML documents or a List', async () => {
    const yaml = await runCli(['image-pull-config', '--rbac', '--audience', 'ecr.example']);
    assert.equal(yaml.code, 0, yaml.stderr);
    const docs = yaml.stdout.split(/^---$/m).map((doc) => parse(doc) as { kind: string; rules?: Array<{ resources: string[] }> });
    assert.deepEqual(docs.map((doc) => doc.kind), ['ClusterRole', 'ClusterRoleBinding']);
    assert.deepEqual(docs[0]!.rules![0]!.resources, ['ecr.example']);
    const json = JSON.parse((await runCli(['image-pull-config', '--rbac', '-o', 'json'])).stdout) as { kind: string; items: unknown[] };
    assert.equal(json.kind, 'List');
    assert.equal(json.items.length, 2);
  });

  const refused: Array<[string, string[], RegExp]> = [
    ['a required annotation without --require-service-account', ['--require-annotation'], /the kubelet would refuse this config: .*requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set/],
    ['a match image that is not a schemeless URL', ['--match-image', 'bad host'], /providers\.matchImages: Invalid value: "bad host"/],
    ['an unknown cache type', ['--cache-type', 'Pod'], /--cache-type <type>' argument 'Pod' is invalid/],
    ['a duration that is not one', ['--default-cache-duration', 'soon'], /"soon" is not a duration/],
    ['an audience with white space', ['--audience', 'a b'], /is not an audience/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} (exit 2, one line)`, async () => {
      const result = await runCli(['image-pull-config', ...args]);
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^pod-identity-webhook: /);
      assert.match(result.stderr, message);
    });
  }
});
