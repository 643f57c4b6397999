import assert from 'node:assert/strict';
import { posix } from 'node:path';
import fc from 'fast-check';
import { trimTrailing } from '../../src/shared/text.js';
import { parseRoleArn } from '../../src/shared/aws/arn.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { parseTokenExpiration, resolveIdentity } from '../../src/webhook/engine/identity.js';
import { cleanMountPath, mutatePod, tokenFilePath } from '../../src/webhook/engine/mutate.js';
import { jsonPointer } from '../../src/webhook/engine/pointer.js';
import { boundWarnings, MAX_WARNING_LENGTH, MAX_WARNINGS_LENGTH } from '../../src/webhook/engine/warnings.js';
import { WARNING_PREFIX } from '../../src/webhook/admission/review.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod, readServiceAccount } from '../../src/webhook/read-objects.js';

describe('role ARN validation', () => {
  const valid = [
    'arn:aws:iam::111122223333:role/app',
    'arn:aws-cn:iam::111122223333:role/app',
    'arn:aws-us-gov:iam::111122223333:role/a/b/c/app',
    'arn:aws-iso-b:iam::111122223333:role/app+=,.@-_',
    `arn:aws:iam::111122223333:role/${'r'.repeat(64)}`,
  ];
  const invalid = [
    '',
    'arn:aws:iam::111122223333:user/alice',
    'arn:aws:iam::11112222333:role/app',
    'arn:aws:iam::1111222233334:role/app',
    'arn:aws:iam:us-east-1:111122223333:role/app',
    'arn:aws:sts::111122223333:assumed-role/app/session',
    'arn:gcp:iam::111122223333:role/app',
    'arn:aws:iam::111122223333:role/',
    'arn:aws:iam::111122223333:role/app/',
    `arn:aws:iam::111122223333:role/${'r'.repeat(65)}`,
    'arn:aws:iam::111122223333:role/app name',
    'arn:aws:iam::111122223333:role/app\n',
    ' arn:aws:iam::111122223333:role/app',
  ];
  for (const arn of valid) it(`accepts ${arn.slice(0, 60)}`, () => assert.ok(parseRoleArn(arn)));
  for (const arn of invalid) it(`rejects ${JSON.stringify(arn.slice(0, 60))}`, () => assert.equal(parseRoleArn(arn), undefined));

  it('splits partition, account, path and name', () => {
    assert.deepEqual(parseRoleArn('arn:aws-us-gov:iam::111122223333:role/team/x/app'), {
      partition: 'aws-us-gov',
      account: '111122223333',
      path: '/team/x/',
      name: 'app',
    });
  });
});

describe('token expiration parsing', () => {
  const cases: Array<[string, ReturnType<typeof parseTokenExpiration>]> = [
    ['599', { seconds: 600, raised: true }],
    ['600', { seconds: 600, raised: false }],
    [' 3600 ', { seconds: 3600, raised: false }],
    ['4294967296', { seconds: 4294967296, raised: false }],
    ['4294967297', { problem: 'is above the maximum of 4294967296 seconds' }],
    ['1e4', { problem: 'is not a whole number of seconds' }],
    ['3600s', { problem: 'is not a whole number of seconds' }],
    ['-600', { problem: 'is not a whole number of seconds' }],
    ['', { problem: 'is not a whole number of seconds' }],
  ];
  for (const [raw, expected] of cases) it(`${JSON.stringify(raw)}`, () => assert.deepEqual(parseTokenExpiration(raw), expected));
});

describe('mount path cleaning', () => {
  // The definition: what the container sees. The engine skips normalize for paths it cannot change.
  const normalized = (path: string): string => trimTrailing(posix.normalize(path), '/') || '/';

  it('gives what posix.normalize gives, for paths the fast path takes and paths it leaves to normalize', () => {
    const paths = ['/var/run/secrets/eks.amazonaws.com/serviceaccount', '/a', '/a/', '/a//b', '/a/./b', '/a/../b', '/a/b/.', '/a/b/..', '/.config', '/a/.cache/x', '/', '//', '///a', 'a/b', './a', '.', '..', ''];
    for (const path of paths) assert.equal(cleanMountPath(path), normalized(path), JSON.stringify(path));
  });

  it('agrees with posix.normalize on any path of slashes, dots and letters', () => {
    fc.assert(fc.property(fc.stringMatching(/^[/.ab]{0,16}$/), (path) => cleanMountPath(path) === normalized(path)), { numRuns: 2000 });
  });

  it('finds another volume mounted at the token mount path however its path is written', () => {
    const pod = (mountPath: string) => ({
      metadata: { name: 'p', namespace: 'default' },
      spec: { serviceAccountName: 'app', volumes: [{ name: 'scratch', emptyDir: {} }], containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 'scratch', mountPath }] }] },
    });
    const serviceAccount = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } };
    for (const mountPath of ['/var/run/secrets/eks.amazonaws.com/serviceaccount', '/var/run/secrets/eks.amazonaws.com/serviceaccount/', '/var/run//secrets/eks.amazonaws.com/./serviceaccount', '/var/run/x/../secrets/eks.amazonaws.com/serviceaccount']) {
      const view = readPod(pod(mountPath));
      assert.ok(view.ok);
      const result = mutatePod(view.value, serviceAccount, DEFAULT_MUTATION_OPTIONS);
      assert.deepEqual(result.patch, [], mountPath);
      assert.match(result.warnings[0] ?? '', /the token mount path: it gets no AWS identity/, mountPath);
    }
    const elsewhere = readPod(pod('/var/run/secrets/eks.amazonaws.com/serviceaccount.d'));
    assert.ok(elsewhere.ok);
    assert.ok(mutatePod(elsewhere.value, serviceAccount, DEFAULT_MUTATION_OPTIONS).patch.length > 0, 'a path that only starts like it does not occupy it');
  });
});

describe('JSON pointer escaping', () => {
  it('escapes ~ before / (RFC 6901)', () => {
    assert.equal(jsonPointer('metadata', 'annotations', 'a~1/b'), '/metadata/annotations/a~01~1b');
    assert.equal(jsonPointer('spec', 'containers', 0, 'env'), '/spec/containers/0/env');
  });
  it('round-trips through jsonpatch for keys holding ~ and /', () => {
    const key = 'weird~/key~0~1';
    const patched = applyPatch({ m: {} }, [{ op: 'add', path: jsonPointer('m', key), value: 1 }]);
    assert.deepEqual(patched, { m: { [key]: 1 } });
  });
});

describe('token file path', () => {
  it('joins POSIX paths without doubling slashes', () => {
    assert.equal(tokenFilePath('/a/b/', false), '/a/b/token');
  });
  it('converts to a C: path on Windows, keeping an explicit drive', () => {
    assert.equal(tokenFilePath('/var/run/x', true), 'C:\\var\\run\\x\\token');
    assert.equal(tokenFilePath('D:/x', true), 'D:\\x\\token');
  });
});

describe('precedence and security of identity settings', () => {
  const role = 'arn:aws:iam::111122223333:role/app';

  it('never takes role-arn, audience or regional STS from pod annotations', () => {
    const resolution = resolveIdentity(
      sa({ 'eks.amazonaws.com/role-arn': role }),
      {
        'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/admin',
        'eks.amazonaws.com/audience': 'evil',
        'eks.amazonaws.com/sts-regional-endpoints': 'true',
      },
      DEFAULT_MUTATION_OPTIONS,
    );
    assert.deepEqual(resolution.identity, {
      roleArn: role,
      audience: 'sts.amazonaws.com',
      expirationSeconds: 86400,
      stsRegionalEndpoints: false,
    });
  });

  it('gives a pod whose ServiceAccount has no role nothing, even if the pod names one', () => {
    const pod = readPod({
      metadata: { annotations: { 'eks.amazonaws.com/role-arn': role } },
      spec: { containers: [{ name: 'a' }] },
    });
    assert.ok(pod.ok);
    assert.deepEqual(mutatePod(pod.value, sa({}), DEFAULT_MUTATION_OPTIONS), { patch: [], warnings: [] });
  });

  it('trims whitespace around a role ARN and treats an empty one as no role', () => {
    assert.equal(resolveIdentity(sa({ 'eks.amazonaws.com/role-arn': ` ${role}\n` }), {}, DEFAULT_MUTATION_OPTIONS).identity?.roleArn, role);
    assert.deepEqual(resolveIdentity(sa({ 'eks.amazonaws.com/role-arn': '  ' }), {}, DEFAULT_MUTATION_OPTIONS), {
      identity: undefined,
      warnings: [],
    });
  });

  it('warns on an empty audience annotation and keeps the flag value', () => {
    const resolution = resolveIdentity(
      sa({ 'eks.amazonaws.com/role-arn': role, 'eks.amazonaws.com/audience': ' ' }),
      {},
      { ...DEFAULT_MUTATION_OPTIONS, tokenAudience: 'lab' },
    );
    assert.equal(resolution.identity?.audience, 'lab');
    assert.equal(resolution.warnings.length, 1);
  });

  it('bounds and escapes untrusted values quoted in warnings', () => {
    const resolution = resolveIdentity(sa({ 'eks.amazonaws.com/role-arn': `x\n${'y'.repeat(500)}` }), {}, DEFAULT_MUTATION_OPTIONS);
    const [warning] = resolution.warnings;
    assert.ok(warning && warning.length < 300 && !warning.includes('\n'), warning);
  });
});

describe('reading untrusted objects', () => {
  const bad: Array<[unknown, string]> = [
    [null, 'the pod must be a JSON object'],
    [[], 'the pod must be a JSON object'],
    [{}, 'the pod has no spec'],
    [{ spec: 'x' }, 'spec must be an object'],
    [{ spec: {} }, 'spec.containers is missing'],
    [{ spec: { containers: {} } }, 'spec.containers must be an array'],
    [{ spec: { containers: [1] } }, 'spec.containers[0] must be an object'],
    [{ spec: { containers: [{}] } }, 'spec.containers[0].name must be a non-empty string'],
    [{ spec: { containers: [{ name: 'a', env: 'x' }] } }, 'spec.containers[0].env must be an array'],
    [{ spec: { containers: [{ name: 'a', env: [null] }] } }, 'spec.containers[0].env[0] must be an object'],
    [{ spec: { containers: [{ name: 'a', volumeMounts: 3 }] } }, 'spec.containers[0].volumeMounts must be an array'],
    [{ spec: { containers: [], initContainers: [{ name: 5 }] } }, 'spec.initContainers[0].name must be a non-empty string'],
    [{ spec: { containers: [], volumes: [2] } }, 'spec.volumes[0] must be an object'],
    [{ metadata: { annotations: [] }, spec: { containers: [] } }, 'metadata.annotations must be an object'],
    [{ spec: { containers: [], nodeSelector: 'windows' } }, 'spec.nodeSelector must be an object'],
  ];
  for (const [value, error] of bad) {
    it(`reports "${error}"`, () => assert.deepEqual(readPod(value), { ok: false, error }));
  }

  it('reports the first of several shape problems in a fixed order: containers list, volumes list, annotations, nodeSelector, volume items, containers', () => {
    const error = (pod: Record<string, unknown>): string | undefined => {
      const read = readPod(pod);
      return read.ok ? undefined : read.error;
    };
    assert.equal(error({ spec: { volumes: 'x', containers: [{}] } }), 'spec.volumes must be an array');
    assert.equal(error({ metadata: { annotations: 'x' }, spec: { containers: [{ name: 'a', env: 'x' }] } }), 'metadata.annotations must be an object');
    assert.equal(error({ spec: { nodeSelector: 3, containers: [{}] } }), 'spec.nodeSelector must be an object');
    assert.equal(error({ spec: { volumes: [1], containers: [{}] } }), 'spec.volumes[0] must be an object');
    assert.equal(error({ spec: { containers: [{ name: 'a', env: 'x' }], initContainers: [{}] } }), 'spec.containers[0].env must be an array');
    assert.equal(error({ spec: { containers: [{ name: 'a' }], initContainers: [{ name: 'b', volumeMounts: [2] }] } }), 'spec.initContainers[0].volumeMounts[0] must be an object');
  });

  it('drops non-string annotation values and keeps nameless env entries as unnamed', () => {
    const pod = readPod({
      metadata: { annotations: { a: 1, b: 'x' } },
      spec: { containers: [{ name: 'c', env: [{ value: 'v' }, { name: 7, value: null }] }] },
    });
    assert.ok(pod.ok);
    assert.deepEqual(pod.value.annotations, { b: 'x' });
    const env = pod.value.containers[0]?.env?.map(({ name, value }) => ({ name, value }));
    assert.deepEqual(env, [
      { name: undefined, value: 'v' },
      { name: undefined, value: undefined },
    ]);
  });

  it('falls back from serviceAccountName to the deprecated serviceAccount, then default', () => {
    const read = (spec: Record<string, unknown>) => {
      const pod = readPod({ spec: { containers: [], ...spec } });
      assert.ok(pod.ok);
      return pod.value.serviceAccountName;
    };
    assert.equal(read({ serviceAccountName: 'a', serviceAccount: 'b' }), 'a');
    assert.equal(read({ serviceAccount: 'b' }), 'b');
    assert.equal(read({}), 'default');
  });

  it('reads ServiceAccounts, defaulting the namespace', () => {
    assert.deepEqual(readServiceAccount({ metadata: { name: 'x', annotations: { a: 'b', n: 2 } } }), {
      ok: true,
      value: { name: 'x', namespace: 'default', annotations: { a: 'b' } },
    });
    assert.equal(readServiceAccount({ metadata: {} }).ok, false);
  });

  it('adds metadata when a hand-written pod has none', () => {
    const object = { spec: { containers: [{ name: 'a' }] } };
    const pod = readPod(object);
    assert.ok(pod.ok);
    const { patch } = mutatePod(pod.value, sa({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' }), DEFAULT_MUTATION_OPTIONS);
    const patched = applyPatch(object, patch) as { metadata?: { annotations?: Record<string, string> } };
    assert.equal(patched.metadata?.annotations?.['eks.amazonaws.com/injected-role-arn'], 'arn:aws:iam::111122223333:role/app');
  });
});

describe('warnings, bounded as the API server shows them', () => {
  it('one warning for every skip-containers name that matches nothing, however many', () => {
    const names = Array.from({ length: 20_000 }, (_, index) => `c${index}`).join(',');
    const pod = readPod({ metadata: { annotations: { 'eks.amazonaws.com/skip-containers': names } }, spec: { containers: [{ name: 'app' }] } });
    assert.ok(pod.ok);
    const { warnings } = mutatePod(pod.value, sa({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' }), DEFAULT_MUTATION_OPTIONS);
    assert.deepEqual(warnings, ['pod annotation eks.amazonaws.com/skip-containers names 20000 containers not in this pod: "c0", "c1", "c2", "c3", "c4", and 19995 more']);
  });

  it('each warning fits in 256 characters with its prefix, all of them in 4,096, and the rest are counted', () => {
    const many = Array.from({ length: 100 }, (_, index) => `${index}: ${'x'.repeat(index % 2 === 0 ? 1000 : 10)}`);
    const bounded = boundWarnings(many);
    for (const warning of bounded) assert.ok(WARNING_PREFIX.length + warning.length <= MAX_WARNING_LENGTH, warning);
    assert.ok(bounded.reduce((total, warning) => total + WARNING_PREFIX.length + warning.length, 0) <= MAX_WARNINGS_LENGTH);
    assert.match(bounded.at(-1)!, /^\d+ more warning\(s\) not shown$/);
    const shown = bounded.length - 1;
    assert.equal(bounded.at(-1), `${100 - shown} more warning(s) not shown`);
    assert.ok(bounded[0]!.endsWith('...'));
    assert.deepEqual(boundWarnings(['a', 'b']), ['a', 'b'], 'short lists are untouched');
  });
});

function sa(annotations: Record<string, string>) {
  return { name: 'app', namespace: 'default', annotations };
}
