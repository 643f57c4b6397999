import assert from 'node:assert/strict';
import { mapIdentity } from '../../src/authenticator/aws-auth.js';
import { templateVariables } from '../../src/authenticator/templates.js';
import { lintAwsAuth } from '../../src/authenticator/lint-aws-auth.js';
import { parseClusterToken } from '../../src/authenticator/token.js';
import { parseDnsSubdomain, parseHttpUrl } from '../../src/cli/flags.js';
import { canonicalize, parseRoleArn } from '../../src/shared/aws/arn.js';
import { parseTokenExpiration } from '../../src/webhook/engine/identity.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { parseCompactJwt } from '../../src/shared/jwt.js';
import { parseLabConfig, providerId } from '../../src/lab/sts/config.js';
import { formPairs } from '../../src/shared/aws/sigv4.js';
import { evaluateTrustPolicy, parseTrustPolicy } from '../../src/shared/aws/iam-policy.js';
import { wildcardMatch } from '../../src/shared/aws/wildcard.js';
import { parseRoleMapping } from '../../src/webhook/serviceaccounts/role-mapping.js';
import { trimTrailing } from '../../src/shared/text.js';
import { assertBounded } from '../helpers/bounded.js';

/**
 * Every function that runs a pattern over user data, given long adversarial inputs (runs of the
 * characters its patterns repeat, ending in a character that makes them fail). A backtracking
 * pattern takes seconds on these (an unclosed `{{` and 3,000 spaces held a login ~3 s); linear
 * code answers in milliseconds, so the bound has a wide margin on a slow machine.
 */
const LONG = 50_000;
const BOUND = { milliseconds: 250 };
const run = (what: string, call: () => unknown): void => {
  assertBounded(() => {
    try {
      call();
    } catch {
      // Refusing the input is fine; taking long is not.
    }
  }, BOUND, what);
};

describe('no pattern backtracks on user data (long adversarial inputs, bounded time)', () => {
  it('aws-auth templates, mappings and the lint', () => {
    const identity = { arn: 'arn:aws:sts::111122223333:assumed-role/r/s', canonicalArn: 'arn:aws:iam::111122223333:role/r', partition: 'aws', account: '111122223333', sessionName: 's', userId: 'AROA', accessKeyId: 'ASIA' };
    for (const text of [`{{${' '.repeat(LONG)}`, '{{'.repeat(LONG), `${'{{a}'.repeat(LONG / 4)}`, `{{${'}'.repeat(LONG)}`]) {
      run('templateVariables', () => templateVariables(text));
      run('mapIdentity', () => mapIdentity(identity, { roles: [{ kind: 'role', arn: identity.canonicalArn, username: text, groups: [text], where: 'mapRoles[0]' }], users: [], accounts: [], ssoMatchers: [] }));
    }
    const configMap = (value: string) => `kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/${value}\n      username: "{{${' '.repeat(8000)}"\n`;
    run('lintAwsAuth', () => lintAwsAuth(configMap('a/'.repeat(LONG / 4))));
    run('lintAwsAuth user', () => lintAwsAuth(`kind: ConfigMap\ndata:\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/${'a/'.repeat(LONG / 4)}!\n      username: u\n`));
  });

  it('ARNs and cluster tokens', () => {
    for (const tail of ['a/'.repeat(LONG / 2), 'a'.repeat(LONG), '-a'.repeat(LONG / 2)]) {
      run('parseRoleArn', () => parseRoleArn(`arn:aws:iam::111122223333:role/${tail}!`));
      run('canonicalize role', () => canonicalize(`arn:aws:iam::111122223333:role/${tail}!`));
      run('canonicalize session', () => canonicalize(`arn:aws:sts::111122223333:assumed-role/${tail}/${tail}!`));
      run('canonicalize partition', () => canonicalize(`arn:aws${'-a'.repeat(LONG / 2)}!`));
    }
    const url = `https://sts.us${'-a'.repeat(LONG / 2)}!.amazonaws.com/?Action=GetCallerIdentity`;
    run('parseClusterToken', () => parseClusterToken(`k8s-aws-v1.${Buffer.from(url).toString('base64url')}`, { labStsOrigins: [], nowSeconds: 0 }));
  });

  it('trust policies: wildcards, variables and keys', () => {
    run('wildcardMatch', () => wildcardMatch(`${'*a'.repeat(40)}*b`, 'a'.repeat(20_000)));
    run('wildcardMatch ?', () => wildcardMatch(`${'?*'.repeat(40)}b`, 'a'.repeat(20_000)));
    const parsed = parseTrustPolicy({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: `${'*s'.repeat(30)}*x`, Condition: { StringLike: { 'p:sub': `${'*:'.repeat(30)}*!` }, ArnLike: { 'aws:FederatedProvider': `arn:*:*:*:*:${'*/'.repeat(30)}!` } } }],
    });
    assert.ok(parsed.ok);
    const context = new Map([
      ['p:sub', [':'.repeat(20_000)]],
      ['aws:federatedprovider', [`arn:aws:iam::1:${'/'.repeat(20_000)}`]],
    ]);
    run('evaluateTrustPolicy', () => evaluateTrustPolicy(parsed.value, { action: `sts:${'s'.repeat(20_000)}`, principal: { type: 'Federated', ids: ['x'] }, context }));
    run('parseTrustPolicy', () => parseTrustPolicy({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'a', Condition: { [`${'ForAnyValue:'.repeat(LONG / 12)}x`]: {}, [`${'a'.repeat(LONG)}IfExist`]: {} } }] }));
    run('policy variables', () => parseTrustPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'a', Condition: { StringLike: { 'p:sub': '${'.repeat(LONG) } } }] }));
    run('condition keys', () => parseTrustPolicy({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'a', Condition: { StringLike: { [`${' '.repeat(LONG)}:sub`]: 'x' } } }] }));
  });

  it('lab config, provider ids, query strings and tokens', () => {
    run('providerId', () => providerId(`http://a${'/'.repeat(LONG)}x`));
    run('parseLabConfig', () => parseLabConfig({ providers: [{ issuer: `http://a${'/'.repeat(LONG)}x`, audiences: ['a'], jwksUrl: 'http://a/keys' }], roles: [] }));
    run('parseLabConfig clusters', () =>
      parseLabConfig({
        providers: [{ issuer: 'http://a', audiences: ['a'], jwksUrl: 'http://a/keys' }],
        roles: [{ arn: 'arn:aws:iam::111122223333:role/r', trustPolicy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:*' }] } }],
        clusters: [{ name: 'c', region: 'us-east-1', account: '111122223333', nodeRoleArn: 'arn:aws:iam::111122223333:role/r', issuer: `http://a${'/'.repeat(LONG)}x`, jwksUrl: `http://a${'/'.repeat(LONG)}x` }],
      }),
    );
    run('formPairs', () => formPairs(`${'%'.repeat(LONG)}=${'+'.repeat(LONG)}&${'a=b&'.repeat(LONG / 4)}`));
    run('parseCompactJwt', () => parseCompactJwt(`${'a'.repeat(LONG)}.${'-'.repeat(LONG)}.${'_'.repeat(LONG)}!`));
    run('parseCompactJwt dots', () => parseCompactJwt('.'.repeat(LONG)));
  });

  it('pods, annotations, role mappings and flags', () => {
    run('parseTokenExpiration', () => parseTokenExpiration(`${'9'.repeat(LONG)}x`));
    run('parseRoleMapping', () => parseRoleMapping({ config: `${'a-'.repeat(LONG / 2)}!/x: {role-arn: x}\n` }));
    const pod = readPod({
      metadata: { annotations: { 'eks.amazonaws.com/skip-containers': ' ,'.repeat(LONG / 2) } },
      spec: { nodeSelector: { 'kubernetes.io/os': 'windows' }, containers: [{ name: 'app', volumeMounts: [{ name: 'aws-iam-token', mountPath: `/${'/'.repeat(LONG)}x` }, { name: 'other', mountPath: `${'/'.repeat(LONG)}x` }] }] },
    });
    assert.ok(pod.ok);
    run('mutatePod', () => mutatePod(pod.value, { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } }, DEFAULT_MUTATION_OPTIONS));
    run('parseDnsSubdomain', () => parseDnsSubdomain(`${'a-'.repeat(LONG / 2)}!`));
    run('parseHttpUrl', () => parseHttpUrl(`http://a${'/'.repeat(LONG)}x`));
    run('trimTrailing', () => trimTrailing(`${'/'.repeat(LONG)}x${'/'.repeat(LONG)}`, '/'));
  });
});
