import assert from 'node:assert/strict';
import { checkAnswer, identityDifference } from '../../bench/answers.js';
import { realisticPod } from '../../bench/workloads.js';
import { allowResponse, serializeReview } from '../../src/webhook/admission/review.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { readPod } from '../../src/webhook/read-objects.js';

const UID = 'uid-1';
const ROLE = 'arn:aws:iam::111122223333:role/service';
const MOUNT = '/var/run/secrets/eks.amazonaws.com/serviceaccount';

function oursAnswer(pod: Record<string, unknown>): string {
  const view = readPod(pod);
  if (!view.ok) throw new Error(view.error);
  const { patch } = mutatePod(view.value, { name: 'service', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': ROLE } }, DEFAULT_MUTATION_OPTIONS);
  return serializeReview(allowResponse('admission.k8s.io/v1', UID, patch, []));
}

/** An answer shaped as the Go webhook's: the volume inserted first, every container replaced, no TypeMeta. */
function replacingAnswer(pod: Record<string, unknown>, options: { typeMeta?: boolean; role?: string } = {}): string {
  const spec = pod.spec as { containers: Array<Record<string, unknown>> };
  const containers = spec.containers.map((container) => ({
    ...container,
    env: [...((container.env as unknown[]) ?? []), { name: 'AWS_ROLE_ARN', value: options.role ?? ROLE }, { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${MOUNT}/token` }],
    volumeMounts: [...((container.volumeMounts as unknown[]) ?? []), { name: 'aws-iam-token', readOnly: true, mountPath: MOUNT }],
  }));
  const volume = { name: 'aws-iam-token', projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } }] } };
  const patch = [
    { op: 'add', path: '/spec/volumes/0', value: volume },
    { op: 'add', path: '/spec/containers', value: containers },
  ];
  const response = { uid: UID, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
  return JSON.stringify(options.typeMeta === false ? { response } : { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response });
}

describe('bench: what an admission answer means', () => {
  it('a patch replacing whole containers means what ours means when it yields the same env, mounts and volume', () => {
    const pod = realisticPod(3);
    const ours = checkAnswer('admission.k8s.io/v1', UID, pod, oursAnswer(pod));
    const theirs = checkAnswer('admission.k8s.io/v1beta1', UID, pod, replacingAnswer(pod, { typeMeta: false }));
    assert.ok(ours.ok && theirs.ok);
    assert.equal(identityDifference(theirs.identity, ours.identity), undefined);
  });

  it('another role in the env is a difference', () => {
    const pod = realisticPod(1);
    const ours = checkAnswer('admission.k8s.io/v1', UID, pod, oursAnswer(pod));
    const theirs = checkAnswer('admission.k8s.io/v1beta1', UID, pod, replacingAnswer(pod, { role: 'arn:aws:iam::111122223333:role/other' }));
    assert.ok(ours.ok && theirs.ok);
    assert.match(identityDifference(theirs.identity, ours.identity) ?? '', /container-0: env/);
  });

  it('a v1 review answered without apiVersion and kind is refused, as kube-apiserver refuses it; v1beta1 may leave them out', () => {
    const pod = realisticPod(1);
    const v1 = checkAnswer('admission.k8s.io/v1', UID, pod, replacingAnswer(pod, { typeMeta: false }));
    assert.ok(!v1.ok);
    assert.match(v1.problem, /kube-apiserver refuses/);
    assert.ok(checkAnswer('admission.k8s.io/v1beta1', UID, pod, replacingAnswer(pod, { typeMeta: false })).ok);
  });

  it('an answer without a patch, or denying, does not count', () => {
    const pod = realisticPod(1);
    const unchanged = checkAnswer('admission.k8s.io/v1', UID, pod, serializeReview(allowResponse('admission.k8s.io/v1', UID, [], [])));
    assert.ok(!unchanged.ok && /no JSONPatch/.test(unchanged.problem));
    const denied = checkAnswer('admission.k8s.io/v1', UID, pod, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: UID, allowed: false } }));
    assert.ok(!denied.ok && /not allowed/.test(denied.problem));
  });
});
