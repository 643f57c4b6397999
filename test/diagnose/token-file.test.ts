import assert from 'node:assert/strict';
import { misplacedTokenFiles } from '../../src/diagnose/token-file.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { planInjection } from '../../src/webhook/engine/mutate.js';
import { readPod } from '../../src/webhook/read-objects.js';

/** Where a running pod's token variable points, judged against the engine's plan. */
const SERVICE_ACCOUNT = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } };
const TOKEN = { name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } }] } };

function misplaced(file: string, mounts: unknown[], volumes: unknown[], nodeSelector: Record<string, string> = {}): string[] {
  const pod = readPod({
    metadata: { name: 'p' },
    spec: { nodeSelector, volumes, containers: [{ name: 'app', env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: file }], volumeMounts: mounts }] },
  });
  assert.ok(pod.ok);
  const { plan } = planInjection(pod.value, SERVICE_ACCOUNT, DEFAULT_MUTATION_OPTIONS);
  assert.ok(plan);
  return misplacedTokenFiles(pod.value, plan).map((entry) => entry.detail);
}

describe('misplaced token files: where a running pod\'s token variable points', () => {
  it('the token in its volume, mounted at any path, with the path written any way, is fine', () => {
    assert.deepEqual(misplaced('/aws/token', [{ name: 'aws-iam-token', mountPath: '/aws/' }], [TOKEN]), []);
    assert.deepEqual(misplaced('/aws//./token', [{ name: 'aws-iam-token', mountPath: '/aws' }], [TOKEN]), []);
    assert.deepEqual(misplaced('/etc/web-identity', [{ name: 'aws-iam-token', mountPath: '/etc/web-identity', subPath: 'token' }], [TOKEN]), []);
  });

  it('a Windows pod\'s C: path is read as its mount path', () => {
    const mount = [{ name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount' }];
    assert.deepEqual(misplaced('C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token', mount, [TOKEN], { 'kubernetes.io/os': 'windows' }), []);
  });

  it('the deepest mount holding the path decides', () => {
    const mounts = [{ name: 'aws-iam-token', mountPath: '/aws' }, { name: 'cache', mountPath: '/aws/cache' }];
    assert.match(misplaced('/aws/cache/token', mounts, [TOKEN, { name: 'cache', emptyDir: {} }]).join('\n'), /volume "cache" \(emptyDir\) is not a projected serviceAccountToken/);
  });

  it('says what is wrong: another file of the token volume, a mount of no volume, nothing mounted, a subPath that is not the token', () => {
    assert.match(misplaced('/aws/other', [{ name: 'aws-iam-token', mountPath: '/aws' }], [TOKEN]).join(), /volume "aws-iam-token" holds the token at "token", not at "other"/);
    assert.match(misplaced('/aws/token', [{ name: 'gone', mountPath: '/aws' }], [TOKEN]).join(), /in a mount of "gone", which is not a volume of the pod/);
    assert.match(misplaced('/aws/token', [], [TOKEN]).join(), /no volume is mounted there/);
    assert.match(misplaced('/aws', [{ name: 'aws-iam-token', mountPath: '/aws', subPath: 'other' }], [TOKEN]).join(), /holds the token at "token", not at "other"/);
    assert.match(misplaced('/aws', [{ name: 'aws-iam-token', mountPath: '/aws' }], [TOKEN]).join(), /names the mount of "aws-iam-token" itself, a directory, not the token file in it/);
  });

  it('a token for another audience is not the token', () => {
    const vault = { name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: 'vault', path: 'token' } }] } };
    assert.match(misplaced('/aws/token', [{ name: 'aws-iam-token', mountPath: '/aws' }], [vault]).join(), /\(projected token for audience "vault" at "token"\) is not a projected serviceAccountToken for "sts\.amazonaws\.com"/);
  });

  it('a relative path or a value from valueFrom is not judged', () => {
    assert.deepEqual(misplaced('token', [], [TOKEN]), []);
    const pod = readPod({ metadata: { name: 'p' }, spec: { containers: [{ name: 'app', env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }] } });
    assert.ok(pod.ok);
    const { plan } = planInjection(pod.value, SERVICE_ACCOUNT, DEFAULT_MUTATION_OPTIONS);
    assert.deepEqual(misplacedTokenFiles(pod.value, plan!), []);
  });
});
