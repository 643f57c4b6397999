import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { MAX_BODY_BYTES } from '../../src/webhook/server/app.js';
import { fixtureAdmissionApp } from '../helpers/fixture-app.js';
import { admissionReview, decodePatch, pod } from '../helpers/reviews.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';
const TOKEN_FILE = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';
const MOUNT = { name: 'aws-iam-token', mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount', readOnly: true };
const VOLUME = {
  name: 'aws-iam-token',
  projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } }] },
};

function reviewError(code: number, message: string, uid = '', apiVersion = 'admission.k8s.io/v1') {
  return { apiVersion, kind: 'AdmissionReview', response: { uid, allowed: false, status: { code, message, status: 'Failure' } } };
}

function allowedWithWarning(uid: string, warning: string) {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, warnings: [`pod-identity-webhook: ${warning}`] } };
}

describe('hostile AdmissionReviews: exact answers, no crash, no hang', function () {
  this.timeout(20_000);
  let app: RequestListener;

  before(async () => {
    app = await fixtureAdmissionApp();
  });

  const raw = (body: string | Buffer, contentType = 'application/json') => request(app).post('/mutate').set('content-type', contentType).send(body);
  const review = (body: unknown) => raw(JSON.stringify(body));

  const envelopeCases: Array<[string, () => request.Test, number, unknown]> = [
    ['an empty body', () => raw(''), 400, reviewError(400, 'the request body is empty (expected an AdmissionReview)')],
    ['a body that is not JSON', () => raw('{"apiVersion": admission'), 400, reviewError(400, 'the request body is not valid JSON')],
    ['a JSON array', () => raw('[1,2,3]'), 400, reviewError(400, 'the body must be a JSON object (an AdmissionReview)')],
    ['a JSON string', () => raw('"AdmissionReview"'), 400, reviewError(400, 'the body must be a JSON object (an AdmissionReview)')],
    ['JSON null', () => raw('null'), 400, reviewError(400, 'the body must be a JSON object (an AdmissionReview)')],
    ['10,000 nested arrays', () => raw(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), 400, reviewError(400, 'the body must be a JSON object (an AdmissionReview)')],
    ['a million nested arrays (2 MB)', () => raw(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`), 400, reviewError(400, 'the body must be a JSON object (an AdmissionReview)')],
    ['a body over 3 MiB', () => raw(`{"pad":"${'x'.repeat(MAX_BODY_BYTES)}"}`), 413, reviewError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`)],
    ['a text/plain content type', () => raw('{}', 'text/plain'), 415, reviewError(415, 'Content-Type must be application/json, got "text/plain"')],
    ['a non-UTF-8 charset', () => raw('{}', 'application/json; charset=latin1'), 415, reviewError(415, 'the request body must be UTF-8 JSON')],
    ['kind Pod instead of AdmissionReview', () => review({ ...admissionReview(pod('app')), kind: 'Pod' }), 400, reviewError(400, 'kind must be AdmissionReview, got "Pod"')],
    [
      'an unknown apiVersion',
      () => review({ ...admissionReview(pod('app')), apiVersion: 'admission.k8s.io/v2' }),
      400,
      reviewError(400, 'apiVersion must be one of admission.k8s.io/v1, admission.k8s.io/v1beta1, got "admission.k8s.io/v2"'),
    ],
    ['no request', () => review({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, reviewError(400, 'the AdmissionReview has no request object')],
    ['request as an array', () => review({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: [] }), 400, reviewError(400, 'the AdmissionReview has no request object')],
    [
      'no uid',
      () => {
        const body = admissionReview(pod('app'));
        delete (body.request as Record<string, unknown>).uid;
        return review(body);
      },
      400,
      reviewError(400, 'request.uid is missing or empty'),
    ],
    ['a numeric uid', () => review(admissionReview(pod('app'), { uid: 7 as unknown as string })), 400, reviewError(400, 'request.uid is missing or empty')],
    ['a 10 kB uid', () => review(admissionReview(pod('app'), { uid: 'u'.repeat(10_000) })), 400, reviewError(400, 'request.uid is longer than 256 characters')],
    [
      'a v1beta1 review without kind',
      () => {
        const body = admissionReview(pod('app'), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'b1' });
        delete (body.request as Record<string, unknown>).kind;
        return review(body);
      },
      400,
      reviewError(400, 'request.kind is missing', 'b1', 'admission.k8s.io/v1beta1'),
    ],
  ];
  for (const [title, send, status, body] of envelopeCases) {
    it(`${title} → ${status}`, async () => {
      const response = await send().expect(status);
      assert.deepEqual(response.body, body);
    });
  }

  const podCases: Array<[string, unknown, string]> = [
    ['object null', null, 'could not read the pod (the pod must be a JSON object); no AWS identity was injected'],
    ['a pod without spec', { metadata: { name: 'p' } }, 'could not read the pod (the pod has no spec); no AWS identity was injected'],
    ['containers not an array', { spec: { serviceAccountName: 'app', containers: { app: {} } } }, 'could not read the pod (spec.containers must be an array); no AWS identity was injected'],
    ['a container without a name', { spec: { serviceAccountName: 'app', containers: [{ image: 'x' }] } }, 'could not read the pod (spec.containers[0].name must be a non-empty string); no AWS identity was injected'],
    ['env not an array', { spec: { serviceAccountName: 'app', containers: [{ name: 'a', env: 'AWS_ROLE_ARN=x' }] } }, 'could not read the pod (spec.containers[0].env must be an array); no AWS identity was injected'],
  ];
  for (const [title, object, warning] of podCases) {
    it(`${title} → allowed unmutated, with a warning`, async () => {
      const response = await review(admissionReview(object, { uid: 'pod-case' })).expect(200);
      assert.deepEqual(response.body, allowedWithWarning('pod-case', warning));
    });
  }

  it('a pod 10,000 levels deep in an unknown field is mutated normally', async () => {
    // Built as text: JSON.stringify itself recurses and cannot produce it.
    const text = JSON.stringify(admissionReview({ ...pod('app'), deep: 'DEEP' })).replace('"DEEP"', `${'{"a":'.repeat(10_000)}"bottom"${'}'.repeat(10_000)}`);
    const response = await raw(text).expect(200);
    assert.equal(decodePatch(response.body).length, 4);
  });

  it('env entries without names are kept and the identity is appended after them', async () => {
    const object = pod('app', { containers: [{ name: 'app', env: [{ value: 'orphan' }, {}] }] });
    const response = await review(admissionReview(object)).expect(200);
    assert.deepEqual(decodePatch(response.body), [
      { op: 'add', path: '/spec/volumes', value: [VOLUME] },
      { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'AWS_ROLE_ARN', value: ROLE } },
      { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE } },
      { op: 'add', path: '/spec/containers/0/volumeMounts', value: [MOUNT] },
      { op: 'add', path: '/metadata/annotations', value: { 'eks.amazonaws.com/injected-role-arn': ROLE } },
    ]);
  });

  it('duplicate container names: both are mutated, by index; skip-containers skips both', async () => {
    const twins = [{ name: 'twin' }, { name: 'twin' }, { name: 'other' }];
    const all = decodePatch((await review(admissionReview(pod('app', { containers: twins }))).expect(200)).body);
    assert.deepEqual(all.map((op) => op.path), [
      '/spec/volumes', '/spec/containers/0/env', '/spec/containers/0/volumeMounts', '/spec/containers/1/env', '/spec/containers/1/volumeMounts',
      '/spec/containers/2/env', '/spec/containers/2/volumeMounts', '/metadata/annotations',
    ]);
    const skipped = decodePatch((await review(admissionReview(pod('app', { containers: twins, annotations: { 'eks.amazonaws.com/skip-containers': 'twin' } }))).expect(200)).body);
    assert.deepEqual(skipped.map((op) => op.path), ['/spec/volumes', '/spec/containers/2/env', '/spec/containers/2/volumeMounts', '/metadata/annotations/eks.amazonaws.com~1injected-role-arn']);
  });

  it('non-string annotation values are ignored (the flag value applies)', async () => {
    const object = { ...pod('app'), metadata: { name: 'p', annotations: { 'eks.amazonaws.com/token-expiration': 1200, 'eks.amazonaws.com/skip-containers': ['app'] } } };
    const patch = decodePatch((await review(admissionReview(object)).expect(200)).body);
    assert.deepEqual(patch[0], { op: 'add', path: '/spec/volumes', value: [VOLUME] });
    assert.equal(patch.length, 4, 'the container was not skipped');
  });

  it('unicode and ~ / in names: escaped paths, a ServiceAccount name that cannot exist is simply not found', async () => {
    const object = {
      metadata: { name: 'pöd~/1', annotations: { 'ключ~/x': 'значение', 'eks.amazonaws.com/skip-containers': '~/ü' } },
      spec: { serviceAccountName: 'app', containers: [{ name: '~/ü' }, { name: 'çä' }] },
    };
    const patch = decodePatch((await review(admissionReview(object)).expect(200)).body);
    assert.deepEqual(patch.map((op) => op.path), ['/spec/volumes', '/spec/containers/1/env', '/spec/containers/1/volumeMounts', '/metadata/annotations/eks.amazonaws.com~1injected-role-arn']);
    const unknown = await review(admissionReview(pod('sä~/x'), { uid: 'u' })).expect(200);
    assert.deepEqual(unknown.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } });
  });

  it('still answers normally after all of the above', async () => {
    const response = await review(admissionReview(pod('app'))).expect(200);
    assert.equal(decodePatch(response.body).length, 4);
  });
});
