import assert from 'node:assert/strict';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import type { MutationOptions, ServiceAccountView } from '../../src/webhook/engine/types.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { uniquenessViolations } from '../helpers/pod-validation.js';

/**
 * The token volume is recognised by what it is (a projected serviceAccountToken source with the
 * audience and path the webhook injects), never by its name alone.
 */
const IRSA: ServiceAccountView = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } };
const POD_IDENTITY: ServiceAccountView = { ...IRSA, podIdentity: true };
const IRSA_MOUNT = DEFAULT_MUTATION_OPTIONS.tokenMountPath;
const PI_MOUNT = DEFAULT_MUTATION_OPTIONS.containerCredentials.tokenMountPath;

interface Volume {
  readonly name: string;
  readonly [source: string]: unknown;
}
interface Mount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}
interface Pod {
  readonly metadata: Record<string, unknown>;
  readonly spec: {
    readonly volumes?: Volume[];
    readonly containers: Array<{ name: string; env?: Array<{ name: string; value?: string }>; volumeMounts?: Mount[] }>;
  };
}

const token = (audience: string, path: string, expirationSeconds = 86400): Record<string, unknown> => ({
  projected: { sources: [{ serviceAccountToken: { audience, expirationSeconds, path } }] },
});

function pod(volumes: Volume[] | undefined, mounts?: Mount[]): Pod {
  return {
    metadata: { name: 'p', namespace: 'default' },
    spec: { ...(volumes ? { volumes } : {}), containers: [{ name: 'app', ...(mounts ? { volumeMounts: mounts } : {}) }] },
  };
}

function mutate(object: Pod, serviceAccount: ServiceAccountView, options: MutationOptions = DEFAULT_MUTATION_OPTIONS): { pod: Pod; warnings: string[] } {
  const view = readPod(object);
  assert.ok(view.ok, view.ok ? '' : view.error);
  const result = mutatePod(view.value, serviceAccount, options);
  const patched = applyPatch(structuredClone(object), result.patch);
  assert.deepEqual(uniquenessViolations(patched), [], 'the API server would refuse the mutated pod');
  const again = readPod(patched);
  assert.ok(again.ok);
  assert.deepEqual(mutatePod(again.value, serviceAccount, options, 0.5).patch, [], 'a second pass changes the pod again');
  return { pod: patched, warnings: result.warnings };
}

const envOf = (object: Pod, name: string): string | undefined => object.spec.containers[0]!.env?.find((variable) => variable.name === name)?.value;
const volumeNamed = (object: Pod, name: string): Volume | undefined => object.spec.volumes?.find((volume) => volume.name === name);

describe('the token volume is recognised by what it is, not by its name', () => {
  it('IRSA: an emptyDir named aws-iam-token is left alone; the token comes in aws-iam-token-1, with a warning naming the clash', () => {
    const { pod: out, warnings } = mutate(pod([{ name: 'aws-iam-token', emptyDir: {} }]), IRSA);
    assert.deepEqual(volumeNamed(out, 'aws-iam-token'), { name: 'aws-iam-token', emptyDir: {} });
    assert.deepEqual(volumeNamed(out, 'aws-iam-token-1'), { name: 'aws-iam-token-1', ...token('sts.amazonaws.com', 'token') });
    assert.deepEqual(out.spec.containers[0]!.volumeMounts, [{ name: 'aws-iam-token-1', mountPath: IRSA_MOUNT, readOnly: true }]);
    assert.equal(envOf(out, 'AWS_WEB_IDENTITY_TOKEN_FILE'), `${IRSA_MOUNT}/token`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /volume "aws-iam-token" \(emptyDir\) is not a projected serviceAccountToken .*"aws-iam-token-1"/);
  });

  it('Pod Identity: a hostPath named eks-pod-identity-token is left alone; the token comes in eks-pod-identity-token-1', () => {
    const { pod: out, warnings } = mutate(pod([{ name: 'eks-pod-identity-token', hostPath: { path: '/token' } }]), POD_IDENTITY);
    assert.deepEqual(volumeNamed(out, 'eks-pod-identity-token-1'), { name: 'eks-pod-identity-token-1', ...token('pods.eks.amazonaws.com', 'eks-pod-identity-token', 79200) });
    assert.deepEqual(out.spec.containers[0]!.volumeMounts, [{ name: 'eks-pod-identity-token-1', mountPath: PI_MOUNT, readOnly: true }]);
    assert.equal(envOf(out, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'), `${PI_MOUNT}/eks-pod-identity-token`);
    assert.match(warnings.join('\n'), /volume "eks-pod-identity-token" \(hostPath\) is not a projected serviceAccountToken/);
  });

  it('a projected token for another audience, or at another path, under our name is not ours', () => {
    for (const [audience, path] of [['vault', 'token'], ['sts.amazonaws.com', 'other']] as const) {
      const { pod: out, warnings } = mutate(pod([{ name: 'aws-iam-token', ...token(audience, path, 3600) }]), IRSA);
      assert.deepEqual(volumeNamed(out, 'aws-iam-token'), { name: 'aws-iam-token', ...token(audience, path, 3600) }, 'the user volume changed');
      assert.ok(volumeNamed(out, 'aws-iam-token-1'), `${audience} ${path}: no token volume added`);
      assert.match(warnings.join('\n'), new RegExp(`for audience "${audience}" at "${path}"`));
    }
  });

  it('a configured audience decides which projected token is ours', () => {
    const audience = { ...IRSA, annotations: { ...IRSA.annotations, 'eks.amazonaws.com/audience': 'custom' } };
    const { pod: out, warnings } = mutate(pod([{ name: 'aws-iam-token', ...token('custom', 'token') }]), audience);
    assert.equal(out.spec.volumes?.length, 1);
    assert.deepEqual(warnings, []);
  });

  it('reinvocation: our volume renamed by another webhook is still the token, and no second one is added', () => {
    const first = mutate(pod(undefined), IRSA).pod;
    const renamed = structuredClone(first);
    renamed.spec.volumes![0] = { ...renamed.spec.volumes![0]!, name: 'renamed-token' };
    renamed.spec.containers[0]!.volumeMounts![0] = { ...renamed.spec.containers[0]!.volumeMounts![0]!, name: 'renamed-token' };
    // The other webhook also added a container, which needs the identity.
    renamed.spec.containers.push({ name: 'sidecar' });
    const { pod: out, warnings } = mutate(renamed, IRSA);
    assert.deepEqual(out.spec.volumes?.map((volume) => volume.name), ['renamed-token']);
    assert.deepEqual(out.spec.containers[1]!.volumeMounts, [{ name: 'renamed-token', mountPath: IRSA_MOUNT, readOnly: true }]);
    assert.deepEqual(warnings, []);
  });

  it('reinvocation: our volume with sources or defaultMode added by another webhook is still the token', () => {
    const first = mutate(pod(undefined), POD_IDENTITY).pod;
    const edited = structuredClone(first);
    const projected = (edited.spec.volumes![0] as unknown as { projected: { sources: unknown[]; defaultMode?: number } }).projected;
    projected.sources.unshift({ configMap: { name: 'ca' } });
    projected.defaultMode = 0o440;
    edited.spec.containers.push({ name: 'sidecar' });
    const { pod: out } = mutate(edited, POD_IDENTITY);
    assert.equal(out.spec.volumes?.length, 1);
  });

  it('a free name skips every name taken by a volume', () => {
    const { pod: out, warnings } = mutate(pod([{ name: 'aws-iam-token', emptyDir: {} }, { name: 'aws-iam-token-1', configMap: { name: 'x' } }]), IRSA);
    assert.deepEqual(out.spec.volumes?.map((volume) => volume.name), ['aws-iam-token', 'aws-iam-token-1', 'aws-iam-token-2']);
    assert.match(warnings.join('\n'), /"aws-iam-token-2"/);
  });

  it('a free name stays a 63-character DNS label when the configured name is long', () => {
    const name = `t${'o'.repeat(61)}k`;
    const options = { ...DEFAULT_MUTATION_OPTIONS, containerCredentials: { ...DEFAULT_MUTATION_OPTIONS.containerCredentials, tokenVolumeName: name } };
    const { pod: out } = mutate(pod([{ name, emptyDir: {} }]), POD_IDENTITY, options);
    const added = out.spec.volumes![1]!.name;
    assert.equal(added.length, 63);
    assert.match(added, /-1$/);
  });

  it('a projected token of the right audience and path under another name, mounted at the token mount path, is the token', () => {
    const { pod: out, warnings } = mutate(pod([{ name: 'own-token', ...token('sts.amazonaws.com', 'token', 3600) }], [{ name: 'own-token', mountPath: IRSA_MOUNT }]), IRSA);
    assert.deepEqual(out.spec.volumes?.map((volume) => volume.name), ['own-token']);
    assert.deepEqual(out.spec.containers[0]!.volumeMounts, [{ name: 'own-token', mountPath: IRSA_MOUNT }]);
    assert.equal(envOf(out, 'AWS_WEB_IDENTITY_TOKEN_FILE'), `${IRSA_MOUNT}/token`);
    assert.deepEqual(warnings, []);
  });

  it('a volume under our name that is not a token, mounted at the token mount path, leaves the container alone (the path is occupied)', () => {
    const { pod: out, warnings } = mutate(pod([{ name: 'aws-iam-token', emptyDir: {} }], [{ name: 'aws-iam-token', mountPath: IRSA_MOUNT }]), IRSA);
    assert.deepEqual(out.spec.volumes?.map((volume) => volume.name), ['aws-iam-token']);
    assert.equal(envOf(out, 'AWS_WEB_IDENTITY_TOKEN_FILE'), undefined);
    assert.match(warnings.join('\n'), /mounts volume "aws-iam-token" at .* the token mount path/);
  });

  it('a malformed projected volume is not a token, and reading it never fails', () => {
    for (const projected of [null, 'x', { sources: 'x' }, { sources: [null, 3, { serviceAccountToken: 'x' }, { serviceAccountToken: { audience: 5, path: ['token'] } }] }]) {
      const { pod: out } = mutate(pod([{ name: 'aws-iam-token', projected }]), IRSA);
      assert.ok(volumeNamed(out, 'aws-iam-token-1'), JSON.stringify(projected));
    }
  });
});
